"""torch.binomial's sampler (JAX's binomial sampler, keyed from a jtorch Generator)."""
import jax

from .._dispatch import defop


@defop(method=False, function=False, differentiable=False, promote=None)
def _binomial(key, count, prob):
    shape = jax.numpy.broadcast_shapes(count.shape, prob.shape)
    return jax.random.binomial(key, count, prob, shape, count.dtype)
