"""Run PyTorch's older module test dictionaries (torch.testing._internal.common_nn) through jtorch and report
where results differ.

    python scripts/conformance_nn_legacy.py [--only Conv2d] [--no-grad] [--verbose]

common_nn describes a module configuration per dict: ``module_tests`` and ``get_new_module_tests()`` (modules,
and functionals wrapped as modules by ``wrap_functional``) and ``criterion_tests`` (losses, called with an input
and a target). For every entry the module is built in torch (seeded) and in jtorch from the same configuration:
``module_name`` resolves to jtorch.nn's class of that name; a ``constructor`` that is common_nn's own lambda, or
a ``wrap_functional(fn, **kw)`` module, is rebuilt with common_nn's globals ``torch``/``nn``/``F`` bound to
jtorch's and the tensors it closes over converted (``Rebinder``), so the configuration is common_nn's and the call
measures jtorch. Both are built under the entry's ``default_dtype``; the parameters' names, shapes and dtypes
must agree, then torch's state dict is loaded into jtorch's. Inputs (``input_size`` -> random normal,
``input_fn`` / ``target_fn`` called under torch) are converted through numpy; floating inputs require grad as in
torch's tests. The forward's outputs (values, shapes, dtypes), the state after it and the module's repr are
compared, then the backward of a seeded random cotangent (the gradients of the inputs and parameters), the
second-order gradients where torch's tests run gradgradcheck (``check_gradgrad`` not False), and, as torch's
tests do last, ``module.float()`` on float32 inputs. Where torch raises, jtorch must raise the same type.
Random modules (RReLU and dropout in training, ...) are compared on shapes and dtypes only. A development
tool, not a test: tests/nn/test_common_nn_legacy.py runs entries through the same functions.
"""
import argparse
import contextlib
import os
import sys
import types
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from conformance import same_error_type, to_j  # noqa: E402
from conformance_grad import _GRAD_TOL  # noqa: E402
from conformance_modules import _compare, _fresh, _leaves, compare_grads, is_random  # noqa: E402

SEED = 0


def entry_name(entry):
    """common_nn's test name (without ``test_``): ``fullname``, else the module's name and ``desc``."""
    if entry.get("fullname"):
        return entry["fullname"]
    name = entry.get("module_name") or entry["constructor"].__name__
    return f"{name}_{entry['desc']}" if entry.get("desc") else name


def entries(torch):
    """[(kind, name, dict)] over common_nn's module_tests, get_new_module_tests() and criterion_tests (kind
    "module" or "criterion"). get_new_module_tests() draws the tensors its lambdas close over (targets,
    weights) from torch's generator: it is seeded here, so every run sees the same ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal import common_nn
        torch.manual_seed(SEED)
        new = common_nn.get_new_module_tests()
    out = [("module", entry_name(e), e) for e in common_nn.module_tests + new]
    out += [("criterion", entry_name(e), e) for e in common_nn.criterion_tests]
    return out


class Rebinder:
    """common_nn's objects in jtorch's terms: its functions rebuilt over a copy of its globals where ``torch``,
    ``nn``, ``F`` and ``Variable`` are jtorch's (closures and defaults converted too), torch.nn classes and
    functionals by name, ``wrap_functional`` modules rebuilt around the converted function, tensors through
    numpy."""

    def __init__(self, torch, jtorch):
        from torch.testing._internal import common_nn
        self.torch, self.jtorch, self.source = torch, jtorch, common_nn
        g = dict(vars(common_nn))
        g.update(torch=jtorch, nn=jtorch.nn, F=jtorch.nn.functional, Variable=jtorch.autograd.Variable)
        self.globals = g
        for k, v in vars(common_nn).items():  # module-level helpers (wrap_functional, ...) see jtorch too
            if self._is_source_function(v):
                g[k] = self._function(v)

    def _is_source_function(self, f):
        return isinstance(f, types.FunctionType) and f.__module__ == self.source.__name__

    def _function(self, f):
        closure = None
        if f.__closure__:
            closure = tuple(types.CellType(self(c.cell_contents)) for c in f.__closure__)
        new = types.FunctionType(f.__code__, self.globals, f.__name__, self(f.__defaults__), closure)
        new.__kwdefaults__ = self(f.__kwdefaults__)
        return new

    def _wrapped_functional(self, cls):
        """(fn, kwargs) of a module class made by common_nn's ``wrap_functional``, else None."""
        forward = vars(cls).get("forward")
        if cls.__name__ != "FunctionalModule" or not isinstance(forward, types.FunctionType) or not forward.__closure__:
            return None
        cells = dict(zip(forward.__code__.co_freevars, (c.cell_contents for c in forward.__closure__)))
        return cells["fn"], cells["kwargs"]

    def __call__(self, x):
        torch, jtorch = self.torch, self.jtorch
        if x is None or isinstance(x, (bool, int, float, complex, str)):
            return x
        if isinstance(x, type) and issubclass(x, torch.nn.Module):
            wrapped = self._wrapped_functional(x)
            if wrapped is not None:
                fn, kwargs = wrapped
                return self.globals["wrap_functional"](self(fn), **self(kwargs))
            return getattr(jtorch.nn, x.__name__)
        if self._is_source_function(x):
            return self._function(x)
        if callable(x) and getattr(torch.nn.functional, getattr(x, "__name__", ""), None) is x:
            return getattr(jtorch.nn.functional, x.__name__)
        if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
            return type(x)(self(v) for v in x)
        if isinstance(x, dict):
            return {k: self(v) for k, v in x.items()}
        return to_j(x, jtorch, torch)


