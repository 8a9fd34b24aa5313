"""Tensor creation: tensor/as_tensor/from_numpy, zeros/ones/full/empty (+ _like),
eye, arange, linspace, logspace, ... ."""
import builtins
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._legacy import strided as _strided
from .. import _dispatch
from .._device import to_device, jax_device, DEFAULT as _DEFAULT_DEVICE
from .._dispatch import function, REGISTRY, METHODS
from .._lazy import Pending
from .._symbolic import _SymNumber
from .. import _meta


def _T():
    return _dispatch.Tensor


def _place(arr, device):
    if device is None or isinstance(arr, jax.core.Tracer) or type(arr) is Pending:
        return arr  # a pending lazy value: single-device CPU only, already in place
    d = to_device(device)
    if d.type == "meta":  # (data made on the host, e.g. torch.tensor(data, device='meta'), is dropped)
        return _meta.MetaArray(arr.shape, arr.dtype)
    if d.type == "cpu" and not jax_device(d).platform == "gpu":
        jd = jax_device(d)
        try:
            if next(iter(arr.devices())) == jd:
                return arr
        except AttributeError:
            pass
        return jax.device_put(arr, jd)
    return jax.device_put(arr, jax_device(d))


def _finish(arr, device, requires_grad):
    t = _T()._wrap(_place(arr, device if device is not None else _DEFAULT_DEVICE[0]))
    if requires_grad:
        t.requires_grad = True  # (as the factory's flag, also inside torch.func transforms)
    return t


def _infer_np(data):
    """numpy array for ``data`` with torch's dtype inference for Python values."""
    T = _T()
    if isinstance(data, T):
        return np.asarray(data._value), data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data), D.from_numpy_dtype(data.dtype)
    if isinstance(data, jax.Array):
        return data, D.from_numpy_dtype(data.dtype)
    if type(data).__module__.startswith("torch.") or type(data).__module__ == "torch":
        from ..interop import torch_to_numpy  # a real torch.Tensor: by value
        arr = np.array(torch_to_numpy(data))
        return arr, D.from_numpy_dtype(arr.dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(x, T) for x in data):
        parts = [_infer_np(x) for x in data]
        dt = parts[0][1]
        for _, d in parts[1:]:
            dt = D.promote_types(dt, d)
        return np.stack([np.asarray(p, dt.np) for p, _ in parts]) if parts else np.zeros(0), dt
    try:
        arr = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"expected sequence of length {len(data[0]) if data else 0} at dim 1 (got "
                         f"{len(data[-1]) if data else 0})") from e
    if arr.dtype == object or arr.dtype == np.uint64:  # Python ints past int64's range
        try:
            return np.asarray(data, dtype=np.float64), None  # usable only as floats (tensor() decides)
        except (TypeError, ValueError):
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'") from None
    k = arr.dtype.kind
    if k == "f":
        return arr, D.get_default_dtype()
    if k in "iu":
        return arr, D.int64
    if k == "b":
        return arr, D.bool
    if k == "c":
        return arr, D.get_default_dtype().to_complex()
    if k in "US":
        raise TypeError("new(): invalid data type 'str'")
    return arr, D.from_numpy_dtype(arr.dtype)


@function(method=False)
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if _is_storage(data):  # torch makes a tensor on the storage itself (they share memory)
        return _on_storage(data, dtype).requires_grad_(requires_grad)
    if isinstance(data, _T()) and data.is_meta and (device is None or to_device(device).type == "meta"):
        return _meta.empty(data.shape, D.to_dtype(dtype) if dtype is not None else data.dtype, requires_grad)
    if dtype is not None and D.to_dtype(dtype) is D.complex32:
        return _to_chalf(tensor(data, dtype=D.complex64, device=device), requires_grad)
    arr, dt = _infer_np(data)
    if dt is None:  # integers too big for int64: torch reads Python ints as 64-bit unless it wants floats
        if dtype is None or not (D.to_dtype(dtype).is_floating_point or D.to_dtype(dtype).is_complex):
            raise ValueError("Overflow when unpacking long long")
    dt = D.to_dtype(dtype) if dtype is not None else dt
    if isinstance(data, (list, tuple, int, float)):
        _check_values_fit(np.asarray(arr), dt)
    if dt in (D.float8_e4m3fn, D.float8_e8m0fnu):  # torch's own conversions (pointwise.cast_array)
        from .pointwise import cast_array
        return _finish(cast_array(arr, dt.np), device, requires_grad)
    with np.errstate(over="ignore"):  # Python floats past float16's range become inf, as in torch
        arr = np.asarray(arr).astype(dt.np) if not isinstance(arr, jax.Array) else arr.astype(dt.np)
    return _finish(jnp.asarray(arr), device, requires_grad)


