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
    return _random.next_key(generator, lazy=True)  # only passed on to sampling ops


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


@defop(method=False, function=False, differentiable=False)
def _von_mises(key, loc, concentration):
    # Best & Fisher (1979): wrapped-Cauchy proposal, vectorised rejection (each element loops until
    # accepted), computed in float64 for the small-concentration limit
    k = concentration.astype(jnp.float64)
    tau = 1 + jnp.sqrt(1 + 4 * k * k)
    rho = (tau - jnp.sqrt(2 * tau)) / (2 * k)
    r = jnp.where(k > 1e-5, (1 + rho * rho) / (2 * rho), 1 / k + k)

    def cond(state):
        return ~jnp.all(state[1])

    def body(state):
        kk, done, out = state
        kk, k1, k2, k3 = jax.random.split(kk, 4)
        u1 = jax.random.uniform(k1, k.shape, jnp.float64)
        u2 = jax.random.uniform(k2, k.shape, jnp.float64, minval=jnp.finfo(jnp.float64).tiny)
        u3 = jax.random.uniform(k3, k.shape, jnp.float64)
        z = jnp.cos(jnp.pi * u1)
        f = (1 + r * z) / (r + z)
        c = k * (r - f)
        ok = (c * (2 - c) - u2 > 0) | (jnp.log(c / u2) + 1 - c >= 0)
        theta = jnp.sign(u3 - 0.5) * jnp.arccos(jnp.clip(f, -1.0, 1.0))
        out = jnp.where(~done & ok, theta, out)
        return kk, done | ok, out

    _, _, theta = jax.lax.while_loop(cond, body, (key, jnp.zeros(k.shape, bool), jnp.zeros(k.shape, jnp.float64)))
    x = jnp.mod(theta + loc.astype(jnp.float64) + jnp.pi, 2 * jnp.pi) - jnp.pi
    return x.astype(loc.dtype)


def von_mises(loc, concentration, generator=None):
    loc, concentration = torch.broadcast_tensors(loc.detach(), concentration.detach())
    return _von_mises(_key(generator), loc, concentration)
