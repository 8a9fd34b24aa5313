"""torch.autograd.forward_ad: forward-mode AD with dual tensors (make_dual / unpack_dual inside a
dual_level).

While a level is open, ``_dispatch.apply`` (and the view road ``_dispatch._apply_view``) are swapped
for wrappers; outside one nothing here is on the eager path. An op with a dual input runs as usual,
then its output tangent is computed by one more op: ``jax.jvp`` of the op's pure function (the
tangents of plain inputs are zero), jitted and cached per (op, statics, dtype, dual positions) like
any op, and itself differentiable by the backward tape. A view op's tangent is the same view of the
input's tangent. Tangents live in a table keyed by the tensor, dropped when the level exits.

Differences from torch: one level at a time (as torch today); a custom ``autograd.Function``'s
``jvp`` staticmethod is not called (the tangent comes from the ops its ``forward`` runs, which is
the same where its ``jvp`` is right)."""
import weakref
from collections import namedtuple

import jax
import jax.numpy as jnp

from .. import _dispatch
from .._dispatch import OpDef

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]

_LEVEL = [-1]
_TANGENTS = {}  # id(tensor) -> (weakref to the tensor, its tangent Tensor)
_SAVED = []     # (apply, _apply_view, LAZY, Tensor._write) swapped out while a level is open
_JVPS = {}


class UnpackedDualTensor(namedtuple("UnpackedDualTensor", ["primal", "tangent"])):
    """The primal (a view without tangent) and the tangent (None if there is none) of a tensor."""


def _tangent_of(t):
    e = _TANGENTS.get(id(t))
    if e is not None and e[0]() is t:
        return e[1]
    return None


def _set_tangent(t, tangent):
    _TANGENTS[id(t)] = (weakref.ref(t), tangent)


def enter_dual_level():
    if _LEVEL[0] >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    from .. import _lazy
    if _dispatch.LAZY[0]:
        _lazy.flush()
    T = _dispatch.Tensor
    _SAVED.append((_dispatch.apply, _dispatch._apply_view, _dispatch.LAZY[0], T._write))
    _dispatch.LAZY[0] = False  # each op runs when called, through the wrappers below
    _dispatch.apply = _dual_apply
    _dispatch._apply_view = _dual_apply_view
    T._write = _dual_write
    _LEVEL[0] = 0
    return 0


def exit_dual_level(*, level=None):
    if level is None:
        level = _LEVEL[0]
    if level != _LEVEL[0] or level < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    _LEVEL[0] = -1
    _TANGENTS.clear()
    _dispatch.apply, _dispatch._apply_view, _dispatch.LAZY[0], _dispatch.Tensor._write = _SAVED.pop()