@function(method=False)
def as_tensor(data, dtype=None, device=None):
    T = _T()
    if isinstance(data, T):
        r = data
        if dtype is not None and D.to_dtype(dtype) is not data.dtype:
            r = r.to(D.to_dtype(dtype))
        if device is not None:
            r = r.to(device)
        return r
    if isinstance(data, np.ndarray) and dtype is None and device is None:
        return from_numpy(data)
    if type(data).__module__.startswith("torch") and hasattr(data, "detach"):
        from ..interop import from_torch
        return as_tensor(from_torch(data, share=True), dtype, device)  # shares CPU memory, as torch does
    return tensor(data, dtype=dtype, device=device)


@function(method=False)
def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = as_tensor(obj, dtype=dtype, device=device)
    if copy:
        t = t.clone()
    if requires_grad:
        t.requires_grad = True
    return t


@function(method=False)
def from_numpy(ndarray):
    from ..interop import from_numpy_shared
    return from_numpy_shared(ndarray)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    elif len(size) == 1 and hasattr(size[0], "shape") and hasattr(size[0], "tolist"):
        size = tuple(size[0].tolist())
    out = []
    for s in size:
        if not isinstance(s, (int, np.integer)) and not (hasattr(s, "__index__") and not isinstance(s, float)):
            raise TypeError(f"empty(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {len(out)}")
        s = s.__index__()
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(s)
    return tuple(out)


@functools.lru_cache(None)
def _filler(kind):
    if kind == "zeros":
        return jax.jit(lambda shape, dt: jnp.zeros(shape, dt), static_argnums=(0, 1))
    if kind == "ones":
        return jax.jit(lambda shape, dt: jnp.ones(shape, dt), static_argnums=(0, 1))
    return jax.jit(lambda v, shape, dt: jnp.full(shape, v, dt), static_argnums=(1, 2))


def _dt(dtype):
    return D.get_default_dtype() if dtype is None else D.to_dtype(dtype)


_C_TYPES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def check_scalar_fits(value, dt):
    """torch's check when a Python number becomes an element of dtype ``dt`` (full, fill_): a value
    outside the type's range (unsigned types also take negatives down to -max, which wrap), NaN or inf
    into an integer type, and a complex value into a real type raise; floats may round. Returns the number
    to store: a complex one as torch converts it into a bool (nonzero) or real (its real part) type."""
    if type(value) is bool or not isinstance(value, (int, float, complex)) or \
            isinstance(value, _SymNumber):  # (a number jtorch.compile traces: its value is not known here)
        return value
    if dt is D.bool:
        return value != 0 if isinstance(value, complex) else value
    if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:
        raise OverflowError("int too big to convert")  # torch's argument parser: a Scalar is at most 64 bits
    name = str(dt.np)
    bad = False
    if isinstance(value, complex) and value.imag == 0 and not dt.is_complex:
        value = value.real  # (torch takes a complex number with no imaginary part as its real part)
    if isinstance(value, complex):
        bad = not dt.is_complex
    elif dt.is_floating_point:
        if isinstance(value, float) and not math.isfinite(value):
            return value
        bad = abs(value) > float(jnp.finfo(dt.np).max)
    elif not dt.is_complex:
        info = np.iinfo(dt.np)
        if isinstance(value, float) and not math.isfinite(value):
            bad = True
        elif info.min == 0 and isinstance(value, int):
            bad = value > info.max or -value > info.max
        else:
            bad = value > info.max or value < info.min
    if bad:
        raise RuntimeError(f"value cannot be converted to type {_C_TYPES.get(name, name)} without overflow")
    return value


def check_value_fits(value, dt):
    """check_scalar_fits for a one-element tensor torch reads on the host (``masked_fill_``, a bool-mask
    assignment): a complex value with an imaginary part cannot go into a real tensor."""
    if value.dtype.is_complex and not dt.is_complex and _dispatch.TRACE is None:
        check_scalar_fits(value.item(), dt)


def _check_values_fit(arr, dt):
    """torch.tensor(Python numbers, dtype=an integer type): the same check for every element, where numpy's
    cast would wrap (300 -> 44 in int8) or turn NaN into the minimum."""
    if dt is D.bool or dt.is_floating_point or dt.is_complex or arr.size == 0 or arr.dtype.kind not in "iuf":
        return
    info = np.iinfo(dt.np)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr < info.min) | (arr > info.max)
    else:  # Python ints: unsigned types also take negatives down to -max (they wrap)
        bad = (arr < (-int(info.max) if info.min == 0 else int(info.min))) | (arr > int(info.max))
    if bad.any():
        raise RuntimeError(f"value cannot be converted to type {dt.np} without overflow")


