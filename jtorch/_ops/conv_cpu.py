"""The weight gradient of a convolution on XLA's CPU backend: a transposed im2col and one matmul.

XLA CPU runs the textbook weight gradient (a convolution over the batch) several times slower than
the same sum written as ``patches_t @ grad``, where ``patches_t`` (K * C, M) holds the input window
of every output position in a column (K kernel offsets, C input channels, M output positions) and
``grad`` (M, O) is the output gradient. Laid out this way the product is a plain (M, K) @ (K, N)
matmul, which XLA hands to its library kernel (YNNPACK): 2.9-3.5 CPU ms for the bench CNN's conv
32->64, where the (K, M)^T product of a channels-last im2col runs with Eigen in 4-6 ms
(docs/internals.md, "CNN lowerings on CPU", fourth round).

The convolution's weight tangent is ``patches_t^T @ dW`` (``patches_dot``). JAX's own transpose of
such a product puts the cotangent first (``grad^T @ patches_t^T``, which XLA again runs with Eigen,
5x slower), so ``patches_dot`` is a primitive whose transpose is written out as ``patches_t @ grad``.
"""
import jax
import jax.numpy as jnp
from jax import lax
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir


def conv_out_size(L, k, s, pad, d):
    return (L + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def patches_t(x, ksize, stride, padding, dilation):
    """Transposed im2col of channels-last x (N, *s, C): (K * C, N * prod(out)), rows in the order of
    a weight's (*k, I) axes (kernel offsets row-major, channels fastest), columns the output positions
    (batch, then spatial, row-major). Built channels-first, one kernel dimension at a time (the last
    first), each stage a concatenate of window slices along the leading axis, so that every piece is a
    run of contiguous rows: XLA CPU runs a concatenate along the channel (minor) axis as a slow
    per-element loop."""
    xt = jnp.moveaxis(x, -1, 0)  # (C, N, *s)
    # materialised channels-first: jtorch.compile's transpose sinking (_layout.py) would otherwise keep
    # the array channels-last and run the concatenates below along its minor axis
    xt = lax.optimization_barrier(xt)
    xt = jnp.pad(xt, ((0, 0), (0, 0)) + tuple(padding))
    out = [conv_out_size(L, k, s, p, d) for L, k, s, p, d in zip(x.shape[1:-1], ksize, stride, padding, dilation)]
    for d in reversed(range(len(ksize))):
        ax, s, m = 2 + d, stride[d], out[d]
        xt = jnp.concatenate([lax.slice_in_dim(xt, o * dilation[d], o * dilation[d] + s * (m - 1) + 1, s, ax)
                              for o in range(ksize[d])], 0)
    return xt.reshape(xt.shape[0], -1)


def _tn(a, b):
    """a^T @ b for 2-d a (K, M) and b (K, N)."""
    return lax.dot_general(a, b, (((0,), (0,)), ((), ())))


patches_dot_p = Primitive("jtorch_patches_dot")  # (cols (K, M), w (K, N)) -> cols^T @ w (M, N)
patches_dot_p.def_impl(_tn)
patches_dot_p.def_abstract_eval(lambda a, b: jax.core.ShapedArray((a.shape[1], b.shape[1]), jnp.result_type(a, b)))
mlir.register_lowering(patches_dot_p, mlir.lower_fun(_tn, multiple_results=False))
ad.defbilinear(patches_dot_p,
               lambda ct, a, b: lax.dot_general(b, ct, (((1,), (1,)), ((), ()))),  # d cols = w @ ct^T
               lambda ct, a, b: lax.dot(a, ct))  # d w = cols @ ct: the (K, M) @ (M, N) XLA runs fast


def _batch(args, dims):
    return jax.vmap(_tn, in_axes=dims)(*args), 0


batching.primitive_batchers[patches_dot_p] = _batch


def patches_dot(cols, w):
    """cols^T @ w (cols (K, M), w (K, N)), transposed in w as cols @ grad (see the module doc)."""
    return patches_dot_p.bind(cols, w)
