"""Run PyTorch's own operator database (op_db) through jtorch and report where results differ.

    python scripts/conformance.py [--dtypes float32,int64] [--ops add,mul] [--max-samples 8] [--out report.md]
    python scripts/conformance.py --grad [--grad2] [--grad-dtypes float64,float32] [--ops ...] [--verbose]
    python scripts/conformance.py --compile [--dtypes float32] [--ops ...] [--verbose]
    python scripts/conformance.py --errors [--ops ...] [--verbose]
    python scripts/conformance.py --reference [--dtypes ...] [--ops ...] [--max-samples N]
    python scripts/conformance.py --foreach [--foreach-dtypes ...] [--foreach-tensors 4] [--ops add,norm] [--verbose]

For every OpInfo whose name jtorch has (as ``jtorch.<name>``, ``jtorch.linalg.<name>``, ...,
or a Tensor method; variants included), each sample input is converted (tensors via numpy), run through both libraries, and compared: values, shape,
dtype; when torch raises, jtorch must raise an exception of the same type. A development tool, not a test: it prints per-op
pass counts and the first failure of each op.
Where op_db's op is its own lambda (``where``, ``einsum``, ``polygamma``, random ops), that lambda runs
with ``torch`` bound to jtorch. Random ops (and samples with a dropout probability above 0) are compared on
shape and dtype only. Eigen- and singular vectors are compared up to the unit factor per vector that torch
leaves unspecified (_UNIT_FACTOR), matrix_exp relative to each matrix's largest entry (_NORMWISE); view
inputs of as_strided-like ops keep their storage.
"""
import argparse
import os
import sys
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


# ops that read a tensor's storage beyond its own elements: a view input is rebuilt as the same view of
# its base's storage (through jtorch's as_strided) instead of a copy of its elements
_STORAGE_OPS = {"as_strided", "as_strided_copy", "as_strided_scatter"}


def to_j(x, jtorch, torch, keep_views=False):
    if keep_views and isinstance(x, torch.Tensor) and x._base is not None and x.dtype == x._base.dtype:
        base = to_j(x._base, jtorch, torch)
        return base.as_strided(tuple(x.shape), x.stride(), x.storage_offset())
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        return jtorch.empty(tuple(x.shape), dtype=to_j(x.dtype, jtorch, torch), device="meta")
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.dtype == torch.bfloat16:
            return jtorch.tensor(t.float().numpy()).to(jtorch.bfloat16)
        if t.dtype == torch.complex32:
            return jtorch.tensor(t.to(torch.complex64).numpy()).to(jtorch.complex32)
        if t.is_conj():
            t = t.resolve_conj()
        return jtorch.tensor(t.numpy().copy())
    if isinstance(x, torch.dtype):
        return getattr(jtorch, str(x).split(".")[-1])
    if isinstance(x, torch.device):
        return jtorch.device(str(x))
    if isinstance(x, torch.memory_format):
        return getattr(jtorch, str(x).split(".")[-1])
    if isinstance(x, torch.nn.Module) and not any(True for _ in x.parameters()):
        # a parameter-free module passed as an argument (a distance_function): jtorch's module of that name,
        # with the same settings
        cls = getattr(jtorch.nn, type(x).__name__)
        m = cls.__new__(cls)
        jtorch.nn.Module.__init__(m)
        m.__dict__.update({k: v for k, v in x.__dict__.items() if not k.startswith("_")})
        return m
    if isinstance(x, (list, tuple)):
        return type(x)(to_j(v, jtorch, torch) for v in x)
    if isinstance(x, dict):
        return {k: to_j(v, jtorch, torch) for k, v in x.items()}
    return x


# Per-dtype (rtol, atol) for values: the script's float32 tolerance, and torch's own testing tolerances
# (torch.testing.assert_close) for the half types, whose results carry one rounding of 2**-11 (float16) or
# 2**-8 (bfloat16) relative: a correctly rounded answer and torch's may differ by an ulp or two.
_TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "complex32": (1e-3, 1e-5)}
_DEFAULT_TOL = (1e-4, 1e-5)


def _tolerance(dtype):
    return _TOL.get(str(dtype).split(".")[-1], _DEFAULT_TOL)