def _to_chalf(t, requires_grad):
    from .._chalf import cast
    t = cast(t)
    if requires_grad:
        t.requires_grad = True
    return t


def _empty_fill(dt):
    """What torch's empty() holds: unspecified (here zeros), or, with deterministic algorithms on and
    torch.utils.deterministic.fill_uninitialized_memory set, NaN (floats) or the largest value (ints)."""
    from ..functions import _det, _fill_uninitialized
    if not (_det[0] and _fill_uninitialized[0]):
        return "zeros", None
    if dt is D.bool:
        return "full", True
    if dt.is_floating_point or dt.is_complex:
        return "full", float("nan")
    return "full", int(np.iinfo(dt.np).max)


def _make(kind, size, dtype, device, requires_grad, value=None):
    dt = _dt(dtype)
    if kind == "empty":
        kind, value = _empty_fill(dt)
    if dt is D.complex32 and not _meta.is_meta_device(device):  # no jax complex32: made as complex64
        return _to_chalf(_make(kind, size, D.complex64, device, False, value), requires_grad)
    if _meta.is_meta_device(device):
        if kind == "full":
            check_scalar_fits(value, dt)
        return _meta.empty(size, dt, requires_grad)  # no array is made
    if kind == "full":
        check_scalar_fits(value, dt)
        arr = _filler("full")(value, size, dt.np)
    else:
        arr = _filler(kind)(size, dt.np)
    return _finish(arr, device, requires_grad)


def _into(out, res):
    """A factory's result, written into ``out=`` (resized as torch resizes it: silently) when one is given."""
    return res if out is None else _dispatch._write_out(out, res, resize_warning=False)


def factory(f):
    """A factory's ``out=``: the tensor made in ``out``'s dtype (a ``dtype`` argument that differs raises, as in
    torch) and written into ``out``."""
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return f(*args, **kwargs)
        if not isinstance(out, _dispatch.Tensor):
            raise TypeError(f"{f.__name__}(): argument 'out' must be Tensor, not {type(out).__name__}")
        dtype = kwargs.get("dtype")
        if dtype is not None and D.to_dtype(dtype) is not out.dtype:
            raise RuntimeError(f"dtype {D.scalar_type_name(D.to_dtype(dtype))} does not match dtype of out parameter "
                               f"({D.scalar_type_name(out.dtype)})")
        kwargs["dtype"] = out.dtype
        return _into(out, f(*args, **kwargs))
    return functools.wraps(f)(with_out)


