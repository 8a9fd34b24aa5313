"""Scaled dot-product attention as one op (scores, mask, softmax, dropout, values).

``safe=True`` is torch's SDPA convention: a query row whose keys are all masked
out gives zeros (and zero gradient). ``safe=False`` is a plain softmax (NaN for
such rows), which ``multi_head_attention_forward`` uses when it returns weights.
"""
import math

import jax
import jax.numpy as jnp

from .. import random as R
from .._dispatch import GRAD, defop


def _weights_shape(query, key, attn_mask, groups):
    """The shape of the attention weights (batch dims broadcast; keys' heads repeated for GQA),
    or None where the shapes do not fit (the op itself then raises torch's error)."""
    q, k = tuple(query.shape), tuple(key.shape)
    if len(q) < 2 or len(k) < 2 or (groups > 1 and len(k) < 3):
        return None
    batch = [q[:-2], k[:-3] + (k[-3] * groups,) if groups > 1 else k[:-2]]
    if attn_mask is not None:
        batch.append(tuple(attn_mask.shape)[:-2])
    try:
        return tuple(jnp.broadcast_shapes(*batch)) + (q[-2], k[-2])
    except ValueError:
        return None


def _softmax(s, safe):
    m = jnp.max(s, axis=-1, keepdims=True)
    if safe:
        m = jnp.where(jnp.isneginf(m), 0, m)
        e = jnp.exp(s - jax.lax.stop_gradient(m))
        d = e.sum(-1, keepdims=True)
        return jnp.where(d == 0, 0, e / jnp.where(d == 0, 1, d))
    return jax.nn.softmax(s, axis=-1)


@defop(method=False, function=False, promote=None)
def _attention(query, key, value, attn_mask, rng, dropout_p, scale=None, is_causal=False, gqa_groups=1, safe=True,
               return_weights=False):
    if gqa_groups > 1:
        key = jnp.repeat(key, gqa_groups, axis=-3)
        value = jnp.repeat(value, gqa_groups, axis=-3)
    L, S = query.shape[-2], key.shape[-2]
    sc = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    # half types as torch's CPU kernel: scores, softmax and the product with value in float32, rounded once
    half = query.dtype in (jnp.float16, jnp.bfloat16)
    acc = jnp.float32 if half else None
    s = jnp.matmul(query, jnp.swapaxes(key, -1, -2), preferred_element_type=acc) * jnp.asarray(sc, acc or query.dtype)
    neg = jnp.asarray(-jnp.inf, s.dtype)
    if is_causal:
        s = jnp.where(jnp.tril(jnp.ones((L, S), bool)), s, neg)
    if attn_mask is not None:
        if attn_mask.dtype == jnp.bool_:
            s = jnp.where(attn_mask, s, neg)
        else:
            s = s + attn_mask.astype(s.dtype)
    p = _softmax(s, safe)
    if dropout_p is not None:
        # ``rng`` is a key, or the mask itself (drawn ahead so the backward does not redraw it)
        keep = rng if rng.dtype == jnp.bool_ else jax.random.bernoulli(R.typed_key(rng), 1 - dropout_p, p.shape)
        p = p * jnp.where(keep, 1 / (1 - dropout_p), 0).astype(p.dtype)
    out = jnp.matmul(p, value.astype(acc) if half else value).astype(value.dtype)
    p = p.astype(query.dtype)
    return (out, p) if return_weights else out


def attention(query, key, value, attn_mask=None, dropout_p=0.0, scale=None, is_causal=False, gqa_groups=1,
              safe=True, return_weights=False):
    """Call ``_attention``, drawing a dropout key from the default generator only when needed."""
    use = dropout_p is not None and dropout_p > 0
    rng = R.next_key(None, lazy=True) if use else None
    if use and GRAD.enabled and any(getattr(t, "requires_grad", False) for t in (query, key, value, attn_mask)) \
            and not query.is_meta and not query.is_nested:
        # (meta: the key goes in, no full-size mask is drawn on the CPU; nested: the weights' shape is ragged,
        # the nested kernel's dense attention draws the mask from the key)
        # with autograd, the dropout mask is drawn by its own op and passed in: the VJP then
        # reuses it instead of drawing the random bits again in the backward
        shape = _weights_shape(query, key, attn_mask, int(gqa_groups))
        if shape is not None:
            from .nn_ops import _dropout_keep
            rng = _dropout_keep(rng, p=float(dropout_p), shape=shape)
    return _attention(query, key, value, attn_mask, rng, float(dropout_p) if use else None,
                      scale=None if scale is None else float(scale), is_causal=bool(is_causal),
                      gqa_groups=int(gqa_groups), safe=bool(safe), return_weights=bool(return_weights))