def compare(j, t, torch, jtorch, rtol=None, atol=None, values=True, normwise=False):
    if isinstance(t, torch.Tensor):
        if rtol is None:
            rtol, atol = _tolerance(t.dtype)
        if not isinstance(j, jtorch.Tensor):
            return f"result type {type(j).__name__}, torch gives a Tensor"
        if tuple(j.shape) != tuple(t.shape):
            return f"shape {tuple(j.shape)} != {tuple(t.shape)}"
        if str(j.dtype) != str(t.dtype):
            return f"dtype {j.dtype} != {t.dtype}"
        if t.layout != torch.strided:  # sparse: the same layout and nnz, then the dense values
            if str(j.layout) != str(t.layout):
                return f"layout {j.layout} != {t.layout}"
            if j._nnz() != t._nnz():
                return f"nnz {j._nnz()} != {t._nnz()}"
            return compare(j.to_dense(), t.to_dense(), torch, jtorch, rtol, atol, values, normwise)
        if not values:
            return None
        a = np.asarray(j.detach().float() if j.dtype == jtorch.bfloat16 else
                       j.detach().to(jtorch.complex64) if str(j.dtype) == "torch.complex32" else j.detach())
        b = (t.detach().float() if t.dtype == torch.bfloat16 else
             t.detach().to(torch.complex64) if t.dtype == torch.complex32 else t.detach().resolve_conj()).numpy()
        if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
            return None if np.array_equal(a, b) else "values differ"
        a, b = a.astype(np.result_type(a, np.float64)), b.astype(np.result_type(b, np.float64))  # no float16 overflow
        if normwise and b.ndim >= 2 and b.size:  # relative to each matrix's largest entry (see _NORMWISE)
            scale = np.max(np.abs(b), axis=(-2, -1), keepdims=True)
            ok = np.all((np.abs(a - b) <= atol + rtol * scale) | (np.isnan(a) & np.isnan(b)))
            return None if ok else f"values differ (max abs {np.nanmax(np.abs(a - b)):.3g}, normwise)"
        if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            return None
        if (np.isnan(a) != np.isnan(b)).any():  # (a max abs difference would hide these)
            first, second = ("jtorch", "torch") if np.isnan(a).sum() > np.isnan(b).sum() else ("torch", "jtorch")
            return f"nan in {first}'s values where {second}'s are numbers"
        return f"values differ (max abs {np.nanmax(np.abs(a - b)):.3g})"
    if isinstance(t, (list, tuple)):
        if not isinstance(j, (list, tuple)) or len(j) != len(t):
            return "sequence result differs"
        for a, b in zip(j, t):
            r = compare(a, b, torch, jtorch, rtol, atol, values)
            if r:
                return r
        return None
    if isinstance(t, (int, float, bool)):
        if not values:
            return None
        jv = j.item() if isinstance(j, jtorch.Tensor) else j
        return None if np.isclose(jv, t, equal_nan=True) else f"{jv} != {t}"
    return None


# ops whose values are random or undefined (empty): only shape and dtype are compared
_RANDOM = {"empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided", "empty_permuted", "bernoulli",
           "multinomial", "normal", "rand_like", "randn", "randn_like", "randint", "randint_like", "cauchy",
           "exponential", "geometric", "log_normal", "uniform", "nn.functional.dropout", "nn.functional.dropout2d",
           "nn.functional.dropout3d", "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout",
           "nn.functional.rrelu", "svd_lowrank", "pca_lowrank", "nn.functional.fractional_max_pool2d",
           "nn.functional.fractional_max_pool3d", "nn.functional.multi_head_attention_forward"}

# ops that are random only for some samples (a dropout probability above 0): those samples are compared on shape
# and dtype, because the dropout mask comes from each library's own random stream
_RANDOM_SAMPLE = {"nn.functional.scaled_dot_product_attention": lambda s: s.kwargs.get("dropout_p", 0.0) > 0}


# Matrix functions computed by backward-stable algorithms are accurate relative to the matrix's norm, not
# entry by entry: an entry that is small by cancellation carries the rounding error of the large ones
# (float32 matrix_exp of op_db's 5x5 samples, entries up to 9e4: torch's own error against a float64
# evaluation is 0.05 on such entries). Their values are compared relative to each matrix's largest entry.
_NORMWISE = {"matrix_exp"}


# ops whose indices for tied values are unspecified (torch's CPU kernels pick any): the values are compared,
# and the indices must point at those values
_TIES = {"topk", "kthvalue", "mode", "median", "nanmedian"}


