"""Run PyTorch's own module database (module_db) through jtorch and report where results differ.

    python scripts/conformance_modules.py [--modules Conv2d,nn.LSTM] [--dtypes float32,float64]
                                          [--max-samples N] [--no-grad] [--no-errors] [--verbose]

For every ModuleInfo whose class jtorch.nn has, each sample (seeded) builds torch's module with a fixed seed and
jtorch's with the same constructor arguments (converted by scripts/conformance.py's ``to_j``; a torch module
passed as an argument, such as TransformerEncoder's layer, is rebuilt from the arguments it was constructed
with), loads torch's state_dict into jtorch's, runs the forward inputs through both (training and eval when the
ModuleInfo says they differ) and compares outputs (values, shapes, dtypes) and the state after the forward
(running statistics). Then the backward of a seeded random grad_output per differentiable output, and the
gradients of the inputs and parameters are compared. module_error_inputs must raise the same exception type.
Random modules (FractionalMaxPool without fixed samples, dropout above 0 in training) compare shapes and dtypes
only. A development tool, not a test: it prints per-module pass counts and the first failure of each.
tests/nn/test_module_db.py runs a cheap subset through the same functions.
"""
import argparse
import copy
import functools
import inspect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from conformance import compare, to_j  # noqa: E402
from conformance_grad import _GRAD_TOL  # noqa: E402

SEED = 0


def module_name(info):
    return info.module_cls.__name__


def selected(module_db, jtorch, wanted=()):
    """The ModuleInfos of module_db whose class jtorch.nn has (filtered by ``wanted`` names, with or without
    the ``nn.`` prefix), and the names jtorch lacks."""
    wanted = {w.split(".")[-1] for w in wanted if w}
    infos, absent = [], []
    for info in module_db:
        name = module_name(info)
        if wanted and name not in wanted:
            continue
        if hasattr(jtorch.nn, name):
            infos.append(info)
        else:
            absent.append(name)
    return infos, absent


@functools.lru_cache(maxsize=None)
def _torch_module_classes():
    import torch
    return [c for c in vars(torch.nn).values()
            if inspect.isclass(c) and issubclass(c, torch.nn.Module) and "__init__" in vars(c)]


class _RecordConstructors:
    """While active, every torch.nn module built remembers its constructor arguments (``_ctor``), so that a
    module passed as a constructor argument can be rebuilt in jtorch."""

    def __enter__(self):
        self.saved = []
        for cls in _torch_module_classes():
            init = vars(cls)["__init__"]

            def recording(self_, *args, __init=init, **kwargs):
                if "_ctor" not in self_.__dict__:
                    object.__setattr__(self_, "_ctor", (args, kwargs))
                __init(self_, *args, **kwargs)
            functools.update_wrapper(recording, init)
            cls.__init__ = recording
            self.saved.append((cls, init))
        return self

    def __exit__(self, *exc):
        for cls, init in self.saved:
            cls.__init__ = init


def samples(info, dtype, training, torch, requires_grad=True, errors=False):
    """module_db's (seeded) ModuleInputs, or ErrorModuleInputs with ``errors``, for one dtype and mode."""
    func = info.module_error_inputs_func if errors else info.module_inputs_func
    if func is None:
        return []
    torch.manual_seed(SEED)
    with _RecordConstructors():
        return list(func(info, device="cpu", dtype=dtype, requires_grad=requires_grad, training=training))


def convert(x, torch, jtorch):
    """A constructor or forward argument in jtorch's terms: tensors, dtypes, devices through ``to_j``; a
    torch.nn.functional function as jtorch's of that name; a torch module as jtorch's, built from the same
    (converted) constructor arguments and carrying the same state."""
    if isinstance(x, torch.nn.Module) and "_ctor" in x.__dict__:
        args, kwargs = x._ctor
        m = getattr(jtorch.nn, type(x).__name__)(*convert(args, torch, jtorch), **convert(kwargs, torch, jtorch))
        m.load_state_dict(to_j(dict(x.state_dict()), jtorch, torch))
        return m
    if callable(x) and getattr(torch.nn.functional, getattr(x, "__name__", ""), None) is x:
        return getattr(jtorch.nn.functional, x.__name__)
    if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
        return type(x)(convert(v, torch, jtorch) for v in x)
    if isinstance(x, dict):
        return {k: convert(v, torch, jtorch) for k, v in x.items()}
    return to_j(x, jtorch, torch)


def _leaves(x, torch, out):
    if isinstance(x, torch.Tensor):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _leaves(v, torch, out)
    elif isinstance(x, dict):
        for v in x.values():
            _leaves(v, torch, out)
    return out