@contextlib.contextmanager
def default_dtype(lib, dtype):
    saved = lib.get_default_dtype()
    lib.set_default_dtype(dtype)
    try:
        yield
    finally:
        lib.set_default_dtype(saved)


def _arg(entry, name, torch):
    """common_nn's argument ``name``: the value given, ``name_fn()``, or random normal tensors of
    ``name_size`` (nested lists of sizes give lists of tensors), in the default dtype; no constructor or
    extra arguments when none are given."""
    if name in entry:
        return entry[name]
    if name + "_fn" in entry:
        return entry[name + "_fn"]()
    if name + "_size" not in entry and name in ("constructor_args", "extra_args"):
        return ()

    def tensors(size):
        if isinstance(size, list):
            return [tensors(s) for s in size]
        return size.double() if isinstance(size, torch.Tensor) else torch.randn(size)
    return tensors(entry[name + "_size"])


def _requiring_grad(x, torch):
    """``x`` with its floating and complex tensors requiring grad (common_nn's inputs)."""
    if isinstance(x, torch.Tensor):
        if x.is_floating_point() or x.is_complex():
            x.requires_grad_(True)
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_requiring_grad(v, torch) for v in x)
    return x


def _converted_inputs(t_inputs, torch, jtorch):
    """jtorch's copies of the forward arguments; a leaf that requires grad in torch does in jtorch."""
    j_inputs = to_j(t_inputs, jtorch, torch)
    for t, j in zip(_leaves(t_inputs, torch, []), _leaves(j_inputs, jtorch, [])):
        if t.requires_grad and t.is_leaf:
            j.requires_grad_(True)
    return j_inputs


def _torch_side(kind, entry, torch):
    """(module or None, forward arguments as a tuple, output, exception): built with a fixed seed, then the
    input (and target) drawn, in the order torch's own tests draw them; the exception raised by the
    constructor or the forward, if any."""
    torch.manual_seed(SEED)
    ctor = entry.get("constructor") or getattr(torch.nn, entry["module_name"])
    module = out = err = None
    try:
        module = ctor(*_arg(entry, "constructor_args", torch))
    except Exception as e:
        err = e
    inp = _requiring_grad(_arg(entry, "input", torch), torch)
    inputs = inp if isinstance(inp, tuple) else (inp,)
    if kind == "criterion":
        inputs = inputs + (_arg(entry, "target", torch),) + tuple(_arg(entry, "extra_args", torch))
    if module is not None:
        try:
            out = module(*inputs)
        except Exception as e:
            err = e
    return module, inputs, out, err


def _param_layout(mod):
    return {k: (tuple(v.shape), str(v.dtype)) for k, v in mod.state_dict().items()}


def _random(t_mod, torch):
    return is_random(t_mod, torch) or any(isinstance(m, torch.nn.RReLU) and m.training for m in t_mod.modules())