def _compare_ties(j, t, ji, dim, torch, jtorch):
    msg = compare(j[0], t[0], torch, jtorch)
    if msg or not isinstance(ji, jtorch.Tensor) or ji.ndim == 0:
        return msg
    d = dim if dim is not None else -1
    got = ji.gather(d, j[1] if j[1].ndim == ji.ndim else j[1].unsqueeze(d))
    want = j[0] if j[0].ndim == ji.ndim else j[0].unsqueeze(d)
    return None if bool((got == want).all()) or bool(jtorch.isnan(want).any()) else "indices do not point at the values"


# Decompositions whose vectors torch documents as unique only up to a unit factor per vector: eigenvectors
# (sign for real symmetric, phase for complex), singular vectors (u_i and v_i flipped together). LAPACK builds
# with different blockings pick different signs (torch runs syevd on one triangle, jax on the mirrored matrix).
# name -> (index of the aligned vectors, index of the paired vectors or None, paired vectors are rows (Vh))
_UNIT_FACTOR = {"linalg.eigh": (1, None, False), "linalg.eig": (1, None, False),
                "linalg.svd": (0, 2, True), "svd": (0, 2, False)}


def _unit_factors(a, b):
    """Per vector (column) of ``a``, the unit factor (a sign for real vectors, a phase for complex) that best
    aligns it with the same column of ``b``."""
    inner = np.sum(np.conj(a) * b, axis=-2, keepdims=True)
    mag = np.abs(inner)
    unit = np.where(mag > 0, inner / np.where(mag > 0, mag, 1), 1)
    if not np.iscomplexobj(a):
        unit = np.sign(unit.real) + (unit.real == 0)
    return unit


def _align_vectors(j, t, name, jtorch, torch):
    """jtorch's result with each vector (column) multiplied by the unit factor that best aligns it with
    torch's; for SVDs the same factor goes to the paired right singular vector, so U S V^H is unchanged and
    a jtorch answer whose u_i and v_i disagree still fails."""
    k, pair, rows = _UNIT_FACTOR[name]
    if not isinstance(t, tuple) or not isinstance(j, tuple) or len(j) != len(t) or not isinstance(j[k], jtorch.Tensor) \
            or tuple(j[k].shape) != tuple(t[k].shape) or j[k].numel() == 0:
        return j
    a, b = np.asarray(j[k].detach()), t[k].detach().resolve_conj().numpy()
    unit = _unit_factors(a, b)
    out = list(j)
    out[k] = jtorch.tensor((a * unit).astype(a.dtype))
    if pair is not None:
        v = np.asarray(j[pair].detach())
        f = np.swapaxes(np.conj(unit), -1, -2) if rows else unit
        out[pair] = jtorch.tensor((v * f).astype(v.dtype))
    return type(j)(*out) if hasattr(j, "_fields") else tuple(out)


def judge(name, s, ji, ja, jk, j_out, t_out, t_err, torch, jtorch):
    """None when jtorch's result ``j_out`` of sample ``s`` (converted to ``ji, ja, jk``) agrees with torch's
    ``t_out`` (or torch raised ``t_err``), else what differs; the op-specific rules above apply."""
    if t_err is not None:
        return f"torch raises {type(t_err).__name__}, jtorch returns"
    if name in _TIES and isinstance(t_out, tuple) and len(t_out) == 2:
        dim = jk.get("dim", ja[1] if name in ("topk", "kthvalue") and len(ja) > 1 else
                     ja[0] if name not in ("topk", "kthvalue") and ja else None)
        return _compare_ties(j_out, t_out, ji, dim, torch, jtorch)
    if name in ("sort", "argsort") and not jk.get("stable", False):
        # an unstable sort orders equal values as it likes (torch's CPU sort of bools does)
        d = jk.get("dim", ja[0] if ja else -1)
        if name == "sort":
            return _compare_ties(j_out, t_out, ji, d, torch, jtorch)
        return compare(j_out, t_out, torch, jtorch, values=False) or (
            compare(ji.gather(d, j_out), s.input.gather(d, t_out), torch, jtorch)
            if ji.ndim else compare(j_out, t_out, torch, jtorch))
    if name in _UNIT_FACTOR:
        return compare(_align_vectors(j_out, t_out, name, jtorch, torch), t_out, torch, jtorch)
    if name in _RANDOM or (name in _RANDOM_SAMPLE and _RANDOM_SAMPLE[name](s)):
        return compare(j_out, t_out, torch, jtorch, values=False)
    return compare(j_out, t_out, torch, jtorch, normwise=name in _NORMWISE)