def _fresh(x, torch):
    """A copy of ``x`` whose tensors are new leaves (requiring grad as the originals do)."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone().requires_grad_(x.requires_grad)
    if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
        return type(x)(_fresh(v, torch) for v in x)
    if isinstance(x, dict):
        return {k: _fresh(v, torch) for k, v in x.items()}
    return copy.deepcopy(x)


def _forward_inputs(sample, torch, jtorch):
    """(torch args, torch kwargs, jtorch args, jtorch kwargs): fresh copies of the sample's forward input
    (in-place modules write to their input); torch leaves that require grad stay leaves that require grad
    on both sides."""
    fi = sample.forward_input
    t_args, t_kwargs = _fresh(fi.args, torch), _fresh(fi.kwargs, torch)
    j_args, j_kwargs = convert(t_args, torch, jtorch), convert(t_kwargs, torch, jtorch)
    for t, j in zip(_leaves((t_args, t_kwargs), torch, []), _leaves((j_args, j_kwargs), jtorch, [])):
        if t.requires_grad and t.is_leaf:
            j.requires_grad_(True)
    return t_args, t_kwargs, j_args, j_kwargs


def build(info, sample, dtype, training, torch, jtorch):
    """(torch module, jtorch module) for one sample: torch's seeded, in ``dtype`` and mode; jtorch's from
    the converted constructor arguments, same dtype and mode, with torch's state loaded (a lazy module's
    shapes come from one forward first)."""
    ci = sample.constructor_input
    torch.manual_seed(SEED)
    t_mod = info.module_cls(*ci.args, **ci.kwargs).to(dtype)
    j_mod = getattr(jtorch.nn, module_name(info))(*convert(ci.args, torch, jtorch),
                                                   **convert(ci.kwargs, torch, jtorch))
    j_mod = j_mod.to(convert(dtype, torch, jtorch))
    t_mod.train(training)
    j_mod.train(training)
    if info.is_lazy:
        t_args, t_kwargs, j_args, j_kwargs = _forward_inputs(sample, torch, jtorch)
        t_mod(*t_args, **t_kwargs)
        j_mod(*j_args, **j_kwargs)
    j_mod.load_state_dict(to_j(dict(t_mod.state_dict()), jtorch, torch))
    return t_mod, j_mod


def is_random(t_mod, torch):
    """Whether the module's output depends on its random stream: fractional max pooling without fixed
    samples, or dropout above 0 in training."""
    for m in t_mod.modules():
        if isinstance(m, (torch.nn.FractionalMaxPool2d, torch.nn.FractionalMaxPool3d)) and m._random_samples is None:
            return True
        if m.training and isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0:
            return True
        if m.training and isinstance(m, torch.nn.MultiheadAttention) and m.dropout > 0:
            return True
    return False


def _compare(j, t, torch, jtorch, values, tol=None):
    """scripts/conformance.py's compare, also requiring None where torch gives None."""
    if t is None:
        return None if j is None else f"result {type(j).__name__}, torch gives None"
    if isinstance(t, (list, tuple)) and isinstance(j, (list, tuple)) and len(j) == len(t):
        for a, b in zip(j, t):
            msg = _compare(a, b, torch, jtorch, values, tol)
            if msg:
                return msg
        return None
    rtol, atol = tol if tol else (None, None)
    return compare(j, t, torch, jtorch, rtol=rtol, atol=atol, values=values)


def check_sample(info, sample, dtype, training, torch, jtorch, grad=True):
    """None when jtorch's module agrees with torch's on this sample, else what differs."""
    t_mod, j_mod = build(info, sample, dtype, training, torch, jtorch)
    values = not is_random(t_mod, torch)
    t_args, t_kwargs, j_args, j_kwargs = _forward_inputs(sample, torch, jtorch)
    t_out = t_mod(*t_args, **t_kwargs)
    try:
        j_out = j_mod(*j_args, **j_kwargs)
    except Exception as e:
        return f"forward raises {type(e).__name__}: {str(e)[:120]}"
    msg = _compare(j_out, t_out, torch, jtorch, values)
    if msg:
        return f"output: {msg}"
    j_state, t_state = dict(j_mod.state_dict()), dict(t_mod.state_dict())
    if sorted(j_state) != sorted(t_state):
        return f"state_dict keys after forward {sorted(set(j_state) ^ set(t_state))}"
    for k in t_state:
        msg = _compare(j_state[k], t_state[k], torch, jtorch, values)
        if msg:
            return f"state {k} after forward: {msg}"
    if not grad:
        return None
    outs = [o for o in _leaves(t_out, torch, []) if o.requires_grad]
    if not outs:
        return None
    j_outs = [o for o in _leaves(j_out, jtorch, []) if o.requires_grad]
    if len(j_outs) != len(outs):
        return f"{len(j_outs)} outputs require grad, torch has {len(outs)}"
    g = torch.Generator().manual_seed(SEED + 1)
    grads = [torch.randn(o.shape, dtype=o.dtype, generator=g) for o in outs]
    torch.autograd.backward(outs, grads)
    try:
        jtorch.autograd.backward(j_outs, [to_j(x, jtorch, torch) for x in grads])
    except Exception as e:
        return f"backward raises {type(e).__name__}: {str(e)[:120]}"
    tol = _GRAD_TOL.get(str(dtype).split(".")[-1])
    return compare_grads(_leaves((t_args, t_kwargs), torch, []), _leaves((j_args, j_kwargs), jtorch, []),
                         t_mod, j_mod, torch, jtorch, values, tol)