@function(method=False)
@factory
def zeros(*size, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    if layout is not None and layout is not _strided:
        return _sparse_make("zeros", _size(size), layout, dtype, device, requires_grad)
    return _make("zeros", _size(size), dtype, device, requires_grad)


@function(method=False)
@factory
def ones(*size, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _make("ones", _size(size), dtype, device, requires_grad)


@function(method=False)
@factory
def empty(*size, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    out = _make("empty", _size(size), dtype, device, requires_grad)
    if memory_format is None:
        return out
    from .._memfmt import lay, format_order
    return lay(out, format_order(memory_format, out.ndim))


def _fill_scalar(fill_value, fn="full"):
    """torch's ``fill_value`` is a Number: a numpy scalar or a one-element tensor counts as the Python
    number it holds (np.float64(0.5) fills float32 like 0.5 does); arrays are a TypeError.
    Returns (value, the dtype torch.full infers from it)."""
    if isinstance(fill_value, (bool, int, float, complex)) and not isinstance(fill_value, np.generic):
        return fill_value, D.scalar_dtype(fill_value)
    if isinstance(fill_value, np.generic):
        kind = fill_value.dtype.kind
        if kind == "b":  # torch reads a numpy bool as a float
            return float(fill_value), D.get_default_dtype()
    elif isinstance(fill_value, _dispatch.Tensor) and fill_value.numel() == 1:
        kind = ("c" if fill_value.is_complex() else "f" if fill_value.is_floating_point()
                else "b" if fill_value.dtype is D.bool else "i")
        if kind == "b":
            return bool(fill_value.item()), D.bool
    else:
        name = "numpy.ndarray" if isinstance(fill_value, np.ndarray) else type(fill_value).__name__
        raise TypeError(f"{fn}(): argument 'fill_value' (position 2) must be Number, not {name}")
    value = fill_value.item()
    if kind in "iu":
        return int(value), D.int64
    if kind == "c":
        return complex(value), D.get_default_dtype().to_complex()
    return float(value), D.get_default_dtype()


@function(method=False)
@factory
def full(size, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False):
    fill_value, inferred = _fill_scalar(fill_value)
    if dtype is None:
        dtype = inferred
    return _make("full", _size((size,) if isinstance(size, int) else tuple(size)), dtype, device, requires_grad,
                 fill_value)


def _like(kind):
    def f(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None, fill_value=None):
        if type(input) is not _dispatch.Tensor and _dispatches(input):  # (its __torch_dispatch__ makes it)
            from .._subclass_dispatch import factory
            return factory(f"{kind}_like", (input,) + ((fill_value,) if kind == "full" else ()),
                           dtype=dtype, layout=layout, device=device, memory_format=memory_format)
        dt = input.dtype if dtype is None else dtype
        dev = input.device if device is None else device
        if (input.layout if layout is None else layout) is not _strided:
            return _sparse_make("zeros" if kind == "empty" else kind, tuple(input.shape),
                                input.layout if layout is None else layout, dt, dev,
                                requires_grad, input)
        if kind == "full":
            fill_value = _fill_scalar(fill_value, "full_like")[0]
        out = _make(kind, tuple(input.shape), dt, dev, requires_grad, fill_value)
        if memory_format is None and input._strides is None:
            return out
        from .._memfmt import lay_like
        return lay_like(out, input, memory_format)
    return f


def _dispatches(t):
    from .._subclass_dispatch import dispatches
    return dispatches(type(t))


def _sparse_make(kind, size, layout, dtype, device, requires_grad, like=None):
    from ..sparse._convert import sparse_zeros
    return sparse_zeros(kind, size, layout, dtype, device, requires_grad, like)


zeros_like = function(_like("zeros"), name="zeros_like", method=False)
ones_like = function(_like("ones"), name="ones_like", method=False)
empty_like = function(_like("empty"), name="empty_like", method=False)


@function(method=False)
def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like("full")(input, dtype=dtype, device=device, requires_grad=requires_grad, fill_value=fill_value,
                         memory_format=memory_format)


def _new(kind, name):
    def f(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False, fill_value=None,
          **size_kw):
        # `size` may also be given by keyword (x.new_ones(size=(), dtype=torch.bool)), as in torch
        if size_kw:
            extra = set(size_kw) - {"size"}
            if extra:
                raise TypeError(f"{name}() got an unexpected keyword argument '{extra.pop()}'")
            if size:
                raise TypeError(f"{name}() got multiple values for argument 'size'")
            if not isinstance(size_kw["size"], (tuple, list)):
                raise TypeError(f"{name}(): argument 'size' must be tuple of ints, not "
                                f"{type(size_kw['size']).__name__}")
            size = (size_kw["size"],)
        if kind == "full":
            fill_value = _fill_scalar(fill_value, "new_full")[0]
        return _make(kind, _size(size), self.dtype if dtype is None else dtype,
                     self.device if device is None else device, requires_grad, fill_value)
    return f


METHODS["new_zeros"] = _new("zeros", "new_zeros")
METHODS["new_ones"] = _new("ones", "new_ones")
METHODS["new_empty"] = _new("empty", "new_empty")


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    fill_value = _fill_scalar(fill_value, "new_full")[0]
    return _make("full", _size((size,) if isinstance(size, int) else tuple(size)),
                 self.dtype if dtype is None else dtype, self.device if device is None else device,
                 requires_grad, fill_value)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return tensor(data, dtype=self.dtype if dtype is None else dtype,
                  device=self.device if device is None else device, requires_grad=requires_grad)


METHODS["new_full"] = new_full
METHODS["new_tensor"] = new_tensor


@function(method=False)
def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    return full((), s, dtype=dtype or D.get_default_dtype(), device=device, requires_grad=requires_grad)


@function(method=False)
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    dt = out.dtype if out is not None and dtype is None else _dt(dtype)
    return _into(out, _finish(jnp.eye(n, m, dtype=dt.np), device, requires_grad))




def _num(v):
    return v.item() if hasattr(v, "item") else v


@function(method=False)
def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    # torch checks the bounds as doubles (a NaN step is no step), then counts and steps in the result's type
    if not (step > 0 or step < 0):
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = out.dtype if out is not None else (
            D.int64 if all(isinstance(v, int) for v in (start, end, step)) else D.get_default_dtype())
    dt = D.to_dtype(dtype)
    if dt.is_complex or dt is D.bool:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{D.scalar_type_name(dt)}'")
    n = math.ceil((end - start) / step)
    if dt._cat < 2:  # integer results step by the truncated step from the truncated start
        start, end, step = builtins.int(start), builtins.int(end), builtins.int(step)
        if dt is D.int64:  # (int64 also counts with the truncated bounds)
            if step == 0:
                raise ValueError("step must be nonzero")
            n = (end - start + step - (step > 0) + (step < 0)) // step
        arr = (start + np.arange(n, dtype=np.int64) * step).astype(dt.np)
    else:
        arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    return _into(out, _finish(jnp.asarray(arr), device, requires_grad))


@function(method=False)
def range(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    import warnings
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values "
                  "in [start, end).", UserWarning)
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    arr = start + np.arange(n) * step
    return _finish(jnp.asarray(arr.astype(_dt(dtype).np)), device, requires_grad)


def _endpoint(v):
    """A linspace end point: a Python number, or a tensor's traced value under jtorch.compile (the
    values are computed in the program, not read: the output's shape depends on ``steps`` only)."""
    if hasattr(v, "_value") and isinstance(v._value, jax.core.Tracer):
        return v._value
    return _num(v)


def _check_steps(name, start, end, steps):
    """``steps`` as an int; torch's TypeError where it is not an integer (a float, a bool: no overload takes it)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer, _T())):
        got = ", ".join("Tensor" if isinstance(a, _T()) else type(a).__name__ for a in (start, end, steps))
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected "
                        f"one of:\n * (Tensor start, Tensor end, int steps, ...)\n * (Number start, Number end, "
                        f"int steps, ...)")
    return int(steps)


@function(method=False)
@factory
def linspace(start, end, steps, *, dtype=None, layout=None, device=None, requires_grad=False):
    steps = _check_steps("linspace", start, end, steps)
    start, end = _endpoint(start), _endpoint(end)
    xp = jnp if isinstance(start, jax.core.Tracer) or isinstance(end, jax.core.Tracer) else np
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = _dt(dtype)
    if steps == 1:  # torch: just start
        end = start
    if dt._cat < 2:
        arr = xp.linspace(xp.asarray(start, np.float64), xp.asarray(end, np.float64), steps).astype(np.float64)
        arr = xp.trunc(arr).astype(dt.np)
        return _finish(jnp.asarray(arr), device, requires_grad)
    # torch computes the first half forward from start and the second half backward from end
    ct = dt.np if dt not in (D.float16, D.bfloat16) else np.dtype(np.float32)
    i = xp.arange(steps, dtype=ct)
    start, end = xp.asarray(start).astype(ct), xp.asarray(end).astype(ct)
    step = (end - start) / ct.type(max(steps - 1, 1))
    half = steps // 2
    arr = xp.where(i < half, start + step * i, end - step * (steps - 1 - i)).astype(dt.np)
    return _finish(jnp.asarray(arr), device, requires_grad)


@function(method=False)
@factory
def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    steps = _check_steps("logspace", start, end, steps)
    dt = _dt(dtype)
    lin = linspace(start, end, steps, dtype=D.float64)._value
    return _finish(jnp.power(base, lin).astype(dt.np), device, requires_grad)


def _is_storage(obj):
    from .._storage import TypedStorage, UntypedStorage
    return isinstance(obj, (TypedStorage, UntypedStorage))


def _on_storage(storage, dtype):
    """A tensor of ``dtype`` (default: the default dtype) over all of ``storage``, sharing it."""
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return zeros(0, dtype=dt, device=storage.device).set_(storage)


def _legacy_new(cls, *args, **kwargs):
    """torch.Tensor(...) / torch.FloatTensor(...): sizes or data, default float dtype."""
    dtype = kwargs.pop("dtype", None) or getattr(cls, "_legacy_dtype", None) or D.get_default_dtype()
    device = kwargs.pop("device", None)
    if len(args) == 0:
        return zeros(0, dtype=dtype, device=device)
    if len(args) == 1 and not isinstance(args[0], int):
        a = args[0]
        if isinstance(a, _T()):
            return a.detach()
        if _is_storage(a):
            return _on_storage(a, dtype)
        if hasattr(a, "__len__") or isinstance(a, (float, np.ndarray)):
            return tensor(a, dtype=dtype, device=device)
    return zeros(*args, dtype=dtype, device=device)
