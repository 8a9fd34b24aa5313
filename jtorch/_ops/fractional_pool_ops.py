"""Fractional max pooling (Graham, 2014): max over windows whose start positions follow a pseudo-random
sequence, so the output size need not divide the input size.

For one spatial dim with input size L, pool size k and output size o, a sample u in [0, 1) gives the window
starts ``floor((i + u) * a) - floor(u * a)`` for i < o - 1 with ``a = (L - k) / (o - 1)``, and ``L - k`` for the
last window. Each (batch, channel) pair has its own sample per dim (torch's ``_random_samples``, shape (N, C, n)).
"""
import math

import jax.numpy as jnp

from .._dispatch import defop


def _starts(u, L, k, o):
    """Window starts (..., o) for samples u (...)."""
    last = jnp.full(u.shape + (1,), L - k, jnp.int64)
    if o == 1:
        return last
    a = jnp.asarray(L - k, u.dtype) / jnp.asarray(o - 1, u.dtype)  # in the samples' precision, as torch
    i = jnp.arange(o - 1, dtype=u.dtype)
    s = jnp.floor((i + u[..., None]) * a) - jnp.floor(u[..., None] * a)
    return jnp.concatenate([s.astype(jnp.int64), last], -1)


# which sample drives which spatial dim: 2d uses sample 0 for width and 1 for height, 3d samples 0, 1, 2 for
# time, height, width (torch's layout of _random_samples)
_SAMPLE_OF = {2: (1, 0), 3: (0, 1, 2)}


@defop(promote=None, method=False, function=False)
def _fractional_max_pool(input, samples, kernel=(1, 1), osize=(1, 1)):
    n = len(kernel)
    N, C = input.shape[:2]
    sp = input.shape[2:]
    # flat position (in the N, C plane) of every element of every window: (N, C, *out, *kernel)
    flat = jnp.zeros((N, C) + (1,) * (2 * n), jnp.int64)
    for d in range(n):
        pos = _starts(samples[..., _SAMPLE_OF[n][d]], sp[d], kernel[d], osize[d])[..., :, None] + jnp.arange(kernel[d])
        shape = [N, C] + [1] * (2 * n)
        shape[2 + d], shape[2 + n + d] = osize[d], kernel[d]
        flat = flat * sp[d] + pos.reshape(shape)
    flat = jnp.broadcast_to(flat, (N, C) + tuple(osize) + tuple(kernel)).reshape(
        (N, C) + tuple(osize) + (math.prod(kernel),))  # sizes spelled out: -1 is undefined for an empty batch
    x = input.reshape(N, C, math.prod(sp))
    win = jnp.take_along_axis(x, flat.reshape(N, C, math.prod(flat.shape[2:])), axis=-1).reshape(flat.shape)
    key = jnp.where(jnp.isnan(win), jnp.inf, win) if jnp.issubdtype(win.dtype, jnp.floating) else win
    arg = jnp.argmax(key, axis=-1)[..., None]  # the first maximum; NaN counts as the maximum, as in torch
    return jnp.take_along_axis(win, arg, -1)[..., 0], jnp.take_along_axis(flat, arg, -1)[..., 0]