class dual_level:
    """Context manager (and decorator) for a forward AD level: tangents made inside are dropped at exit."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        return wrapper


def make_dual(tensor, tangent, *, level=None):
    if level is None:
        level = _LEVEL[0]
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    out = tensor.view_as(tensor)  # a view (aliasing ``tensor``) that carries the tangent
    _set_tangent(out, tangent)
    return out


def unpack_dual(tensor, *, level=None):
    if not isinstance(tensor, _dispatch.Tensor):
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent_of(tensor) if _LEVEL[0] >= 0 else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    # the primal: a view of the tensor without the tangent (made on the plain road)
    apply, view = _dispatch.apply, _dispatch._apply_view
    _dispatch.apply, _dispatch._apply_view = _SAVED[-1][0], _SAVED[-1][1]
    try:
        primal = tensor.view_as(tensor)
    finally:
        _dispatch.apply, _dispatch._apply_view = apply, view
    return UnpackedDualTensor(primal, tangent)


# ---------------------------------------------------------------- propagation
def _inexact(dtype):
    return jnp.issubdtype(dtype, jnp.inexact)


def _jvp_op(op, statics, dt, diff):
    """(*primals, *tangents of ``diff`` positions) -> the output tangent(s), as an op."""
    key = (op, statics, dt, diff)
    jop = _JVPS.get(key)
    if jop is not None:
        return jop
    fwd = op.pure(statics, dt)
    nprimals = len(op.dyn_idx)
    seq = op.seq

    def jvp(*flat):
        primals, tans = list(flat[:nprimals]), flat[nprimals:]
        f, args = _dispatch.of_diff_args(fwd, primals, diff, seq)
        tans = [jnp.asarray(t, a.dtype) for t, a in zip(tans, args)]
        out, tout = jax.jvp(f, tuple(args), tuple(tans))
        if isinstance(out, (tuple, list)):
            return tuple(t if _inexact(o.dtype) else jnp.zeros(o.shape, jnp.float32) for o, t in zip(out, tout))
        return tout if _inexact(out.dtype) else jnp.zeros(out.shape, jnp.float32)

    jop = _JVPS[key] = OpDef.raw(jvp, op.name + "_jvp", nprimals + len(diff), seq)
    return jop


def _arrays(dyn):
    T = _dispatch.Tensor
    out = []
    for a in dyn:
        if isinstance(a, T):
            out.append(a._value)
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], T):
            out.append(tuple(t._value for t in a))
        else:
            out.append(a)
    return out


def _dual_apply(op, dyn, statics, raw=False):
    apply = _SAVED[-1][0]
    res = apply(op, dyn, statics, raw)
    if not _TANGENTS or op.view is not None:  # (views: _dual_apply_view did it)
        return res
    T = _dispatch.Tensor
    diff, tans = [], []
    for i, a in enumerate(dyn):
        if isinstance(a, T):
            t = _tangent_of(a)
            if t is not None:
                diff.append((i, None))
                tans.append(t)
        elif op.seq and i == 0 and isinstance(a, (list, tuple)):
            for j, x in enumerate(a):
                t = _tangent_of(x) if isinstance(x, T) else None
                if t is not None:
                    diff.append((0, j))
                    tans.append(t)
    if not diff:
        return res
    dt = _dispatch.promote_dtype(op, dyn, _arrays(dyn)) if op.promote else None
    tout = apply(_jvp_op(op, statics, dt, tuple(diff)), [*dyn, *tans], ())
    if raw:  # an in-place write: the result becomes the first argument's value
        if isinstance(dyn[0], T) and (dyn[0].is_floating_point() or dyn[0].is_complex()):
            _write_tangent(dyn[0], tout)
        return res
    if isinstance(res, (tuple, list)):
        for r, t in zip(res, tout):
            if isinstance(r, T) and (r.is_floating_point() or r.is_complex()):
                _set_tangent(r, t)
    elif isinstance(res, T) and (res.is_floating_point() or res.is_complex()):
        _set_tangent(res, tout)
    return res


def _dual_apply_view(op, dyn, statics):
    view = _SAVED[-1][1]
    res = view(op, dyn, statics)
    t = _tangent_of(dyn[0]) if _TANGENTS else None
    if t is not None:
        tout = view(op, [t, *dyn[1:]], statics)
        if isinstance(res, (tuple, list)):
            for r, tt in zip(res, tout):
                _set_tangent(r, tt)
        else:
            _set_tangent(res, tout)
    return res


def _write_tangent(target, tangent):
    """``target`` was overwritten by a value whose tangent is ``tangent``: a view's write goes
    through to its base, whose tangent takes ``tangent`` at the view's elements."""
    _set_tangent(target, tangent)
    base = target._base
    if base is None:
        return
    from .._ops.indexing import view_scatter
    from .._ops.creation import zeros_like
    tb = _tangent_of(base)
    if tb is None:
        tb = zeros_like(base)
    new = _SAVED[-1][0](view_scatter, [tb, tangent.to(tb.dtype), _dispatch.chain_args(target._avfn)],
                        (_dispatch.chain_structure(target._avfn),))
    _set_tangent(base, new)


def _dual_write(self, new, same_dtype=False):
    res = _SAVED[-1][3](self, new, same_dtype)
    tn = _tangent_of(new)
    root = self._base if self._base is not None else self
    if tn is None and _tangent_of(root) is None:
        return res
    if tn is None:
        from .._ops.creation import zeros_like
        tn = zeros_like(self)
    elif tuple(tn.shape) != tuple(self.shape):
        tn = tn.expand(self.shape)
    _write_tangent(self, tn)
    return res
