"""Samplers torch has as private ops (torch._standard_gamma, torch.binomial, ...), written as
jtorch ops over JAX's samplers. Each takes a key split off a jtorch Generator, so sampling
follows ``torch.manual_seed`` and is state under ``jtorch.compile``.

``_standard_gamma`` is differentiable in its concentration: JAX's gamma sampler carries an
implicit reparameterisation gradient (d sample / d alpha = -(dF/dalpha) / f at the sample),
which is what torch's ``_standard_gamma_grad`` computes too. The backward reruns the op on the
saved key, so it differentiates the very sample the forward returned."""
import jax
import jax.numpy as jnp

import jtorch as torch
from jtorch import random as _random
from jtorch._dispatch import defop


def _key(generator=None):
    return _random.next_key(generator)


@defop(method=False, function=False)
def _gamma(key, alpha):
    x = jax.random.gamma(key, alpha, alpha.shape, alpha.dtype)
    return jnp.maximum(x, jnp.finfo(alpha.dtype).tiny)  # torch clamps to the smallest normal number


@defop(method=False, function=False, differentiable=False)
def _binomial(key, count, prob):
    return jax.random.binomial(key, count, prob, prob.shape, prob.dtype)


@defop(method=False, function=False, differentiable=False)
def _multinomial_counts(key, probs, total_count=1):
    # total_count categorical draws per batch element, counted per category
    logits = jnp.log(probs)
    draws = jax.random.categorical(key, logits, axis=-1, shape=(total_count,) + probs.shape[:-1])
    return jax.nn.one_hot(draws, probs.shape[-1], dtype=probs.dtype).sum(0)


@defop(method=False, function=False, differentiable=False)
def _categorical(key, logits, n=1):
    # n draws per batch element: shape (n,) + logits.shape[:-1]
    return jax.random.categorical(key, logits, axis=-1, shape=(n,) + logits.shape[:-1]).astype(jnp.int64)


def categorical(logits, n, generator=None):
    return _categorical(_key(generator), logits.detach(), n=int(n))


def standard_gamma(alpha, generator=None):
    """Gamma(alpha, 1) samples of alpha's shape, with reparameterised gradients w.r.t. alpha."""
    return _gamma(_key(generator), alpha)


def binomial(count, prob, generator=None):
    count, prob = torch.broadcast_tensors(count.to(prob.dtype), prob)
    return _binomial(_key(generator), count.detach(), prob.detach())


def multinomial_counts(probs, total_count, generator=None):
    return _multinomial_counts(_key(generator), probs.detach(), total_count=int(total_count))