def _shape_key(x):
    """What identifies a sample apart from its random values: tensors by shape and dtype, the rest by repr."""
    import torch
    if isinstance(x, torch.Tensor):
        return ("T", tuple(x.shape), str(x.dtype), x.stride())
    if isinstance(x, (list, tuple)):
        return tuple(_shape_key(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _shape_key(v)) for k, v in x.items()))
    return repr(x)


def _samples(info, dtype, reference=False, requires_grad=False):
    """op_db's sample inputs; with ``reference``, only the reference inputs that are not also sample inputs
    (op_db's reference generators usually start by yielding the sample inputs)."""
    if not reference:
        yield from info.sample_inputs("cpu", dtype, requires_grad=requires_grad)
        return
    if info.reference_inputs_func is None:
        return
    seen = {_shape_key((s.input, s.args, s.kwargs)) for s in info.sample_inputs("cpu", dtype)}
    for s in info.reference_inputs("cpu", dtype, requires_grad=requires_grad):
        if _shape_key((s.input, s.args, s.kwargs)) not in seen:
            yield s


def same_error_type(err, torch_type):
    """Whether jtorch's exception ``err`` is of torch's exception type, matched by class name along its MRO
    (torch's own classes, such as ``torch.linalg.LinAlgError``, have jtorch classes of the same name)."""
    names = {c.__name__.lstrip("_") for c in type(err).__mro__}
    return torch_type.__name__.lstrip("_") in names


def _resolve(jtorch, name):
    """jtorch's object for an op_db name ("add", "linalg.norm", "nn.functional.relu"), or None."""
    obj = jtorch
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _jtorch_op(info, jtorch):
    """op_db's own lambda (``lambda self, c, o: torch.where(c, self, o)``, ``torch.einsum(eq, tensors)``)
    re-bound to jtorch, so argument conventions are op_db's and the call measures jtorch, not this script."""
    import types
    f = info.op
    if not isinstance(f, types.FunctionType) or not (f.__module__ or "").startswith("torch.testing._internal"):
        return None
    g = dict(f.__globals__)
    g["torch"] = jtorch
    g["wrapper_set_seed"] = lambda op, *a, **k: op(*a, **k)
    return types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)


def _selected(op_db, args):
    """(info, name, label) of the op_db entries a run covers (``--ops``, ``--top-level-only``), without
    private aten ops, jiterator (CUDA only) and sparse-tensor entries."""
    wanted = set(filter(None, args.ops.split(",")))
    for info in op_db:
        name = info.name
        label = f"{name}[{info.variant_test_name}]" if info.variant_test_name else name
        if wanted and name not in wanted and label not in wanted:
            continue
        if args.top_level_only and ("." in name or info.variant_test_name):
            continue
        if name.startswith(("torch.", "_", "jiterator_", "sparse.")) and not name.startswith("__"):
            continue
        yield info, name, label


