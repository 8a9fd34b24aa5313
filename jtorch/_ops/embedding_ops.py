"""Embedding lookups, bags and one-hot encoding (kernels for ``nn.functional.sparse``),
plus ``normalize``. Index checks with torch's messages are done by the callers."""
import jax
import jax.numpy as jnp

from .._dispatch import defop, round_to


def _freq_scaled(rows, idx, num):
    """Same value as ``rows``; each row's gradient divided by how often its index occurs
    (torch's ``scale_grad_by_freq``)."""
    counts = jnp.zeros((num,), rows.dtype).at[idx.ravel()].add(1)
    scale = counts[idx][..., None]
    sg = jax.lax.stop_gradient(rows)
    return sg + (rows - sg) / scale


@defop(method=False, function=False, promote=None, saves=("input",))  # (torch keeps the indices only)
def _embedding(input, weight, padding_idx=None, scale_grad_by_freq=False):
    idx = input.astype(jnp.int32)
    rows = jnp.take(weight, idx, axis=0)
    if scale_grad_by_freq:
        rows = _freq_scaled(rows, idx, weight.shape[0])
    if padding_idx is not None:
        # the padding row gets no gradient
        rows = jnp.where((idx == padding_idx)[..., None], jax.lax.stop_gradient(rows), rows)
    return rows


@defop(method=False, function=False, differentiable=False)
def _embedding_renorm(weight, input, max_norm=1.0, norm_type=2.0):
    """weight with the rows referenced by ``input`` rescaled to norm <= max_norm."""
    idx = input.astype(jnp.int32).ravel()
    used = jnp.zeros((weight.shape[0],), bool).at[idx].set(True)
    a = jnp.abs(weight)
    if norm_type == float("inf"):
        norms = a.max(-1)
    else:
        norms = (a ** norm_type).sum(-1) ** (1.0 / norm_type)
    scale = jnp.where(used & (norms > max_norm), max_norm / (norms + 1e-7), 1.0).astype(weight.dtype)
    return weight * scale[:, None]


@defop(method=False, function=False, promote=None)
def _embedding_bag(input, weight, offsets, per_sample_weights, mode="mean", padding_idx=None, num_bags=0,
                   scale_grad_by_freq=False):
    idx = input.astype(jnp.int32).ravel()
    m = idx.shape[0]
    bag = jnp.searchsorted(offsets.astype(jnp.int32), jnp.arange(m, dtype=jnp.int32), side="right") - 1
    rows = jnp.take(weight, idx, axis=0)
    half = weight.dtype in (jnp.float16, jnp.bfloat16) and mode != "max"
    if half:  # sums (and weights, means) in float32, rounded once, as torch's CPU kernel
        rows = rows.astype(jnp.float32)
    if scale_grad_by_freq:
        rows = _freq_scaled(rows, idx, weight.shape[0])
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.ravel()[:, None].astype(rows.dtype)
    valid = (idx != padding_idx) if padding_idx is not None else jnp.ones((m,), bool)
    count = jax.ops.segment_sum(valid.astype(rows.dtype), bag, num_bags)
    if mode == "max":
        neg = jnp.asarray(-jnp.inf, rows.dtype)
        out = jax.ops.segment_max(jnp.where(valid[:, None], rows, neg), bag, num_bags)
        return jnp.where(count[:, None] > 0, out, 0)
    out = jax.ops.segment_sum(jnp.where(valid[:, None], rows, 0), bag, num_bags)
    if mode == "mean":
        out = out / jnp.maximum(count, 1)[:, None]
    return out.astype(weight.dtype) if half else out


@defop(method=False, function=False, differentiable=False)
def _one_hot(input, num_classes=0):
    return (input[..., None] == jnp.arange(num_classes, dtype=input.dtype)).astype(jnp.int64)


def _safe_norm(x, p, dim):
    """||x||_p along ``dim`` (keepdim) whose gradient at an all-zero slice is 0, as torch's."""
    a = jnp.sign(x) * x   # |x| with torch's derivative sign(0) = 0 (jnp.abs has 1 there)
    if jnp.iscomplexobj(x):  # linalg.vector_norm's (|z| is not sign(z) * z there)
        from .linalg_ops import _vnorm
        return _vnorm(float(p), dim, True)(x)
    if p == float("inf"):
        return a.max(dim, keepdims=True)
    if p == 0:
        return (a != 0).sum(dim, keepdims=True).astype(x.dtype)
    s = (a ** p).sum(dim, keepdims=True)
    nz = s > 0
    return jnp.where(nz, jnp.where(nz, s, 1) ** (1.0 / p), 0)


@defop(method=False, function=False, promote=None)
def _normalize(input, p=2.0, dim=1, eps=1e-12):
    if input.dtype in (jnp.float16, jnp.bfloat16):
        # torch: the norm (accumulated in float32) and its clamp are half tensors, then one division
        x = input.astype(jnp.float32)
        n = round_to(jnp.maximum(round_to(_safe_norm(x, p, dim), input.dtype), eps), input.dtype)
        return (x / n).astype(input.dtype)
    return input / jnp.maximum(_safe_norm(input, p, dim), eps)
