"""Run PyTorch's autograd.Function database (autograd_function_db) through jtorch and report where it differs.

    python scripts/conformance_autograd_function.py [--entries NumpyCube,...] [--dtypes float32,float64]
    python scripts/conformance_autograd_function.py --custom-ops     (custom_op_db: torch.library custom ops)

torch.testing._internal.autograd_function_db defines custom ``torch.autograd.Function`` classes (numpy
kernels behind ``.numpy()``/``torch.tensor``, ``setup_context``, ``mark_dirty``, ``mark_non_differentiable``,
``jvp`` and ``vmap`` staticmethods, ``generate_vmap_rule``, ``once_differentiable``) as OpInfo entries. Each
class is re-created as a ``jtorch.autograd.Function`` whose staticmethods are the same code with ``torch``
(and the module's helpers and sibling classes) bound to jtorch, so the code under test is torch's, run on
jtorch. For every entry, sample and dtype (seeded), each check runs in both libraries:

    forward   the entry's op                    backward  autograd.grad with a seeded cotangent
    vjp       torch.func.vjp                    grad      torch.func.grad of the outputs' sum
    jvp       torch.func.jvp                    vmap      torch.func.vmap over dim 0 of a batch of 2
    jacrev    / jacfwd (all differentiable inputs)         vmap_vjp  vmap of vjp over primals and cotangents
    jvp_vjp   jvp of vjp_fn's result (a fixed cotangent) along seeded tangents of the primals

and agrees when the values match, or when torch raises and jtorch raises the same exception type.
"""
import argparse
import os
import sys
import types
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CHECKS = ("forward", "backward", "vjp", "grad", "jvp", "vmap", "jacrev", "jacfwd", "vmap_vjp", "jvp_vjp")
_TOL = {"float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}


def _rebuild_module(module, torch, jtorch):
    """The module's globals with ``torch``, its functions and its Function classes bound to jtorch."""
    g = dict(module.__dict__)
    g["torch"] = jtorch

    def rebind(f):
        return types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)

    def rebind_static(f):
        inner = getattr(f, "__wrapped__", None)  # once_differentiable(backward)
        if inner is not None:
            return jtorch.autograd.function.once_differentiable(rebind(inner))
        return rebind(f)

    for name, obj in module.__dict__.items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
            g[name] = rebind(obj)
        elif isinstance(obj, type) and issubclass(obj, torch.autograd.Function) and obj.__module__ == module.__name__:
            attrs = {}
            for k, v in obj.__dict__.items():
                if isinstance(v, staticmethod):
                    attrs[k] = staticmethod(rebind_static(v.__func__))
                elif not k.startswith("_"):
                    attrs[k] = v  # generate_vmap_rule, class constants
            g[name] = type(name, (jtorch.autograd.Function,), attrs)
    return g, rebind


def entries(torch, jtorch, wanted=()):
    """(name, OpInfo, torch's op, jtorch's op) for each autograd_function_db entry."""
    import torch.testing._internal.autograd_function_db as m
    g, rebind = _rebuild_module(m, torch, jtorch)
    for info in m.autograd_function_db:
        short = info.name.replace("AutogradFunction", "")
        if wanted and info.name not in wanted and short not in wanted:
            continue
        op = info.op
        if isinstance(op, types.MethodType):  # SomeFunction.apply
            jop = g[op.__self__.__name__].apply
        else:  # a lambda of the module
            jop = rebind(op)
        yield info.name, info, op, jop


_CUSTOM_OP_DB = []


def _jtorch_custom_op_db(jtorch):
    """custom_op_db's module run again with ``torch`` (and ``torch.*`` but torch.testing) imported as jtorch:
    its ``torch.library.custom_op`` definitions, fakes, autograd and vmap registrations made on jtorch
    (once per process: the ops then exist in jtorch's ``_torch_testing`` namespace)."""
    if _CUSTOM_OP_DB:
        return _CUSTOM_OP_DB[0]
    import builtins
    import torch.testing._internal.custom_op_db as m
    real_import = builtins.__import__

    def import_jtorch(name, globals=None, locals=None, fromlist=(), level=0):
        if name.endswith("common_dtype"):  # (OpInfo's dtype lists check for torch's dtypes; unused here)
            return types.SimpleNamespace(all_types_and=lambda *a: ())
        if name == "torch" or (name.startswith("torch.") and not name.startswith("torch.testing")):
            mod = real_import("j" + name, globals, locals, fromlist, level)
            return mod if fromlist else jtorch
        return real_import(name, globals, locals, fromlist, level)
    g = {"__builtins__": dict(vars(builtins), __import__=import_jtorch), "__name__": "jtorch_custom_op_db"}
    with open(m.__file__) as f:
        exec(compile(f.read(), m.__file__, "exec"), g)
    _CUSTOM_OP_DB.append({info.name: info for info in g["custom_op_db"]})
    return _CUSTOM_OP_DB[0]