def _j_caller(info, name, jtorch):
    """A function (input, args, kwargs) -> jtorch's result for this OpInfo, resolved as the forward mode
    does (op_db's own lambda re-bound to jtorch, a property, jtorch.<name>, or the Tensor method); None
    when jtorch lacks the op."""
    lam = _jtorch_op(info, jtorch)
    jf = _resolve(jtorch, name)
    method = getattr(jtorch.Tensor, name, None) if "." not in name else None
    prop = None
    if isinstance(method, property):
        jf, method, prop = None, None, name
    if jf is not None and not callable(jf) or isinstance(jf, jtorch.dtype):
        jf = None
    if jf is None and method is None and prop is None and not (lam and hasattr(jtorch.Tensor, name + "_")):
        return None

    def call(ji, ja, jk):
        if lam is not None:
            return lam(ji, *ja, **jk)
        if prop is not None:
            return getattr(ji, prop)
        if jf is not None and isinstance(ji, jtorch.Tensor):
            return jf(ji, *ja, **jk)
        if method is not None:  # (unbound when the input is no Tensor, as op_db's ``torch.Tensor.__radd__(2, 3)``)
            if isinstance(ji, jtorch.Tensor):
                return getattr(ji, name)(*ja, **jk)
            return (jf if jf is not None else method)(ji, *ja, **jk)
        return jf(ji, *ja, **jk)
    return call


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--dtypes", default="float32,int64")
    p.add_argument("--ops", default="", help="comma-separated op_db names (variants as name[variant])")
    p.add_argument("--max-samples", type=int, default=8)
    p.add_argument("--top-level-only", action="store_true",
                   help="only op_db names without a dot and without a variant (the original, smaller run)")
    p.add_argument("--out", default="")
    # gradient mode (scripts/conformance_grad.py)
    p.add_argument("--grad", action="store_true", help="compare gradients instead of forward values")
    p.add_argument("--grad2", action="store_true", help="compare second-order gradients (implies --grad)")
    p.add_argument("--grad-dtypes", default="float64,float32")
    p.add_argument("--verbose", action="store_true", help="--grad/--compile: print each op's result as it finishes")
    # compile mode (scripts/conformance_compile.py)
    p.add_argument("--compile", action="store_true", help="compare jtorch.compile'd calls with eager and torch")
    # error mode (scripts/conformance_errors.py)
    p.add_argument("--errors", action="store_true", help="op_db's error inputs: jtorch must raise torch's type")
    # foreach mode (scripts/conformance_foreach.py): torch's foreach_*_op_db entries
    p.add_argument("--foreach", action="store_true", help="torch's foreach op databases (torch._foreach_*)")
    p.add_argument("--foreach-dtypes", default="float32,float64,int64,bool,complex64,bfloat16")
    p.add_argument("--foreach-tensors", type=int, default=4, help="--foreach: tensors per sample list")
    p.add_argument("--reference", action="store_true",
                   help="op_db's reference inputs (more, larger, extremal samples) instead of its sample inputs")
    args = p.parse_args(argv)
    if args.compile:  # hundreds of small programs: cheap XLA codegen, as the tests use (tests/conftest.py)
        os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
    import warnings
    warnings.filterwarnings("ignore")
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    import jtorch
    if args.grad or args.grad2 or args.compile or args.errors or args.foreach:  # the other modes' own runners
        if args.foreach:
            from conformance_foreach import run_foreach
            run = lambda args, _db, torch, jtorch: run_foreach(args, torch, jtorch)  # noqa: E731
        elif args.compile:
            from conformance_compile import run_compile as run
        elif args.errors:
            from conformance_errors import run_errors as run
        else:
            from conformance_grad import run_grad as run
        text = run(args, op_db, torch, jtorch)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        return
    dtypes = [getattr(torch, d) for d in args.dtypes.split(",")]
    rows, total_ok, total, absent = [], 0, 0, []
    for info, name, label in _selected(op_db, args):
        call = _j_caller(info, name, jtorch)
        if call is None:
            absent.append(label)
            continue
        ok = n = 0
        first = None
        for dt in dtypes:
            if dt not in info.supported_dtypes("cpu"):
                continue
            try:
                samples = list(_samples(info, dt, args.reference, requires_grad=False))[:args.max_samples]
            except Exception:
                continue
            for s in samples:
                n += 1
                try:
                    t_out = info.op(s.input, *s.args, **s.kwargs)
                    t_err = None
                except Exception as e:  # torch raises: jtorch must raise too
                    t_out, t_err = None, e
                try:
                    ji = to_j(s.input, jtorch, torch, keep_views=name in _STORAGE_OPS)
                    ja = to_j(s.args, jtorch, torch)
                    jk = to_j(s.kwargs, jtorch, torch)
                    j_out = call(ji, ja, jk)
                    msg = judge(name, s, ji, ja, jk, j_out, t_out, t_err, torch, jtorch)
                except Exception as e:
                    if t_err is None:
                        msg = f"raises {type(e).__name__}: {str(e)[:100]}"
                    else:
                        msg = None if same_error_type(e, type(t_err)) else (
                            f"torch raises {type(t_err).__name__}, jtorch {type(e).__name__}: {str(e)[:80]}")
                if msg is None:
                    ok += 1
                elif first is None:
                    first = f"{dt}: {msg}".replace("|", "\\|").replace("\n", " ")
        if n:
            rows.append((label, ok, n, first))
            total_ok += ok
            total += n
    lines = [f"# op_db conformance: {total_ok}/{total} samples agree "
             f"({len([r for r in rows if r[1] == r[2]])}/{len(rows)} ops fully)", "",
             f"dtypes {args.dtypes}, at most {args.max_samples} samples per op and dtype; "
             f"{len(absent)} op_db entries jtorch lacks (not counted): {', '.join(absent) or '-'}", "",
             "| op | agree | samples | first difference |", "|---|---:|---:|---|"]
    for name, ok, n, first in sorted(rows, key=lambda r: (r[1] == r[2], r[0])):
        lines.append(f"| {name} | {ok} | {n} | {first or ''} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        traceback.print_exc()
