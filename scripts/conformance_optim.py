"""Run PyTorch's own optimizer database (optim_db) through jtorch and report where results differ.

    python scripts/conformance_optim.py [--optims Adam,SGD] [--steps 5] [--dtypes float32,float64] [--verbose]

For every OptimizerInfo and each of its configs (``optim_inputs_func`` on CPU with the global flags foreach /
differentiable / fused that torch supports on CPU, the CUDA-only configs such as ``capturable=True``, and a
sparse-gradient config where the optimizer takes sparse gradients), the same seeded parameters (a few shapes,
a 0-dim one, a complex one where supported, one that never gets a gradient) receive the same seeded gradients
(LBFGS: the same closure) for a few steps in torch.optim and jtorch.optim. After each step the parameters and the
state dicts (keys, values, dtypes) are compared; half-way the jtorch state dict goes through jtorch.save/load into
a fresh jtorch optimizer that must continue identically. Where torch raises (``capturable=True`` on CPU tensors),
jtorch must raise the same exception type at the same point. ``differentiable=True`` runs on non-leaf parameters
(clones of leaves) and also compares the gradient of the final parameters with respect to those leaves.
Every error input must raise (or warn) with torch's type and a message matching torch's regex, and each
supported LR scheduler combination must move the learning rate and the parameters as torch's does.

A development tool, not a test (tests/optim/test_optim_db.py reuses its functions): it prints per-optimizer
pass counts and the first failure of each config.
"""
import argparse
import io
import os
import re
import sys
import types
import warnings
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from conformance import compare, to_j  # noqa: E402


@dataclass
class Config:
    """One optimizer configuration: torch's description and keyword arguments. ``kind`` says where it comes
    from: "cpu" (optim_inputs_func on CPU, global flags included), "cuda" (configs torch lists for CUDA only,
    run here on CPU tensors) or "sparse" (sparse gradients, metadata_for_sparse's kwargs)."""
    desc: str
    kwargs: dict
    kind: str = "cpu"

    @property
    def label(self):
        return self.desc if self.kind == "cpu" else f"{self.desc} [{self.kind}]"


def optim_infos(names=()):
    from torch.testing._internal.common_optimizers import optim_db
    return [i for i in optim_db if not names or i.name in names]


def optim_configs(info):
    """Every config of an OptimizerInfo (see Config)."""
    import torch
    from torch.testing._internal.common_optimizers import _get_optim_inputs_including_global_cliquey_kwargs
    cpu = _get_optim_inputs_including_global_cliquey_kwargs("cpu", torch.float32, info)
    out = [Config(c.desc, c.kwargs) for c in cpu]
    cpu_descs = {c.desc for c in info.optim_inputs_func(device="cpu")}
    out += [Config(c.desc, c.kwargs, "cuda") for c in info.optim_inputs_func(device="cuda")
            if c.desc not in cpu_descs]
    if info.supports_sparse:
        out.append(Config("sparse grads", dict(info.metadata_for_sparse[0]), "sparse"))
    return out


# ---------------------------------------------------------------------------------------------- parameters
def _param_specs(info, config, dtype):
    """(shape, dtype name, gets a gradient) of the parameters a config runs on."""
    name = str(dtype).split(".")[-1]
    if info.name == "Muon":  # 2-D parameters only
        return [((2, 3), name, True), ((4, 2), name, True), ((2, 2), name, False)]
    if info.only_supports_sparse_grads or config.kind == "sparse":
        return [((4, 3), name, True), ((5,), name, True), ((3,), name, False)]
    specs = [((2, 3), name, True), ((4,), name, True), ((), name, True), ((3,), name, False)]
    # torch's own differentiable=True path fails on complex parameters for several optimizers (its in-place
    # writes to view_as_real views break its saved tensors): there is no torch reference to compare with
    if info.supports_complex and name in ("float32", "float64") and not config.kwargs.get("differentiable"):
        specs.append(((2, 2), "complex64" if name == "float32" else "complex128", True))
    return specs


