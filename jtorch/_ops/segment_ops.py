"""torch.segment_reduce's kernel: reduce consecutive runs (segments) of ``data`` along one axis."""
import jax
import jax.numpy as jnp

from .._dispatch import defop


def _seg(fn, x, ids, n):
    return fn(x, ids, num_segments=n, indices_are_sorted=True)


@defop(method=False, function=False, promote=None)
def _segment_reduce(data, ids, initial, reduce="sum", num_segments=0, axis=0):
    """``ids[i]``: the segment of row ``i`` along ``axis`` (sorted). ``initial`` (or None) joins every segment."""
    x = jnp.moveaxis(data, axis, 0)
    n = num_segments
    count = _seg(jax.ops.segment_sum, jnp.ones(x.shape[:1], x.dtype), ids, n).reshape((n,) + (1,) * (x.ndim - 1))
    if reduce in ("sum", "mean"):
        out = _seg(jax.ops.segment_sum, x, ids, n)
        if initial is not None:
            out = out + initial
        if reduce == "mean":
            # torch: (sum + initial) / length, and an empty segment is ``initial`` (NaN without one)
            out = out / count if initial is None else jnp.where(count > 0, out / jnp.maximum(count, 1), initial)
    elif reduce in ("max", "min"):
        seg = jax.ops.segment_max if reduce == "max" else jax.ops.segment_min
        best = jax.lax.stop_gradient(_seg(seg, x, ids, n))
        # the gradient goes to the maxima, split evenly among ties, as in torch
        hit = (x == best[ids]).astype(x.dtype)
        ties = _seg(jax.ops.segment_sum, hit, ids, n)
        out = _seg(jax.ops.segment_sum, x * hit, ids, n) / jnp.where(ties > 0, ties, 1)
        empty = jnp.inf if reduce == "min" else -jnp.inf
        out = jnp.where(count > 0, out, empty).astype(x.dtype)
        if initial is not None:
            out = (jnp.maximum if reduce == "max" else jnp.minimum)(out, initial)
    elif reduce == "prod":
        out = _prod(x, ids, n)
        if initial is not None:
            out = out * initial
    else:
        raise RuntimeError(f"segment_reduce: unsupported reduction {reduce}")
    return jnp.moveaxis(out.astype(data.dtype), 0, axis)


def _prod(x, ids, n):
    """Segment product whose gradient is the product of the other elements, right at zeros too
    (jnp.prod's VJP; a scatter-multiply's would divide by the zero): one masked product per segment."""
    onehot = ids[None, :] == jnp.arange(n)[:, None]            # (n, L)
    shape = (n, x.shape[0]) + (1,) * (x.ndim - 1)
    vals = jnp.where(onehot.reshape(shape), x[None], jnp.ones((), x.dtype))
    return jnp.prod(vals, axis=1)