def compare_grads(t_in, j_in, t_mod, j_mod, torch, jtorch, values, tol):
    """None when the gradients of the leaf inputs (``t_in``/``j_in``) and of the parameters agree, else the
    first difference."""
    for i, (t, j) in enumerate(zip(t_in, j_in)):
        if t.requires_grad and t.is_leaf:
            msg = _compare(j.grad, t.grad, torch, jtorch, values, tol)
            if msg:
                return f"grad of input {i}: {msg}"
    j_params = dict(j_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        if name not in j_params:
            return f"no parameter {name}"
        msg = _compare(j_params[name].grad, p.grad, torch, jtorch, values, tol)
        if msg:
            return f"grad of {name}: {msg}"
    return None


def check_error(info, error_input, torch, jtorch):
    """None when jtorch raises the exception type torch raises for this ErrorModuleInput, else what differs."""
    from torch.testing._internal.common_modules import ModuleErrorEnum
    sample = error_input.module_error_input
    ci = sample.constructor_input
    expected = error_input.error_type
    j_cls = getattr(jtorch.nn, module_name(info))
    try:
        j_mod = j_cls(*convert(ci.args, torch, jtorch), **convert(ci.kwargs, torch, jtorch))
        if error_input.error_on == ModuleErrorEnum.FORWARD_ERROR:
            _, _, j_args, j_kwargs = _forward_inputs(sample, torch, jtorch)
            j_mod(*j_args, **j_kwargs)
    except Exception as e:
        return None if isinstance(e, expected) else f"raises {type(e).__name__}, torch {expected.__name__}: {str(e)[:100]}"
    return f"no error, torch raises {expected.__name__}"


def modes(info):
    return (True, False) if info.train_and_eval_differ else (True,)


def run_module(info, dtypes, torch, jtorch, max_samples=None, grad=True, errors=True):
    """(agree, total, first difference) over the module's samples for ``dtypes`` and modes, then its error
    inputs (float32 only)."""
    ok = n = 0
    first = None

    def record(label, msg):
        nonlocal ok, n, first
        n += 1
        if msg is None:
            ok += 1
        elif first is None:
            first = f"{label}: {msg}"

    for dtype in dtypes:
        if dtype not in info.dtypes:
            continue
        for training in modes(info):
            mode = "train" if training else "eval"
            try:
                todo = samples(info, dtype, training, torch)
            except Exception:
                continue
            for i, s in enumerate(todo[:max_samples]):
                label = f"{str(dtype).split('.')[-1]} {mode} #{i}{' ' + s.desc if s.desc else ''}"
                try:
                    msg = check_sample(info, s, dtype, training, torch, jtorch, grad)
                except Exception as e:
                    msg = f"raises {type(e).__name__}: {str(e)[:120]}"
                record(label, msg)
    if errors:
        for i, e in enumerate(samples(info, torch.float32, True, torch, errors=True)[:max_samples]):
            try:
                msg = check_error(info, e, torch, jtorch)
            except Exception as exc:
                msg = f"script raises {type(exc).__name__}: {str(exc)[:120]}"
            record(f"error #{i}", msg)
    return ok, n, first


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--modules", default="", help="comma-separated module names (Conv2d or nn.Conv2d)")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--max-samples", type=int, default=None)
    p.add_argument("--no-grad", action="store_true", help="forward only")
    p.add_argument("--no-errors", action="store_true", help="skip module_error_inputs")
    p.add_argument("--verbose", action="store_true", help="print each module's result as it finishes")
    args = p.parse_args(argv)
    import warnings
    warnings.filterwarnings("ignore")
    import torch
    from torch.testing._internal.common_modules import module_db

    import jtorch
    dtypes = [getattr(torch, d) for d in args.dtypes.split(",")]
    infos, absent = selected(module_db, jtorch, args.modules.split(","))
    rows = []
    for info in infos:
        ok, n, first = run_module(info, dtypes, torch, jtorch, args.max_samples, not args.no_grad,
                                  not args.no_errors)
        rows.append((module_name(info), ok, n, first))
        if args.verbose:
            print(f"{module_name(info)}: {ok}/{n} {first or ''}", flush=True)
    total_ok, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = [f"# module_db conformance: {total_ok}/{total} samples agree "
             f"({sum(r[1] == r[2] for r in rows)}/{len(rows)} modules fully)", "",
             f"dtypes {args.dtypes}; module_db classes jtorch lacks: {', '.join(absent) or '-'}", "",
             "| module | agree | samples | first difference |", "|---|---:|---:|---|"]
    for name, ok, n, first in sorted(rows, key=lambda r: (r[1] == r[2], r[0])):
        lines.append(f"| {name} | {ok} | {n} | {(first or '').replace('|', '/')} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