def _random(rng, shape, dtype):
    if dtype.startswith("complex"):
        real = "float32" if dtype == "complex64" else "float64"
        return (rng.standard_normal(shape).astype(real) + 1j * rng.standard_normal(shape).astype(real)).astype(dtype)
    return np.asarray(rng.standard_normal(shape)).astype(dtype)


def _sparse_rows(rng, shape):
    """A sparse gradient's (indices, values): some rows of dim 0, one repeated (torch sums duplicates)."""
    rows = rng.choice(shape[0], size=min(2, shape[0]), replace=False)
    rows = np.concatenate([rows, rows[:1]])
    return rows[None, :].astype(np.int64), rng.standard_normal((len(rows),) + tuple(shape[1:]))


class _Side:
    """One library's parameters (and the leaves they are cloned from, for differentiable=True)."""

    def __init__(self, lib, arrays, differentiable):
        self.lib = lib
        self.leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
        self.params = [w.clone() for w in self.leaves] if differentiable else self.leaves

    def set_grads(self, grads):
        lib = self.lib
        for p, g in zip(self.params, grads):
            if g is None:
                p.grad = None
            elif isinstance(g, tuple):  # sparse: (indices, values)
                p.grad = lib.sparse_coo_tensor(lib.tensor(g[0]), lib.tensor(g[1].astype(_np_dtype(p))),
                                               tuple(p.shape))
            else:
                p.grad = lib.tensor(g)


def _np_dtype(t):
    return str(t.dtype).split(".")[-1]


_REAL = {"complex64": "float32", "complex128": "float64"}


def _closure_weights(rng, specs):
    """Per parameter that gets a gradient: the closure's target (the parameter's dtype) and positive weights."""
    return [(_random(rng, s, dt), np.abs(_random(rng, s, _REAL.get(dt, dt))) + 0.5) if g else None
            for s, dt, g in specs]


def _closure(side, opt, weights):
    """LBFGS's closure: a seeded quadratic plus quartic loss of every parameter that gets a gradient."""
    lib = side.lib

    def closure():
        opt.zero_grad()
        loss = lib.zeros((), dtype=side.params[0].real.dtype if side.params[0].is_complex() else side.params[0].dtype)
        for p, w in zip(side.params, weights):
            if w is None:
                continue
            d = (p - lib.tensor(w[0])).abs() ** 2
            loss = loss + (d * lib.tensor(w[1])).sum() + 0.1 * (d ** 2).sum()
        loss.backward()
        return loss
    return closure


# ---------------------------------------------------------------------------------------------- comparing
def _convert_kwargs(kwargs, torch, jtorch):
    return {k: to_j(v, jtorch, torch) for k, v in kwargs.items()}