def check_entry(kind, entry, torch, jtorch, grad=True, rebinder=None):
    """None when jtorch agrees with torch on this common_nn entry, else what differs."""
    rebinder = rebinder or Rebinder(torch, jtorch)
    dtype = entry.get("default_dtype") or torch.get_default_dtype()
    j_dtype = to_j(dtype, jtorch, torch)
    with default_dtype(torch, dtype):
        t_mod, t_inputs, t_out, t_err = _torch_side(kind, entry, torch)
    ctor = entry.get("constructor") or getattr(torch.nn, entry["module_name"])
    with default_dtype(jtorch, j_dtype):
        try:
            j_mod = rebinder(ctor)(*rebinder(_arg(entry, "constructor_args", torch)))
            if t_mod is not None:
                layout, t_layout = _param_layout(j_mod), _param_layout(t_mod)
                if layout != t_layout:
                    return f"state dict (name: shape, dtype) {layout} != {t_layout}"
                j_mod.load_state_dict(to_j(dict(t_mod.state_dict()), jtorch, torch))
            j_inputs = _converted_inputs(t_inputs, torch, jtorch)
            j_out = j_mod(*j_inputs)
        except Exception as e:
            if t_err is not None:
                return None if same_error_type(e, type(t_err)) else \
                    f"raises {type(e).__name__}, torch {type(t_err).__name__}: {str(e)[:100]}"
            return f"raises {type(e).__name__}: {str(e)[:120]}"
    if t_err is not None:
        return f"no error, torch raises {type(t_err).__name__}: {str(t_err)[:100]}"
    values = not _random(t_mod, torch)
    msg = _compare(j_out, t_out, torch, jtorch, values)
    if msg:
        return f"output: {msg}"
    j_state, t_state = dict(j_mod.state_dict()), dict(t_mod.state_dict())
    for k in t_state:
        msg = _compare(j_state[k], t_state[k], torch, jtorch, values)
        if msg:
            return f"state {k} after forward: {msg}"
    if repr(j_mod) != repr(t_mod):
        return f"repr {repr(j_mod)[:80]!r} != {repr(t_mod)[:80]!r}"
    tol = _GRAD_TOL.get(str(dtype).split(".")[-1])
    with default_dtype(torch, dtype), default_dtype(jtorch, j_dtype):
        msg = grad and (_check_grads(t_mod, j_mod, t_inputs, j_inputs, t_out, j_out, torch, jtorch, values, tol)
                        or entry.get("check_gradgrad", True) and
                        _check_gradgrad(t_mod, j_mod, t_inputs, torch, jtorch, values, tol))
        return msg or _check_float32(t_mod, j_mod, t_inputs, torch, jtorch, values)


def _differentiable(t_out, j_out, torch, jtorch):
    """(torch's outputs that require grad, jtorch's), or a message when their numbers differ."""
    outs = [o for o in _leaves(t_out, torch, []) if o.requires_grad]
    j_outs = [o for o in _leaves(j_out, jtorch, []) if o.requires_grad]
    if len(j_outs) != len(outs):
        return f"{len(j_outs)} outputs require grad, torch has {len(outs)}"
    return outs, j_outs


def _cotangents(tensors, seed, torch):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(t.shape, dtype=t.dtype, generator=g) for t in tensors]


def _check_grads(t_mod, j_mod, t_inputs, j_inputs, t_out, j_out, torch, jtorch, values, tol):
    """The backward of a seeded cotangent: the inputs' and parameters' gradients."""
    found = _differentiable(t_out, j_out, torch, jtorch)
    if isinstance(found, str):
        return found
    outs, j_outs = found
    if not outs:
        return None
    cotangents = _cotangents(outs, SEED + 1, torch)
    torch.autograd.backward(outs, cotangents)
    try:
        jtorch.autograd.backward(j_outs, to_j(cotangents, jtorch, torch))
    except Exception as e:
        return f"backward raises {type(e).__name__}: {str(e)[:120]}"
    return compare_grads(_leaves(t_inputs, torch, []), _leaves(j_inputs, jtorch, []), t_mod, j_mod, torch, jtorch,
                         values, tol)


def _check_gradgrad(t_mod, j_mod, t_inputs, torch, jtorch, values, tol):
    """Second order, where torch's tests run gradgradcheck: a fresh forward, the first-order gradients of a
    seeded cotangent with respect to the inputs and parameters (create_graph), then the gradients of those
    (where torch's depend on the leaves) against a second seeded cotangent. An unused leaf counts as zeros."""
    t_in = _fresh(t_inputs, torch)
    j_in = _converted_inputs(t_in, torch, jtorch)
    j_params = dict(j_mod.named_parameters())
    pairs = [(t, j) for t, j in zip(_leaves(t_in, torch, []), _leaves(j_in, jtorch, [])) if t.requires_grad]
    pairs += [(p, j_params[n]) for n, p in t_mod.named_parameters() if p.requires_grad]
    t_leaves, j_leaves = [t for t, _ in pairs], [j for _, j in pairs]
    found = _differentiable(t_mod(*t_in), j_mod(*j_in), torch, jtorch)
    if isinstance(found, str):
        return f"second forward: {found}"
    outs, j_outs = found
    if not outs:
        return None
    cotangents = _cotangents(outs, SEED + 2, torch)
    t_g = torch.autograd.grad(outs, t_leaves, cotangents, create_graph=True, allow_unused=True)
    try:
        j_g = jtorch.autograd.grad(j_outs, j_leaves, to_j(cotangents, jtorch, torch), create_graph=True,
                                   allow_unused=True)
    except Exception as e:
        return f"backward (create_graph) raises {type(e).__name__}: {str(e)[:120]}"
    firsts = [(i, t, j) for i, (t, j) in enumerate(zip(t_g, j_g)) if t is not None and t.requires_grad]
    for i, t, j in firsts:
        if j is None or not j.requires_grad:
            return f"first-order gradient {i} does not require grad (create_graph)"
    if not firsts:
        return None
    second = _cotangents([t for _, t, _ in firsts], SEED + 3, torch)
    t_gg = torch.autograd.grad([t for _, t, _ in firsts], t_leaves, second, allow_unused=True)
    try:
        j_gg = jtorch.autograd.grad([j for *_, j in firsts], j_leaves, to_j(second, jtorch, torch),
                                    allow_unused=True)
    except Exception as e:
        return f"double backward raises {type(e).__name__}: {str(e)[:120]}"
    for i, (t, j, leaf, j_leaf) in enumerate(zip(t_gg, j_gg, t_leaves, j_leaves)):
        t = torch.zeros_like(leaf) if t is None or t._is_zerotensor() else t  # (a ZeroTensor has no numpy)
        j = jtorch.zeros_like(j_leaf) if j is None else j
        msg = _compare(j, t, torch, jtorch, values, tol)
        if msg:
            return f"second-order grad of leaf {i}: {msg}"
    return None


