"""Loss kernels for ``jtorch.nn.functional``: each loss is one jitted op (forward
and its VJP fused by XLA), with the reduction as a static parameter.

``reduction`` is 'none' | 'mean' | 'sum' (already validated by the caller).
Argument checks with torch's messages live in ``nn/functional/loss.py``.
"""
import jax
import jax.numpy as jnp
import numpy as np

from .._dispatch import defop, round_to

_NEG = -1e30  # "log 0" that keeps gradients finite inside the CTC recursion


def _reduce(loss, reduction):
    if reduction == "mean":
        return jnp.mean(loss)
    if reduction == "sum":
        return jnp.sum(loss)
    return loss


def _is_tracer(a):
    return isinstance(a, jax.core.Tracer)


def _no_value_check(t):
    """Value checks (class targets in range, probabilities in [0, 1], ...) read the data back
    to the host. Skip them while tracing and off the CPU: torch's CUDA kernels check with an
    asynchronous device assert rather than a synchronous error, so a sync there would only
    cost throughput. A meta tensor has no values to check."""
    return t.numel() == 0 or t.is_meta or _is_tracer(t._value) or t.device.type != "cpu"


# ---------------------------------------------------------------- target checks
@defop(method=False, function=False, differentiable=False)
def _first_bad_target(target, n=0, ignore_index=-100):
    """(any out-of-range class, the first such value) over a flat target."""
    t = target.ravel()
    bad = ((t < 0) | (t >= n)) & (t != ignore_index)
    i = jnp.argmax(bad)
    return jnp.any(bad), t[i]


def _host_view(t):
    """The values on the host when they are already computed (no wait for queued work), else None.
    Checking a ready target (straight from a DataLoader) in numpy keeps the device queue flowing:
    a jitted check would wait for everything dispatched before it (the whole forward pass)."""
    a = t._value
    try:
        return np.asarray(a) if a.is_ready() else None
    except Exception:
        return None


def check_class_targets(target, n, ignore_index=-100):
    """torch's IndexError for class indices outside [0, n) (skipped while tracing)."""
    if _no_value_check(target):
        return
    h = _host_view(target)
    if h is not None:
        bad = ((h < 0) | (h >= n)) & (h != ignore_index)
        if bad.any():
            raise IndexError(f"Target {int(h.ravel()[np.argmax(bad.ravel())])} is out of bounds.")
        return
    anybad, v = _first_bad_target(target, n=n, ignore_index=ignore_index)
    if bool(anybad):
        raise IndexError(f"Target {int(v)} is out of bounds.")


@defop(method=False, function=False, differentiable=False)
def _min_max(x):
    return jnp.min(x), jnp.max(x)


def concrete_min_max(x):
    """(min, max) as Python numbers, or None when values are not checked (see _no_value_check)."""
    if _no_value_check(x):
        return None
    h = _host_view(x)
    if h is not None:
        return h.min().item(), h.max().item()
    lo, hi = _min_max(x)
    return lo.item(), hi.item()


# ---------------------------------------------------------------- classification
def _class_last(x):
    """(N, C, d1, ...) -> (N, d1, ..., C); (C,) stays."""
    return x if x.ndim == 1 else jnp.moveaxis(x, 1, -1)


def _nll_core(logp, target, weight, ignore_index):
    """Per-element loss and per-element weight (0 where ignored), class dim last."""
    valid = target != ignore_index
    t = jnp.where(valid, target, 0).astype(jnp.int32)
    picked = jnp.take_along_axis(logp, t[..., None], axis=-1)[..., 0]
    w = jnp.ones_like(picked) if weight is None else weight.astype(logp.dtype)[t]
    w = jnp.where(valid, w, 0)
    return -picked * w, w, valid


def _weighted_mean(total, weight_sum):
    """total / weight_sum; when every target is ignored (weight_sum 0) the value is torch's 0/0 = nan and the
    gradient is 0, not jax's 0 * inf = nan."""
    none = weight_sum == 0
    return jnp.where(none, jax.lax.stop_gradient(total / weight_sum), total / jnp.where(none, 1, weight_sum))


