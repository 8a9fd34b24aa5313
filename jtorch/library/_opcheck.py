"""torch.library.opcheck: basic consistency checks of a custom operator on sample inputs.

- test_schema: arguments the schema does not mark as written keep their values, and the results do not alias
  the inputs;
- test_autograd_registration: with inputs that require grad, the op has a gradient formula (or a
  differentiable composite kernel);
- test_faketensor: the fake kernel's shapes and dtypes match the real results;
- test_aot_dispatch_dynamic: the op under ``jax.jit`` (the traced path jtorch.compile takes) gives the
  eager results."""
import numpy as np

from .. import _dispatch

DEFAULT_TESTS = ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")


class OpCheckError(Exception):
    pass


def _entry(op):
    from . import _entry_of
    return _entry_of(op)


def _map(v, f):
    T = _dispatch.Tensor
    if isinstance(v, T):
        return f(v)
    if isinstance(v, (list, tuple)):
        return type(v)(_map(x, f) for x in v)
    if isinstance(v, dict):
        return {k: _map(x, f) for k, x in v.items()}
    return v


def _tensors(v):
    T = _dispatch.Tensor
    if isinstance(v, T):
        return [v]
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in _tensors(x)]
    if isinstance(v, dict):
        return [t for x in v.values() for t in _tensors(x)]
    return []


def _clone(v):
    return _map(v, lambda t: t.detach().clone().requires_grad_(t.requires_grad))


def _close(a, b, atol, rtol):
    a, b = np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy())
    return a.shape == b.shape and np.allclose(a, b, atol=atol or 1e-5, rtol=rtol or 1.3e-6, equal_nan=True)


def _schema_test(op, entry, args, kwargs, atol, rtol):
    from ._schema import bind
    a2, k2 = _clone(args), _clone(kwargs)
    vals = bind(entry.schema, a2, k2)
    before = [_map(v, lambda t: t.detach().clone()) for v in vals]
    out = op(*a2, **k2)
    for arg, old, new in zip(entry.schema.arguments, before, vals):
        if arg.is_write:
            continue
        for o, n in zip(_tensors(old), _tensors(new)):
            if not _close(o, n, 0, 0):
                raise OpCheckError(f"{entry.key}: argument '{arg.name}' was modified in place but the schema does "
                                   "not mark it as mutated (add it to mutates_args)")
    ins = {id(t._st) for t in _tensors(vals)}
    for o in _tensors(out):
        if id(o._st) in ins:
            raise OpCheckError(f"{entry.key}: a result aliases an input")
    return out


def _autograd_test(op, entry, args, kwargs):
    ins = _tensors((args, kwargs))
    if not any(t.requires_grad for t in ins):
        return
    if entry.custom and entry.autograd is None and "implicit" not in entry.kernels \
            and "autograd" not in entry.kernels:
        raise OpCheckError(f"{entry.key}: inputs require grad but no autograd formula was registered "
                           "(use register_autograd)")


def _fake_test(op, entry, args, kwargs, real):
    import jtorch
    meta = _map((args, kwargs), lambda t: jtorch.empty(t.shape, dtype=t.dtype, device="meta"))
    fake = op(*meta[0], **meta[1])
    rs, fs = _tensors(real), _tensors(fake)
    if len(rs) != len(fs):
        raise OpCheckError(f"{entry.key}: the fake kernel returned {len(fs)} tensors, the kernel {len(rs)}")
    for r, f in zip(rs, fs):
        if tuple(r.shape) != tuple(f.shape) or r.dtype != f.dtype:
            raise OpCheckError(f"{entry.key}: the fake kernel gives {tuple(f.shape)} {f.dtype}, the kernel "
                               f"{tuple(r.shape)} {r.dtype}")


def _traced_test(op, entry, args, kwargs, real, atol, rtol):
    import jax
    T = _dispatch.Tensor
    a2, k2 = _clone(args), _clone(kwargs)
    leaves = _tensors((a2, k2))

    def program(*arrays):
        it = iter([T._wrap(a) for a in arrays])
        a3, k3 = _map((a2, k2), lambda t: next(it))
        with _dispatch_no_grad():
            out = op(*a3, **k3)
        return [t._value for t in _tensors(out)]

    outs = jax.jit(program)(*[t.detach()._value for t in leaves])
    for r, o in zip(_tensors(real), outs):
        if not _close(r, T._wrap(o), atol, rtol):
            raise OpCheckError(f"{entry.key}: the traced (compiled) op gives different values than eager")


class _dispatch_no_grad:
    def __enter__(self):
        self.prev = _dispatch.GRAD.enabled
        _dispatch.GRAD.enabled = False

    def __exit__(self, *exc):
        _dispatch.GRAD.enabled = self.prev


def opcheck(op, args, kwargs=None, *, test_utils=DEFAULT_TESTS, raise_exception=True, atol=None, rtol=None):
    """Run the checks in ``test_utils`` on ``op(*args, **kwargs)``; a dict test -> 'SUCCESS' or the error."""
    kwargs = kwargs or {}
    if isinstance(test_utils, str):
        test_utils = (test_utils,)
    for t in test_utils:
        if t not in DEFAULT_TESTS:
            raise ValueError(f"test_utils={t!r} is not supported; choose from {list(DEFAULT_TESTS)}")
    entry = _entry(op)
    results, real = {}, None
    for name in test_utils:
        try:
            if name == "test_schema":
                real = _schema_test(op, entry, args, kwargs, atol, rtol)
            else:
                if real is None:
                    real = op(*_clone(args), **_clone(kwargs))
                if name == "test_autograd_registration":
                    _autograd_test(op, entry, args, kwargs)
                elif name == "test_faketensor":
                    _fake_test(op, entry, args, kwargs, real)
                else:
                    _traced_test(op, entry, args, kwargs, real, atol, rtol)
            results[name] = "SUCCESS"
        except Exception as e:
            if raise_exception:
                if isinstance(e, OpCheckError):
                    raise
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e} (scroll up for stack trace)") from e
            results[name] = e
    return results