def custom_op_entries(torch, jtorch, wanted=()):
    """(name, OpInfo, torch's op, jtorch's op) for each custom_op_db entry (torch.library custom ops)."""
    import torch.testing._internal.custom_op_db as m
    mine = _jtorch_custom_op_db(jtorch)
    for info in m.custom_op_db:
        if wanted and info.name not in wanted and info.name.replace("CustomOp", "") not in wanted:
            continue
        yield info.name, info, info.op, mine[info.name].op


def _to_j(x, torch, jtorch):
    if isinstance(x, torch.Tensor):
        return jtorch.tensor(x.detach().numpy().copy())
    if isinstance(x, (list, tuple)):
        return type(x)(_to_j(v, torch, jtorch) for v in x)
    return x


def _flat(x, lib):
    if isinstance(x, lib.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flat(v, lib)]
    return []


def _np(t):
    t = t.detach()
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


class _Side:
    """One library's view of a sample: its op, differentiable inputs and helpers."""

    def __init__(self, lib, op, inp, args, kwargs):
        self.lib, self.op = lib, op
        allargs = [inp, *args]
        self.diff_pos = [i for i, a in enumerate(allargs) if isinstance(a, lib.Tensor) and a.dtype.is_floating_point]
        self.allargs, self.kwargs = allargs, kwargs

    def primals(self, arrays):
        return [self.lib.tensor(a) for a in arrays]

    def fn(self):
        """The op as a function of its differentiable inputs, returning its float outputs as a tuple."""
        lib = self.lib

        def f(*diff):
            a = list(self.allargs)
            for p, d in zip(self.diff_pos, diff):
                a[p] = d
            out = self.op(*a, **self.kwargs)
            return tuple(o for o in _flat(out, lib) if o.dtype.is_floating_point)
        return f


def _run(check, s, prim, cot, tan, bprim, bcot):
    """One check in one library (``s``: a _Side); returns a list of tensors."""
    lib, func, f = s.lib, s.lib.func, s.fn()
    n = len(prim)
    P = s.primals(prim)
    if check == "forward":
        a = list(s.allargs)
        for p, d in zip(s.diff_pos, P):
            a[p] = d
        return _flat(s.op(*a, **s.kwargs), lib)
    if check == "backward":
        for p in P:
            p.requires_grad_(True)
        outs = f(*P)
        cots = s.primals(cot[:len(outs)])
        return lib.autograd.grad(outs, P, cots, allow_unused=True, materialize_grads=True)
    if check == "vjp":
        outs, vfn = func.vjp(f, *P)
        return list(outs) + list(vfn(tuple(s.primals(cot[:len(outs)]))))
    if check == "grad":
        return func.grad(lambda *d: sum(o.sum() for o in f(*d)), argnums=tuple(range(n)))(*P)
    if check == "jvp":
        outs, touts = func.jvp(f, tuple(P), tuple(s.primals(tan)))
        return list(outs) + list(touts)
    if check == "vmap":
        return func.vmap(f)(*s.primals(bprim))
    if check == "jacrev":
        return _flat(func.jacrev(f, argnums=tuple(range(n)))(*P), lib)
    if check == "jacfwd":
        return _flat(func.jacfwd(f, argnums=tuple(range(n)))(*P), lib)
    if check == "vmap_vjp":
        def pulled(*pc):
            outs, vfn = func.vjp(f, *pc[:n])
            return vfn(tuple(pc[n:n + len(outs)]))
        return func.vmap(pulled)(*s.primals(bprim), *s.primals(bcot))
    if check == "jvp_vjp":
        def pulled_at(*p):
            outs, vfn = func.vjp(f, *p)
            return vfn(tuple(s.primals(cot[:len(outs)])))
        return _flat(func.jvp(pulled_at, tuple(P), tuple(s.primals(tan))), lib)
    raise ValueError(check)


