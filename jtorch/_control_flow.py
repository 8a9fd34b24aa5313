"""torch.cond and torch.while_loop.

Eagerly (a concrete predicate) they are plain Python control flow, so autograd sees the branch
that ran. Under jtorch.compile the predicate is a traced value: cond becomes one jax.lax.cond
(both branches in the program, gradients through a custom Function whose backward is the VJP of
that cond with respect to the operands) and while_loop one jax.lax.while_loop. Tensors that a
branch closes over (e.g. parameters) are read by the traced program like any other state, but
only the operands get gradients through a traced cond.
"""
import jax

from . import _dispatch
from .autograd import no_grad
from .autograd.function import Function

__all__ = ["cond", "while_loop"]


def _T():
    return _dispatch.Tensor


def _traced(v):
    return isinstance(v, jax.core.Tracer)


def _leaves(operands, name):
    flat, tree = jax.tree_util.tree_flatten(list(operands))
    for x in flat:
        if not isinstance(x, (_T(), int, float, bool)):
            raise RuntimeError(f"Expect {name} to be a tuple of possibly nested dict/list/tuple that only consists "
                               f"of tensor leaves, but got {x!r}.")
    return flat, tree


def _as_array(x):
    return x._value if isinstance(x, _T()) else jax.numpy.asarray(x)


def _pure(fn, tree, n_out=None):
    """``fn`` over Tensors as a function of jax arrays (run without recording autograd)."""
    def run(*arrays):
        args = jax.tree_util.tree_unflatten(tree, [_T()._wrap(a) for a in arrays])
        with no_grad():
            out = fn(*args)
        flat, out_tree = jax.tree_util.tree_flatten(out)
        run.out_tree = out_tree
        return tuple(_as_array(o) for o in flat)
    return run


def _pred_value(pred):
    if isinstance(pred, _T()):
        if pred.numel() != 1:
            raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
        return pred._value.reshape(())
    if isinstance(pred, (bool, int, float)):
        return pred
    raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred!r}.")


class _TracedCond(Function):
    @staticmethod
    def forward(ctx, pred, tf, ff, *operands):
        def branches(*a):
            return jax.lax.cond(pred, tf, ff, *a)
        out, ctx.vjp = jax.vjp(branches, *[o._value for o in operands])
        return tuple(_T()._wrap(o) for o in out)

    @staticmethod
    def backward(ctx, *grads):
        gs = ctx.vjp(tuple(g._value for g in grads))
        return (None, None, None) + tuple(_T()._wrap(g) for g in gs)


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``; ``pred`` a bool or a
    one-element tensor."""
    p = _pred_value(pred)
    if not isinstance(operands, (tuple, list)):
        raise RuntimeError("Expect operands to be a tuple of possibly nested dict/list/tuple that only consists "
                           f"of tensor leaves, but got {operands}.")
    if not _traced(p):
        return true_fn(*operands) if bool(p) else false_fn(*operands)
    flat, tree = _leaves(operands, "operands")
    tensors = [x if isinstance(x, _T()) else _T()._wrap(jax.numpy.asarray(x)) for x in flat]
    tf, ff = _pure(true_fn, tree), _pure(false_fn, tree)
    jax.eval_shape(tf, *[t._value for t in tensors])  # learns the output structure (tf.out_tree)
    out = _TracedCond.apply(p.astype(bool), tf, ff, *tensors)
    return jax.tree_util.tree_unflatten(tf.out_tree, list(out if isinstance(out, tuple) else (out,)))


def while_loop(cond_fn, body_fn, carried_inputs):
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)``; returns the final carry."""
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError("carried_inputs must be a tuple or list, got " + type(carried_inputs).__name__)
    flat, tree = _leaves(carried_inputs, "carried_inputs")
    if not any(isinstance(x, _T()) and _traced(x._value) for x in flat):
        carry, out = tuple(carried_inputs), tuple(carried_inputs)
        while True:
            c = cond_fn(*carry)
            if isinstance(c, _T()) and c.numel() != 1:
                raise RuntimeError(f"Expected cond_fn to return a scalar tensor or a bool but got {list(c.shape)}")
            if not bool(c):
                return out
            out = body_fn(*carry)
            carry = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(carry) != len(carried_inputs):
                raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same number of outputs but "
                                   f"got {len(carry)} and {len(carried_inputs)}")
            for new, old in zip(carry, carried_inputs):
                if isinstance(old, _T()) and (not isinstance(new, _T()) or new.shape != old.shape
                                              or new.dtype != old.dtype):
                    raise RuntimeError("Expected body_fn_output and carried_inputs to have same metadata but found "
                                       f"{new!r} and {old!r}")
    if any(isinstance(x, _T()) and x.requires_grad for x in flat) and _dispatch.GRAD.enabled:
        raise RuntimeError("torch.while_loop under jtorch.compile does not support autograd on carried_inputs")
    arrays = tuple(_as_array(x) for x in flat)
    cf, bf = _pure(cond_fn, tree), _pure(body_fn, tree)

    def c(a):
        r = cf(*a)
        if len(r) != 1 or r[0].size != 1:
            raise RuntimeError("Expected cond_fn to return a scalar tensor or a bool")
        return r[0].reshape(()).astype(bool)

    def b(a):
        r = bf(*a)
        if len(r) != len(a):
            raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same number of outputs but got "
                               f"{len(r)} and {len(a)}")
        for x, y in zip(r, a):
            if x.shape != y.shape or x.dtype != y.dtype:
                raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same metadata but found "
                                   f"{x.shape}/{x.dtype} vs {y.shape}/{y.dtype}")
        return tuple(r)
    out = jax.lax.while_loop(c, b, arrays)
    res = jax.tree_util.tree_unflatten(tree, [_T()._wrap(o) for o in out])
    return tuple(res)
