"""torch.testing: ``assert_close`` (torch's semantics: per-dtype default tolerances,
NaN handling, nested sequences/mappings, the same AssertionError wording) and
``make_tensor``."""
import collections.abc
import math

import numpy as np

from . import _dtype as D
from ._legacy import strided as _strided

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# (rtol, atol) used when neither is given, by dtype of the inputs
_DEFAULT_TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
                "float64": (1e-7, 1e-7), "complex32": (1e-3, 1e-5), "complex64": (1.3e-6, 1e-5),
                "complex128": (1e-7, 1e-7)}


def _Tensor():
    from .tensor import Tensor
    return Tensor


class _Pair:
    """One leaf comparison: both tensors, or both Python scalars."""

    def __init__(self, actual, expected, kind):
        self.actual, self.expected, self.kind = actual, expected, kind


def _fail(msg, default, cls=AssertionError):
    if msg is None:
        raise cls(default)
    raise cls(msg(default) if callable(msg) else msg)


def _origin(path):
    return "" if not path else "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)


def _tolerances(dtype_name, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    if rtol is not None:
        return rtol, atol
    return _DEFAULT_TOL.get(dtype_name, (0.0, 0.0))


def _is_scalar(x):
    return isinstance(x, (bool, int, float, complex))


def _flatten(actual, expected, path, out):
    T = _Tensor()
    if isinstance(actual, T) or isinstance(expected, T):
        if not (isinstance(actual, T) and isinstance(expected, T)):
            raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                            f"{type(expected)}.")
        out.append((path, _Pair(actual, expected, "tensor")))
        return
    if _is_scalar(actual) and _is_scalar(expected):
        out.append((path, _Pair(actual, expected, "scalar")))
        return
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        from ._ops.creation import tensor
        out.append((path, _Pair(tensor(actual), tensor(expected), "tensor")))
        return
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and isinstance(expected, seq) and not isinstance(actual, str) \
            and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
                                 + _origin(path))
        for i, (a, e) in enumerate(zip(actual, expected)):
            _flatten(a, e, path + (i,), out)
        return
    mp = collections.abc.Mapping
    if isinstance(actual, mp) and isinstance(expected, mp):
        ka, ke = set(actual.keys()), set(expected.keys())
        if ka != ke:
            raise AssertionError(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                                 f"{sorted(map(repr, ke - ka))}\nExtra keys in the actual mapping: "
                                 f"{sorted(map(repr, ka - ke))}" + _origin(path))
        for k in actual:
            _flatten(actual[k], expected[k], path + (k,), out)
        return
    if actual is None and expected is None:
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _fmt(v):
    return repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)


def _compare_values(a, e, rtol, atol, equal_nan, exact, scalar, path, msg, shape, what="Tensor-likes"):
    """Compare numpy arrays; raise torch's mismatch report."""
    if a.dtype == np.bool_:
        a, e = a.astype(np.int64), e.astype(np.int64)
    wide = np.float64 if np.issubdtype(a.dtype, np.inexact) else np.int64
    with np.errstate(all="ignore"):
        if np.iscomplexobj(a):
            diff = np.abs(a - e)
            ok = diff <= atol + rtol * np.abs(e)
            nan_a, nan_e = np.isnan(a), np.isnan(e)
        else:
            aa, ee = a.astype(wide), e.astype(wide)
            diff = np.abs(aa - ee) if wide is np.float64 else np.abs(aa - ee)
            ok = diff <= atol + rtol * np.abs(ee)
            if np.issubdtype(wide, np.floating):
                ok |= (aa == ee)  # equal infinities
            nan_a, nan_e = (np.isnan(aa), np.isnan(ee)) if wide is np.float64 else (False, False)
        if equal_nan:
            ok = ok | (nan_a & nan_e)
    ok = np.asarray(ok)
    if ok.all():
        return
    kind = "equal" if exact else "close"
    with np.errstate(all="ignore"):
        # torch reports the differences computed in the compared dtype
        if np.issubdtype(a.dtype, np.inexact):
            absd = np.abs(a - e)
            reld = absd / np.abs(e)
        else:
            absd = np.abs(a.astype(np.int64) - e.astype(np.int64))
            reld = (absd / np.abs(e)).astype(np.float32)
    tol_abs = "" if exact else f" (up to {atol} allowed)"
    tol_rel = "" if exact else f" (up to {rtol} allowed)"
    if scalar:
        # torch compares 0-dim tensors as Python scalars (double precision differences)
        av, ev = a.reshape(()).item(), e.reshape(()).item()
        ad = abs(av - ev)
        with np.errstate(all="ignore"):
            rd = float(np.float64(ad) / np.float64(abs(ev)))
        text = (f"Scalars are not {kind}!\n\nExpected {_fmt(ev)} but got {_fmt(av)}.\n"
                f"Absolute difference: {_fmt(ad)}{tol_abs}\n"
                f"Relative difference: {_fmt(rd)}{tol_rel}")
    else:
        bad = ~ok
        n_bad, total = int(bad.sum()), ok.size
        masked_abs = np.where(np.isnan(absd), np.inf, absd)
        masked_rel = np.where(np.isnan(reld), np.inf, reld)
        ia = np.unravel_index(int(np.argmax(masked_abs)), shape)
        ir = np.unravel_index(int(np.argmax(masked_rel)), shape)
        text = (f"{what} are not {kind}!\n\nMismatched elements: {n_bad} / {total} "
                f"({math.floor(n_bad / total * 1000) / 10:.1f}%)\n"
                f"Greatest absolute difference: {_fmt(absd[ia])} at index {tuple(int(i) for i in ia)}{tol_abs}\n"
                f"Greatest relative difference: {_fmt(reld[ir])} at index {tuple(int(i) for i in ir)}{tol_rel}")
    _fail(msg, text + _origin(path))