def compare(check, ts, js, prim, cot, tan, bprim, bcot, dtype, raised=None):
    """None when both sides agree, else a short description of the first difference (``raised`` collects
    the checks where both raised the same exception type)."""
    import torch
    import jtorch

    def side(lib, fns):  # (the results as numpy arrays, or the exception raised)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return [_np(t) for t in _flat(_run(check, fns, prim, cot, tan, bprim, bcot), lib)], None
        except Exception as e:  # noqa: BLE001
            return None, e
    t_res, t_err = side(torch, ts)
    j_res, j_err = side(jtorch, js)
    if t_err is not None:
        if j_err is None:
            return f"torch raises {type(t_err).__name__}, jtorch does not"
        if type(j_err).__name__ != type(t_err).__name__ and not isinstance(j_err, type(t_err)):
            return f"torch raises {type(t_err).__name__}, jtorch {type(j_err).__name__}: {str(j_err)[:150]}"
        if raised is not None:
            raised.add(check)
        return None
    if j_err is not None:
        return f"jtorch raises {type(j_err).__name__}: {str(j_err).splitlines()[0][:200] if str(j_err) else ''}"
    if len(t_res) != len(j_res):
        return f"{len(t_res)} outputs, jtorch {len(j_res)}"
    rtol, atol = _TOL[dtype]
    for k, (a, b) in enumerate(zip(t_res, j_res)):
        if a.shape != b.shape:
            return f"output {k}: shape {a.shape}, jtorch {b.shape}"
        if a.dtype != b.dtype:
            return f"output {k}: dtype {a.dtype}, jtorch {b.dtype}"
        if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            return f"output {k}: values differ (max abs {np.max(np.abs(a - b)):.3g})"
    return None


def run_entry(info, op, jop, dtype, seed=0, checks=CHECKS, raised=None):
    """{check: None or first difference} over the entry's samples at ``dtype`` (a name: 'float32')."""
    import torch
    import jtorch
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tdt = getattr(torch, dtype)
    result = {c: None for c in checks}
    for sample in info.sample_inputs("cpu", tdt, requires_grad=False):
        inp, args, kwargs = sample.input, tuple(sample.args), dict(sample.kwargs)
        ts = _Side(torch, op, inp, args, kwargs)
        js = _Side(jtorch, jop, _to_j(inp, torch, jtorch), _to_j(args, torch, jtorch), kwargs)
        prim = [ts.allargs[p].numpy().copy() for p in ts.diff_pos]
        outs = ts.fn()(*ts.primals(prim))
        cot = [rng.standard_normal(o.shape).astype(dtype) for o in outs]
        tan = [rng.standard_normal(p.shape).astype(dtype) for p in prim]
        # a batch of 2: the sample and a perturbed copy, whose values stay in the sample's range
        bprim = [np.stack([p, p * (1 + 0.1 * rng.random(p.shape))]).astype(dtype) for p in prim]
        bcot = [np.stack([c, rng.standard_normal(c.shape)]).astype(dtype) for c in cot]
        for c in checks:
            if result[c] is None:
                result[c] = compare(c, ts, js, prim, cot, tan, bprim, bcot, dtype, raised)
    return result


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--entries", default="")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--custom-ops", action="store_true", help="custom_op_db (torch.library) instead")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch
    import jtorch
    wanted = set(filter(None, args.entries.split(",")))
    rows, agree, total = [], 0, 0
    source = custom_op_entries if args.custom_ops else entries
    for name, info, op, jop in source(torch, jtorch, wanted):
        merged = {c: None for c in CHECKS}
        raised = set()
        for dt in args.dtypes.split(","):
            res = run_entry(info, op, jop, dt, raised=raised)
            for c, d in res.items():
                if d is not None and merged[c] is None:
                    merged[c] = f"[{dt}] {d}"
        rows.append((name, merged, raised))
        agree += sum(d is None for d in merged.values())
        total += len(merged)
    suffix = "CustomOp" if args.custom_ops else "AutogradFunction"
    w = max(len(n) for n, _, _ in rows) - len(suffix)
    print("agree: same values; raises: torch and jtorch raise the same exception type; DIFFER: see below")
    print(f"{'entry':<{w}} " + " ".join(f"{c:>8}" for c in CHECKS))
    for name, merged, raised in rows:
        print(f"{name.replace(suffix, ''):<{w}} " + " ".join(
            f"{'DIFFER' if merged[c] is not None else 'raises' if c in raised else 'agree':>8}" for c in CHECKS))
    print(f"\n{agree}/{total} (entry, check) pairs agree")
    for name, merged, _ in rows:
        for c, d in merged.items():
            if d is not None:
                print(f"  {name} {c}: {d}")


if __name__ == "__main__":
    main()