def _single(x, torch):
    """``x`` with floating tensors as float32 and complex as complex64 (torch's tests' ``to_single``)."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        return x.to(torch.complex64) if x.is_complex() else x.float() if x.is_floating_point() else x
    if isinstance(x, (list, tuple)):
        return type(x)(_single(v, torch) for v in x)
    return x


def _check_float32(t_mod, j_mod, t_inputs, torch, jtorch, values):
    """As torch's tests do after the gradient checks: ``module.float()`` on float32 inputs. The
    parameters' dtypes and the outputs (float32 tolerance) must agree, or both raise the same type."""
    t_mod.float()
    j_mod.float()
    layout, t_layout = _param_layout(j_mod), _param_layout(t_mod)
    if layout != t_layout:
        return f"float(): state dict (name: shape, dtype) {layout} != {t_layout}"
    t_in = _single(t_inputs, torch)
    with torch.no_grad():
        try:
            t_out, t_err = t_mod(*t_in), None
        except Exception as e:
            t_err = e
    with jtorch.no_grad():
        try:
            j_out = j_mod(*to_j(t_in, jtorch, torch))
        except Exception as e:
            if t_err is not None and same_error_type(e, type(t_err)):
                return None
            return f"float(): raises {type(e).__name__}: {str(e)[:120]}"
    if t_err is not None:
        return f"float(): no error, torch raises {type(t_err).__name__}: {str(t_err)[:100]}"
    msg = _compare(j_out, t_out, torch, jtorch, values)
    return f"float(): output: {msg}" if msg else None


def run(selected, torch, jtorch, grad=True, verbose=False):
    """[(kind, name, message or None)] for the selected entries."""
    rebinder = Rebinder(torch, jtorch)
    rows = []
    for kind, name, entry in selected:
        try:
            msg = check_entry(kind, entry, torch, jtorch, grad, rebinder)
        except Exception as e:
            msg = f"script raises {type(e).__name__}: {str(e)[:120]}"
        rows.append((kind, name, msg))
        if verbose:
            print(f"{name}: {'ok' if msg is None else msg}", flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--only", default="", help="entries whose name contains this substring")
    p.add_argument("--no-grad", action="store_true", help="forward only")
    p.add_argument("--verbose", action="store_true", help="print each entry's result as it finishes")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    import jtorch
    selected = [e for e in entries(torch) if args.only in e[1]]
    rows = run(selected, torch, jtorch, not args.no_grad, args.verbose)
    by_group = {}
    for kind, name, msg in rows:
        group = by_group.setdefault((kind, name.split("_")[0]), [0, 0, None])
        group[1] += 1
        if msg is None:
            group[0] += 1
        elif group[2] is None:
            group[2] = f"{name}: {msg}"
    ok = sum(msg is None for *_, msg in rows)
    lines = [f"# common_nn conformance: {ok}/{len(rows)} entries agree "
             f"({sum(g[0] == g[1] for g in by_group.values())}/{len(by_group)} groups fully)", "",
             "| kind | group | agree | cases | first difference |", "|---|---|---:|---:|---|"]
    for (kind, group), (g_ok, n, first) in sorted(by_group.items(), key=lambda r: (r[1][0] == r[1][1], r[0])):
        lines.append(f"| {kind} | {group} | {g_ok} | {n} | {(first or '').replace('|', '/')} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