def _to_np(t):
    t = t.detach()
    if t.dtype is D.bfloat16:
        t = t.float()
    return np.asarray(t._value)


def _compare_tensors(a, e, rtol, atol, equal_nan, check_dtype, check_device, path, msg):
    if a.shape != e.shape:
        _fail(msg, f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}." + _origin(path))
    if check_device and a.device != e.device:
        _fail(msg, f"The values for attribute 'device' do not match: {a.device} != {e.device}." + _origin(path))
    if check_dtype and a.dtype is not e.dtype:
        _fail(msg, f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}." + _origin(path))
    if a.dtype is not e.dtype:
        from . import promote_types
        common = promote_types(a.dtype, e.dtype)
        a, e = a.to(common), e.to(common)
    if a.layout is not e.layout:
        _fail(msg, f"The values for attribute 'layout' do not match: {a.layout} != {e.layout}." + _origin(path))
    if a.is_meta and e.is_meta:
        return  # no values to compare (torch compares meta tensors' attributes only)
    if a.layout is not _strided:  # sparse: the structure exactly, then the values (torch's order)
        names = _SPARSE_PARTS[a.layout.name]
        if a._nnz() != e._nnz():
            _fail(msg, f"The number of specified values in {names[0]} tensors does not match: {a._nnz()} != "
                       f"{e._nnz()}" + _origin(path))
        for part in names[1:-1]:
            ia, ie = _to_np(getattr(a, part)()), _to_np(getattr(e, part)())
            what = f"{names[0][0].upper()}{names[0][1:]} {part.strip('_').replace('_', ' ')}"
            _compare_values(ia, ie, 0, 0, False, True, False, path, msg, ia.shape, what)
        a, e = getattr(a, names[-1])(), getattr(e, names[-1])()
        what = f"{names[0][0].upper()}{names[0][1:]} values"
    else:
        what = "Tensor-likes"
    rtol, atol = _tolerances(a.dtype._name, rtol, atol)
    exact = not (a.dtype.is_floating_point or a.dtype.is_complex)
    _compare_values(_to_np(a), _to_np(e), rtol, atol, equal_nan, exact and rtol == 0 and atol == 0,
                    a.ndim == 0, path, msg, tuple(a.shape), what)


_SPARSE_PARTS = {  # (name in messages, structure accessors..., values accessor)
    "sparse_coo": ("sparse COO", "_indices", "_values"),
    "sparse_csr": ("sparse CSR", "crow_indices", "col_indices", "values"),
    "sparse_csc": ("sparse CSC", "ccol_indices", "row_indices", "values"),
    "sparse_bsr": ("sparse BSR", "crow_indices", "col_indices", "values"),
    "sparse_bsc": ("sparse BSC", "ccol_indices", "row_indices", "values"),
}


def _compare_scalars(a, e, rtol, atol, equal_nan, check_dtype, path, msg):
    if check_dtype and type(a) is not type(e):
        _fail(msg, f"The (d)types do not match: {type(a)} != {type(e)}." + _origin(path))
    kind = complex if complex in (type(a), type(e)) else (float if float in (type(a), type(e)) else int)
    name = {complex: "complex128", float: "float64", int: "int64"}[kind]
    rtol, atol = _tolerances(name, rtol, atol)
    dt = {complex: np.complex128, float: np.float64, int: np.int64}[kind]
    _compare_values(np.asarray(a, dt), np.asarray(e, dt), rtol, atol, equal_nan,
                    kind is int and rtol == 0 and atol == 0, True, path, msg, ())


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close (torch.testing.assert_close)."""
    if (rtol is None) != (atol is None):
        _tolerances(None, rtol, atol)
    pairs = []
    _flatten(actual, expected, (), pairs)
    for path, p in pairs:
        if p.kind == "tensor":
            _compare_tensors(p.actual, p.expected, rtol, atol, equal_nan, check_dtype, check_device, path, msg)
        else:
            _compare_scalars(p.actual, p.expected, rtol, atol, equal_nan, check_dtype, path, msg)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated torch API: like assert_close without dtype checks, NaNs equal by default."""
    T = _Tensor()
    from ._ops.creation import tensor
    if not isinstance(actual, T):
        actual = tensor(actual)
    if not isinstance(expected, T):
        expected = tensor(expected, dtype=actual.dtype)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False,
                 check_device=False, msg=msg or None)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A random tensor of ``shape``/``dtype`` with values in [low, high) (torch.testing.make_tensor)."""
    import jtorch
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if dtype is D.bool:
        t = jtorch.randint(0, 2, shape, device=device).to(D.bool)
    elif not (dtype.is_floating_point or dtype.is_complex):
        lo = -9 if low is None else math.ceil(low)
        hi = 10 if high is None else math.ceil(high) if high != math.ceil(high) else int(high)
        if dtype is D.uint8 and low is None:
            lo = 0
        t = jtorch.randint(lo, max(hi, lo + 1), shape, dtype=dtype, device=device)
    else:
        lo = -9.0 if low is None else low
        hi = 9.0 if high is None else high
        real = dtype.to_real() if dtype.is_complex else dtype
        t = jtorch.rand(shape, dtype=real, device=device) * (hi - lo) + lo
        if dtype.is_complex:
            t = jtorch.complex(t, jtorch.rand(shape, dtype=real, device=device) * (hi - lo) + lo)
    if exclude_zero:
        t = jtorch.where(t == 0, jtorch.ones_like(t), t)
    if requires_grad:
        t.requires_grad_(True)
    return t