@defop(method=False, function=False, promote=None)
def _nll_loss(input, target, weight, ignore_index=-100, reduction="mean"):
    loss, w, _ = _nll_core(_class_last(input), target, weight, ignore_index)
    if reduction == "mean":
        return _weighted_mean(jnp.sum(loss), jnp.sum(w))
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote=None, saves=("target", "weight"), saves_hidden=True)
def _cross_entropy_index(input, target, weight, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    logp = jax.nn.log_softmax(_class_last(input), axis=-1)
    loss, w, valid = _nll_core(logp, target, weight, ignore_index)
    if label_smoothing <= 0:
        if reduction == "mean":
            return _weighted_mean(jnp.sum(loss), jnp.sum(w))
        return _reduce(loss, reduction)
    c = logp.shape[-1]
    # smoothing term: cross entropy against the uniform distribution (class-weighted)
    smooth = -(logp if weight is None else logp * weight.astype(logp.dtype)).sum(-1)
    smooth = jnp.where(valid, smooth, 0)
    eps = label_smoothing
    if reduction == "mean":
        return _weighted_mean((1 - eps) * jnp.sum(loss) + eps / c * jnp.sum(smooth), jnp.sum(w))
    return _reduce((1 - eps) * loss + eps / c * smooth, reduction)


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _cross_entropy_prob(input, target, weight, reduction="mean", label_smoothing=0.0):
    logp = jax.nn.log_softmax(_class_last(input), axis=-1)
    t = _class_last(target)
    c = logp.shape[-1]
    if label_smoothing > 0:
        t = t * (1 - label_smoothing) + label_smoothing / c
    lw = logp if weight is None else logp * weight.astype(logp.dtype)
    loss = -(lw * t).sum(-1)
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _binary_cross_entropy(input, target, weight, reduction="mean"):
    # torch clamps each log at -100 so a probability of exactly 0 or 1 gives a finite loss
    logx = jnp.maximum(jnp.log(input), -100.0)
    log1mx = jnp.maximum(jnp.log1p(-input), -100.0)
    loss = -(target * logx + (1 - target) * log1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _bce_with_logits(input, target, weight, pos_weight, reduction="mean"):
    # log(1 + exp(-x)), stably; logaddexp's derivative is -sigmoid(-x) everywhere (written as
    # max(-x, 0) + log1p(exp(-|x|)), JAX's derivative of |x| at 0 is 1 and the gradient at a logit
    # of exactly 0 came out as -target instead of torch's sigmoid(0) - target)
    softplus_neg = jnp.logaddexp(-input, 0)
    if pos_weight is None:
        loss = (1 - target) * input + softplus_neg
    else:
        lw = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + lw * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _multilabel_soft_margin(input, target, weight, reduction="mean"):
    loss = -(target * jax.nn.log_sigmoid(input) + (1 - target) * jax.nn.log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.mean(axis=-1)
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote=None)
def _multi_margin(input, target, weight, p=1, margin=1.0, reduction="mean"):
    x = input if input.ndim == 2 else input.reshape(1, -1)  # (C,) and 0-dim: one sample
    t = target.reshape(-1).astype(jnp.int32)
    c = x.shape[-1]
    xy = jnp.take_along_axis(x, t[:, None], axis=1)
    z = jnp.maximum(margin - xy + x, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.astype(x.dtype)[t][:, None]
    z = jnp.where(jnp.arange(c)[None, :] == t[:, None], 0, z)
    loss = z.sum(-1) / c
    if input.ndim < 2:
        loss = loss.reshape(target.shape)
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote=None)
def _multilabel_margin(input, target, reduction="mean"):
    x = input if input.ndim == 2 else input.reshape(1, -1)  # (C,) and 0-dim: one sample
    y = target.reshape(x.shape).astype(jnp.int32)
    c = x.shape[-1]
    # targets are read up to the first -1
    valid = jnp.cumprod(y >= 0, axis=-1).astype(bool)
    yc = jnp.where(valid, y, 0)
    is_target = jnp.any((yc[:, :, None] == jnp.arange(c)[None, None, :]) & valid[:, :, None], axis=1)
    xy = jnp.take_along_axis(x, yc, axis=1)                       # (N, C): x[y_j]
    hinge = jnp.maximum(1 - xy[:, :, None] + x[:, None, :], 0)     # j (targets) x k (all classes)
    mask = valid[:, :, None] & ~is_target[:, None, :]
    loss = jnp.where(mask, hinge, 0).sum((1, 2)) / c
    if input.ndim < 2:
        loss = loss[0]
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- regression
def _weighted(loss, weight):
    return loss if weight is None else loss * weight


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _mse_loss(input, target, weight, reduction="mean"):
    d = input - target
    return _reduce(_weighted(d * d, weight), reduction)


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _l1_loss(input, target, weight, reduction="mean"):
    return _reduce(_weighted(jnp.abs(input - target), weight), reduction)


@defop(method=False, function=False, promote="common")
def _smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    d = jnp.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(jnp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


@defop(method=False, function=False, promote="common", promote_args=("input", "target"))
def _huber_loss(input, target, weight, reduction="mean", delta=1.0):
    # float16: each element in float32, rounded once (torch's CPU kernel), then reduced; torch computes
    # bfloat16 in its own type (jtorch's plain path matches it)
    half = input.dtype if input.dtype == jnp.float16 else None
    if half is not None:
        input, target = input.astype(jnp.float32), target.astype(jnp.float32)
    d = jnp.abs(input - target)
    loss = jnp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    if half is not None:
        loss = round_to(loss, half).astype(half)
    return _reduce(_weighted(loss, weight), reduction)


@defop(method=False, function=False, promote="common")
def _soft_margin(input, target, reduction="mean"):
    return _reduce(jnp.log1p(jnp.exp(-target * input)), reduction)


@defop(method=False, function=False, promote="common")
def _kl_div(input, target, reduction="mean", log_target=False):
    if log_target:
        loss = jnp.exp(target) * (target - input)
    else:
        loss = jax.scipy.special.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return jnp.sum(loss) / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote="float")
def _poisson_nll(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    if log_input:
        loss = jnp.exp(input) - target * input
    else:
        loss = input - target * jnp.log(input + eps)
    if full:
        # Stirling's approximation of log(target!), only where target > 1 (computed everywhere,
        # as torch does, so a target's gradient at 0 is NaN like torch's)
        st = target * jnp.log(target) - target + 0.5 * jnp.log(2 * np.pi * target)
        loss = loss + jnp.where(target > 1, st, 0)
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote="common")
def _gaussian_nll(input, target, var, full=False, eps=1e-6, reduction="mean"):
    # torch clamps var in place under no_grad: the value is clamped, the gradient is not
    var = var + jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
    loss = 0.5 * (jnp.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * float(np.log(2 * np.pi))
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- embeddings / ranking
@defop(method=False, function=False, promote="float")
def _cosine_embedding(input1, input2, target, margin=0.0, reduction="mean"):
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    m1 = (input1 * input1).sum(-1) + eps
    m2 = (input2 * input2).sum(-1) + eps
    cos = dot / jnp.sqrt(m1 * m2)
    loss = jnp.where(target == 1, 1 - cos, 0) + jnp.where(target == -1, jnp.maximum(cos - margin, 0), 0)
    return _reduce(loss, reduction)


@defop(method=False, function=False, promote="float")
def _margin_ranking(scaled_diff, margin=0.0, reduction="mean"):
    # scaled_diff = -target * (input1 - input2), taken in the operands' types (integer steps wrap, as torch's)
    return _reduce(jnp.maximum(scaled_diff + margin, 0), reduction)


@defop(method=False, function=False, promote="common", promote_args=("input",))
def _hinge_embedding(input, target, margin=1.0, reduction="mean"):
    loss = jnp.where(target != 1, jnp.maximum(margin - input, 0), 0) + jnp.where(target != -1, input, 0)
    return _reduce(loss, reduction)


def _pdist(diff, p, eps):
    d = jnp.abs(diff + eps)
    if p == float("inf"):
        return d.max(-1)
    return (d ** p).sum(-1) ** (1.0 / p)


@defop(method=False, function=False, promote="float", dynamic=("diff_pn",))
def _triplet_margin(diff_ap, diff_an, diff_pn=None, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    # the differences anchor - positive, anchor - negative (and positive - negative for swap) come in the
    # operands' types: integer differences wrap, as in torch's pairwise_distance
    d_ap = _pdist(diff_ap, p, eps)
    d_an = _pdist(diff_an, p, eps)
    if swap:
        d_an = jnp.minimum(d_an, _pdist(diff_pn, p, eps))
    return _reduce(jnp.maximum(margin + d_ap - d_an, 0), reduction)


# ---------------------------------------------------------------- CTC
def _ctc_alpha(lp, targets, in_len, tg_len, blank):
    """Negative log-likelihood per batch element by the log-space forward algorithm.
    lp: (T, N, C) log-probabilities; targets: (N, S) padded labels."""
    T, N, C = lp.shape
    S = targets.shape[1]
    L = 2 * S + 1
    ext = jnp.full((N, L), blank, jnp.int32).at[:, 1::2].set(targets.astype(jnp.int32))
    # a skip from s-2 to s is allowed onto a label that differs from the label two back
    prev2 = jnp.concatenate([jnp.full((N, 2), blank, jnp.int32), ext[:, :-2]], axis=1)
    skip = (ext != blank) & (ext != prev2)
    s_idx = jnp.arange(L)[None, :]
    ext_len = 2 * tg_len[:, None] + 1
    live = s_idx < ext_len
    neg = jnp.asarray(_NEG, lp.dtype)

    def emit(t):
        return jnp.take_along_axis(lp[t], ext, axis=1)

    a0 = jnp.where(s_idx < jnp.minimum(2, ext_len), emit(0), neg)

    def step(alpha, t):
        a1 = jnp.concatenate([jnp.full((N, 1), neg), alpha[:, :-1]], axis=1)
        a2 = jnp.concatenate([jnp.full((N, 2), neg), alpha[:, :-2]], axis=1)
        a2 = jnp.where(skip, a2, neg)
        m = jnp.maximum(jnp.maximum(alpha, a1), a2)
        lse = m + jnp.log(jnp.exp(alpha - m) + jnp.exp(a1 - m) + jnp.exp(a2 - m))
        new = jnp.where(live, lse + emit(t), neg)
        return jnp.where((t < in_len)[:, None], new, alpha), None

    alpha, _ = jax.lax.scan(step, a0, jnp.arange(1, T))
    last = jnp.take_along_axis(alpha, (ext_len - 1), axis=1)[:, 0]
    before = jnp.take_along_axis(alpha, jnp.maximum(ext_len - 2, 0), axis=1)[:, 0]
    before = jnp.where(tg_len > 0, before, neg)
    m = jnp.maximum(last, before)
    ll = m + jnp.log(jnp.exp(last - m) + jnp.exp(before - m))
    # no valid alignment (or an empty input): torch reports +inf
    return jnp.where(ll < _NEG / 2, jnp.inf, -ll)


def _ctc_nll(blank):
    @jax.custom_vjp
    def nll(lp, targets, in_len, tg_len):
        return _ctc_alpha(lp, targets, in_len, tg_len, blank)

    def fwd(lp, targets, in_len, tg_len):
        out, pull = jax.vjp(lambda x: _ctc_alpha(x, targets, in_len, tg_len, blank), lp)
        return out, (lp, in_len, out, pull)

    def bwd(res, g):
        lp, in_len, out, pull = res
        g = jnp.where(jnp.isfinite(out), g, 0)
        (true,) = pull(g)
        # torch's CTC gradient is exp(log_probs) - posterior (the gradient w.r.t. the logits
        # under log_softmax), zero past each input length
        t_live = (jnp.arange(lp.shape[0])[:, None] < in_len[None, :])[..., None]
        grad = jnp.where(t_live, true + jnp.exp(lp) * g[None, :, None], 0)
        return grad, None, None, None

    nll.defvjp(fwd, bwd)
    return nll


@defop(method=False, function=False, promote=None)
def _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
              zero_infinity=False):
    unbatched = log_probs.ndim == 2
    lp = log_probs[:, None] if unbatched else log_probs
    tg = targets[None] if unbatched else targets
    il = jnp.reshape(input_lengths, (-1,)).astype(jnp.int32)
    tl = jnp.reshape(target_lengths, (-1,)).astype(jnp.int32)
    loss = _ctc_nll(blank)(lp, tg, il, tl)
    if zero_infinity:
        loss = jnp.where(jnp.isinf(loss), 0, loss)
    if reduction == "mean":
        return jnp.mean(loss / jnp.maximum(tl, 1).astype(loss.dtype))
    if reduction == "sum":
        return jnp.sum(loss)
    return loss[0] if unbatched else loss