def compare_values(j, t, torch, jtorch, where):
    """A difference between a jtorch value and torch's (tensors by compare(), containers by element), or None."""
    if isinstance(t, dict):
        if not isinstance(j, dict):
            return f"{where}: {type(j).__name__}, torch gives a dict"
        if set(map(str, j)) != set(map(str, t)):
            return f"{where}: keys {sorted(map(str, j))} != torch's {sorted(map(str, t))}"
        jm = {str(k): v for k, v in j.items()}
        for k, v in t.items():
            msg = compare_values(jm[str(k)], v, torch, jtorch, f"{where}[{k!r}]")
            if msg:
                return msg
        return None
    if isinstance(t, (list, tuple)):
        if not isinstance(j, (list, tuple)) or len(j) != len(t):
            return f"{where}: {j!r:.80} != torch's {t!r:.80}"
        for i, (a, b) in enumerate(zip(j, t)):
            msg = compare_values(a, b, torch, jtorch, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(t, torch.Tensor) or isinstance(t, (bool, int, float)):
        if isinstance(t, (bool, int, float)) and isinstance(j, jtorch.Tensor):
            return f"{where}: a Tensor, torch gives {type(t).__name__} {t}"
        msg = compare(j, t, torch, jtorch)
        return f"{where}: {msg}" if msg else None
    if t is None or isinstance(t, str):
        return None if j == t else f"{where}: {j!r} != torch's {t!r}"
    return None


def _compare_state(jo, to, torch, jtorch, where):
    jsd, tsd = jo.state_dict(), to.state_dict()
    return (compare_values(jsd["state"], tsd["state"], torch, jtorch, f"{where} state")
            or compare_values(jsd["param_groups"], tsd["param_groups"], torch, jtorch, f"{where} param_groups"))


def _compare_params(jside, tside, torch, jtorch, where):
    for i, (j, t) in enumerate(zip(jside.params, tside.params)):
        msg = compare(j.detach(), t.detach(), torch, jtorch)
        if msg:
            return f"{where} param {i} {tuple(t.shape)} {str(t.dtype)[6:]}: {msg}"
    return None


def _attempt(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - any exception torch raises is compared with jtorch's
        return None, e


def _same_raise(te, je, where):
    if te is None and je is None:
        return None
    if te is None:
        return f"{where}: jtorch raises {type(je).__name__}: {str(je)[:150]}"
    if je is None:
        return f"{where}: torch raises {type(te).__name__} ({str(te)[:120]}), jtorch does not"
    if type(je) is not type(te):
        return f"{where}: jtorch raises {type(je).__name__}: {str(je)[:100]}; torch {type(te).__name__}: {str(te)[:100]}"
    return None


def _quiet(fn):
    """fn with warnings silenced (torch's and jtorch's deprecation notes on these configs) and restored after."""
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return run


@_quiet
def run_config(info, config, steps=5, dtype="float32", seed=0):
    """Run one config through both libraries; the first difference as a string, or None when they agree
    (including both raising the same exception type at the same point)."""
    import torch

    import jtorch
    rng = np.random.default_rng(seed)
    kwargs = config.kwargs
    if info.step_requires_closure:
        # LBFGS's curvature history (ro = 1 / y.s) divides by differences of nearly equal float32 gradients:
        # its state is float32 rounding noise in both libraries, so it runs (and is compared) in float64
        dtype = "float64"
    specs = _param_specs(info, config, dtype)
    arrays = [_random(rng, shape, dt) for shape, dt, _ in specs]
    differentiable = bool(kwargs.get("differentiable"))
    tside = _Side(torch, arrays, differentiable)
    jside = _Side(jtorch, arrays, differentiable)
    tcls, jcls = info.optim_cls, getattr(jtorch.optim, info.name)
    jkwargs = _convert_kwargs(kwargs, torch, jtorch)
    to, te = _attempt(lambda: tcls(tside.params, **kwargs))
    jo, je = _attempt(lambda: jcls(jside.params, **jkwargs))
    if te is not None or je is not None:
        return _same_raise(te, je, "construction")
    sparse = info.only_supports_sparse_grads or config.kind == "sparse"
    closure_weights = _closure_weights(rng, specs) if info.step_requires_closure else None
    fresh = None
    for step in range(1, steps + 1):
        if info.step_requires_closure:
            tstep = lambda: to.step(_closure(tside, to, closure_weights))  # noqa: E731
            jstep = lambda: jo.step(_closure(jside, jo, closure_weights))  # noqa: E731
        else:
            grads = [None if not g else _sparse_rows(rng, s) if sparse else _random(rng, s, dt)
                     for s, dt, g in specs]
            tside.set_grads(grads)
            jside.set_grads(grads)
            tstep, jstep = to.step, jo.step
        tloss, te = _attempt(tstep)
        jloss, je = _attempt(jstep)
        if te is not None or je is not None:
            return _same_raise(te, je, f"step {step}")
        where = f"step {step}"
        msg = (_compare_params(jside, tside, torch, jtorch, where)
               or (compare_values(jloss, tloss, torch, jtorch, f"{where} loss") if tloss is not None else None)
               or _compare_state(jo, to, torch, jtorch, where))
        if msg:
            return msg
        if fresh is not None:  # the reloaded optimizer continues as the original
            fside, fo = fresh
            if info.step_requires_closure:
                fo.step(_closure(fside, fo, closure_weights))
            else:
                fside.set_grads(grads)
                fo.step()
            msg = _compare_params(fside, tside, torch, jtorch, f"reloaded, {where}") or \
                _compare_state(fo, to, torch, jtorch, f"reloaded, {where}")
            if msg:
                return msg
        if step == steps // 2:
            fresh, msg = _reload(jcls, jside, jo, jkwargs, jtorch)
            if msg:
                return msg
    if differentiable:
        return _compare_leaf_grads(tside, jside, torch, jtorch)
    return None


def _reload(jcls, jside, jo, jkwargs, jtorch):
    """A fresh jtorch optimizer over copies of the parameters, loaded from jo's state dict through
    jtorch.save/load."""
    buf = io.BytesIO()
    sd = jo.state_dict()
    if jkwargs.get("differentiable"):  # state in the graph of the steps: saved as a checkpoint would, detached
        sd = {"state": {k: {n: v.detach() if isinstance(v, jtorch.Tensor) else v for n, v in st.items()}
                        for k, st in sd["state"].items()}, "param_groups": sd["param_groups"]}
    jtorch.save(sd, buf)
    buf.seek(0)
    sd = jtorch.load(buf, weights_only=False)
    fside = _Side.__new__(_Side)
    fside.lib = jtorch
    fside.leaves = [p.detach().clone().requires_grad_() for p in jside.params]
    # (differentiable=True updates its parameters in place with autograd: non-leaf clones, as _Side's)
    fside.params = [w.clone() for w in fside.leaves] if jkwargs.get("differentiable") else fside.leaves
    fo = jcls(fside.params, **jkwargs)
    try:
        fo.load_state_dict(sd)
    except Exception as e:  # noqa: BLE001
        return None, f"load_state_dict of jtorch's own state dict raises {type(e).__name__}: {str(e)[:150]}"
    return (fside, fo), None


def _compare_leaf_grads(tside, jside, torch, jtorch):
    """differentiable=True: the gradient of the parameters' sum with respect to the leaves they started from."""
    def backward(side):
        loss = sum((p.real if p.is_complex() else p).sum() for p in side.params)
        loss.backward()
    _, te = _attempt(lambda: backward(tside))
    _, je = _attempt(lambda: backward(jside))
    if te is not None or je is not None:
        return _same_raise(te, je, "backward through the steps")
    for i, (j, t) in enumerate(zip(jside.leaves, tside.leaves)):
        if (j.grad is None) != (t.grad is None):
            return f"leaf {i} grad: jtorch {'None' if j.grad is None else 'set'}, torch {'None' if t.grad is None else 'set'}"
        if t.grad is not None:
            msg = compare(j.grad, t.grad, torch, jtorch)
            if msg:
                return f"leaf {i} grad through the steps: {msg}"
    return None


# ---------------------------------------------------------------------------------------------- errors
def error_cases(info):
    """torch's error inputs for CPU, and the CUDA-only ones (fused with foreach / differentiable), whose sample
    tensor is made on CPU here: they are argument checks torch makes on any device."""
    import torch
    cases = list(info.optim_error_inputs_func(device="cpu", dtype=torch.float32))
    if "fused" in info.supported_impls:
        descs = {c.optimizer_error_input.desc for c in cases}
        real_empty = torch.empty
        torch.empty = lambda *a, device=None, **k: real_empty(*a, **k)
        try:
            cuda = info.optim_error_inputs_func(device="cuda", dtype=torch.float32)
        finally:
            torch.empty = real_empty
        cases += [c for c in cuda if c.optimizer_error_input.desc not in descs]
    return cases


class _ParamConverter:
    """torch params arguments (tensors, Parameters, named tuples, param group dicts) as jtorch's, each
    tensor converted once (duplicates stay the same object), gradients included."""

    def __init__(self, torch, jtorch):
        self.torch, self.jtorch, self.memo = torch, jtorch, {}

    def __call__(self, x):
        torch, jtorch = self.torch, self.jtorch
        if isinstance(x, torch.Tensor):
            if id(x) not in self.memo:
                j = to_j(x, jtorch, torch) if not x.is_sparse else jtorch.sparse_coo_tensor(
                    to_j(x._indices(), jtorch, torch), to_j(x._values(), jtorch, torch), tuple(x.shape))
                j = jtorch.nn.Parameter(j) if isinstance(x, torch.nn.Parameter) else j.requires_grad_(x.requires_grad)
                if x.grad is not None:
                    j.grad = to_j(x.grad, jtorch, torch)
                self.memo[id(x)] = j
            return self.memo[id(x)]
        if isinstance(x, dict):
            return {k: self(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(self(v) for v in x)
        return x


def run_error(info, case):
    """The first difference for one ErrorOptimizerInput (torch checked to raise as declared), or None."""
    import torch
    from torch.testing._internal.common_optimizers import OptimizerErrorEnum

    import jtorch
    oi = case.optimizer_error_input
    conv = _ParamConverter(torch, jtorch)
    tparams = oi.params if oi.params is not None else [torch.nn.Parameter(torch.randn(2, 2))]
    jparams = conv(tparams)
    jkwargs = _convert_kwargs(oi.kwargs, torch, jtorch)
    on_step = case.error_on == OptimizerErrorEnum.STEP_ERROR

    def attempt(cls, params, kw):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt, e = _attempt(lambda: cls(params, **kw))
            if e is None and on_step:
                _, e = _attempt(opt.step)
        return e, [w for w in caught if issubclass(w.category, case.error_type)] \
            if issubclass(case.error_type, Warning) else []

    results = {}
    for lib, cls, params, kw in (("torch", info.optim_cls, tparams, oi.kwargs),
                                 ("jtorch", getattr(jtorch.optim, info.name), jparams, jkwargs)):
        e, caught = attempt(cls, params, kw)
        if issubclass(case.error_type, Warning):
            hit = [w for w in caught if re.search(case.error_regex, str(w.message))]
            results[lib] = None if hit else f"no {case.error_type.__name__} matching {case.error_regex!r}" + (
                f" (raises {type(e).__name__}: {str(e)[:100]})" if e is not None else "")
        elif e is None:
            results[lib] = f"does not raise {case.error_type.__name__}" + (" at step" if on_step else "")
        elif type(e) is not case.error_type:
            results[lib] = f"raises {type(e).__name__} ({str(e)[:100]}), not {case.error_type.__name__}"
        elif not re.search(case.error_regex, str(e)):
            results[lib] = f"message {str(e)[:150]!r} does not match {case.error_regex!r}"
        else:
            results[lib] = None
    if results["torch"]:
        return f"torch itself: {results['torch']}"
    return results["jtorch"]


# ---------------------------------------------------------------------------------------------- schedulers
def _rebind(fn, jtorch):
    """A scheduler lambda of optim_db (``lambda opt: StepLR(opt, ...)``) with its scheduler names bound to
    jtorch.optim.lr_scheduler's."""
    g = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        if hasattr(jtorch.optim.lr_scheduler, name):
            g[name] = getattr(jtorch.optim.lr_scheduler, name)
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


def scheduler_label(scheds):
    import dis
    names = []
    for f in scheds:
        calls = [i.argval for i in dis.get_instructions(f) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
        names.append(calls[0] if calls else "?")
    return "+".join(names)


@_quiet
def run_schedulers(info, scheds, steps=5, seed=0):
    """The optimizer's first CPU config with a combination of its LR schedulers stepped after each optimizer
    step (ReduceLROnPlateau with a seeded metric): parameters and learning rates compared."""
    import torch

    import jtorch
    rng = np.random.default_rng(seed)
    config = Config("scheduler", {})
    specs = _param_specs(info, config, "float32")
    arrays = [_random(rng, s, dt) for s, dt, _ in specs]
    tside, jside = _Side(torch, arrays, False), _Side(jtorch, arrays, False)
    to = info.optim_cls(tside.params)
    jo = getattr(jtorch.optim, info.name)(jside.params)
    ts = [f(to) for f in scheds]
    js = [_rebind(f, jtorch)(jo) for f in scheds]
    weights = _closure_weights(rng, specs) if info.step_requires_closure else None
    for step in range(1, steps + 1):
        if info.step_requires_closure:
            to.step(_closure(tside, to, weights))
            jo.step(_closure(jside, jo, weights))
        else:
            sparse = info.only_supports_sparse_grads
            grads = [None if not g else _sparse_rows(rng, s) if sparse else _random(rng, s, dt)
                     for s, dt, g in specs]
            tside.set_grads(grads)
            jside.set_grads(grads)
            to.step()
            jo.step()
        metric = float(rng.random())
        for t, j in zip(ts, js):
            if type(t).__name__ == "ReduceLROnPlateau":
                t.step(metric)
                j.step(metric)
            else:
                t.step()
                j.step()
        where = f"step {step}"
        msg = _compare_params(jside, tside, torch, jtorch, where)
        for i, (jg, tg) in enumerate(zip(jo.param_groups, to.param_groups)):
            msg = msg or compare_values(jg["lr"], tg["lr"], torch, jtorch, f"{where} group {i} lr")
        if msg:
            return msg
    return None


# ---------------------------------------------------------------------------------------------- report
def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--optims", default="", help="comma-separated optim_db names")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--dtypes", default="float32")
    p.add_argument("--verbose", action="store_true", help="print every config's result")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    totals = {"configs": [0, 0], "errors": [0, 0], "schedulers": [0, 0]}
    failures = []
    for info in optim_infos(set(filter(None, args.optims.split(",")))):
        counts = {k: [0, 0] for k in totals}
        results = []
        for dtype in args.dtypes.split(","):
            for config in optim_configs(info):
                results.append(("configs", f"{config.label} ({dtype})", _safe(run_config, info, config,
                                                                                args.steps, dtype)))
        for case in error_cases(info):
            results.append(("errors", case.optimizer_error_input.desc, _safe(run_error, info, case)))
        for scheds in info.scheduler_inputs:
            results.append(("schedulers", scheduler_label(scheds), _safe(run_schedulers, info, scheds, args.steps)))
        for kind, label, msg in results:
            counts[kind][0] += msg is None
            counts[kind][1] += 1
            if msg is not None:
                failures.append((info.name, kind, label, msg))
            if args.verbose:
                print(f"  {info.name} {kind} {label}: {msg or 'ok'}", flush=True)
        for k in totals:
            totals[k][0] += counts[k][0]
            totals[k][1] += counts[k][1]
        print(f"{info.name:11s} configs {counts['configs'][0]}/{counts['configs'][1]}  "
              f"errors {counts['errors'][0]}/{counts['errors'][1]}  "
              f"schedulers {counts['schedulers'][0]}/{counts['schedulers'][1]}", flush=True)
    print("total       " + "  ".join(f"{k} {v[0]}/{v[1]}" for k, v in totals.items()))
    if failures:
        print("\nfirst difference of each failing config:")
        for name, kind, label, msg in failures:
            print(f"  {name} {kind} '{label}': {msg}")


def _safe(fn, *args):
    """fn's result, or the exception the comparison itself ran into (a jtorch crash outside a compared call)."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        return f"comparison raised {type(e).__name__}: {str(e)[:150]}"


if __name__ == "__main__":
    main()
