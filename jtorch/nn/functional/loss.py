"""Loss functions of ``torch.nn.functional``: torch's argument checks and messages
here, the arithmetic in one jitted kernel per loss (``jtorch/_ops/loss_ops.py``)."""
import warnings

import jtorch as torch
from jtorch._dispatch import wants_tensors
from ..._ops import loss_ops as K
from ..._dtype import scalar_type_name

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss",
           "gaussian_nll_loss", "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss", "soft_margin_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "ctc_loss"]

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average, reduce, emit_warning=True):
    """torch's mapping of the deprecated ``size_average``/``reduce`` flags to ``reduction``."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.")
    return ret


def _reduction(size_average, reduce, reduction, allowed=_REDUCTIONS):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _as_tensor(x, like):
    return x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=like.dtype)


def _warn_size(input, target):
    if target.size() != input.size():
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


# ---------------------------------------------------------------- classification
def _autocast_on():
    return torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")


def _check_class_input(input, target, weight, name):
    if input.dim() == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() >= 2 and target.dim() >= 1 and input.size(0) != target.size(0):
        raise ValueError(f"Expected input batch_size ({input.size(0)}) to match target batch_size "
                         f"({target.size(0)}).")
    if target.dtype not in (torch.int64, torch.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {scalar_type_name(target.dtype)}")
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.dim() >= 2 else ()
    if tuple(target.shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    c = input.size(1) if input.dim() >= 2 else input.size(0)
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")
    # torch's kernel does not promote the weights (autocast casts both to float32 first)
    if weight is not None and weight.dtype != input.dtype and not _autocast_on():
        raise RuntimeError(f"expected scalar type {scalar_type_name(input.dtype)} but found {scalar_type_name(weight.dtype)}")
    return c


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    c = _check_class_input(input, target, weight, "nll_loss")
    K.check_class_targets(target, c, ignore_index)
    return K._nll_loss(input, target, weight, ignore_index=int(ignore_index), reduction=reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype.is_floating_point:
        # class probabilities: same shape as the input, and no class to ignore
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if tuple(target.shape) != tuple(input.shape):
            if input.dim() >= 2 and target.dim() >= 1 and input.size(0) != target.size(0):
                raise ValueError(f"Expected input batch_size ({input.size(0)}) to match target batch_size "
                                 f"({target.size(0)}).")
            raise RuntimeError("Expected floating point type target to have the same shape as the input "
                               f"({list(input.shape)}), got {list(target.shape)}")
        c = input.size(1) if input.dim() >= 2 else input.size(0)
        if weight is not None and weight.numel() != c:
            raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but "
                               f"got weight tensor of shape: {list(weight.shape)}")
        return K._cross_entropy_prob(input, target, weight, reduction=reduction,
                                     label_smoothing=float(label_smoothing))
    c = _check_class_input(input, target, weight, "cross_entropy")
    K.check_class_targets(target, c, ignore_index)
    if input.dtype in (torch.float16, torch.bfloat16) and label_smoothing == 0.0:
        # torch's composition: log_softmax rounded to the half type (its own kernel's rounding), then nll_loss
        logp = torch.log_softmax(input, 1 if input.dim() >= 2 else 0)
        return nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    return K._cross_entropy_index(input, target, weight, ignore_index=int(ignore_index), reduction=reduction,
                                  label_smoothing=float(label_smoothing))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size "
                         f"({input.size()}) is deprecated. Please ensure they have the same size.")
    mm = K.concrete_min_max(input)
    if mm is not None and not (mm[0] >= 0 and mm[1] <= 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    return K._binary_cross_entropy(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    return K._bce_with_logits(input, target, weight, pos_weight, reduction=reduction)


@wants_tensors("input")
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return K._multilabel_soft_margin(input, target, weight, reduction=reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    if input.dim() > 2 or (input.dim() == 2 and target.dim() != 1) or target.numel() != (
            input.size(0) if input.dim() == 2 else 1):
        raise RuntimeError(f"inconsistent target size, expected {input.size(0) if input.dim() == 2 else 1} "
                           f"but got {list(target.shape)}")
    c = input.size(-1) if input.dim() else 1
    mm = K.concrete_min_max(target)
    if mm is not None and (mm[0] < 0 or mm[1] >= c):
        raise RuntimeError("target out of range")
    return K._multi_margin(input, target, weight, p=int(p), margin=float(margin), reduction=reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input.dim() > 2 or (input.dim() and input.size(-1) == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    c = input.size(-1) if input.dim() else 1
    mm = K.concrete_min_max(target)
    if mm is not None and (mm[0] < -1 or mm[1] >= c):
        raise RuntimeError(f"target out of range: values must lie in [-1, {c})")
    return K._multilabel_margin(input, target, reduction=reduction)


# ---------------------------------------------------------------- regression
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return K._mse_loss(input, target, weight, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return K._l1_loss(input, target, weight, reduction=reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return K._smooth_l1_loss(input, target, reduction=reduction, beta=float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _warn_size(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return K._huber_loss(input, target, weight, reduction=reduction, delta=float(delta))


@wants_tensors("input", "target")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return K._soft_margin(input, target, reduction=reduction)


@wants_tensors("input", "target")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    reduction = _reduction(size_average, reduce, reduction, allowed=_REDUCTIONS + ("batchmean",))
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.")
    return K._kl_div(input, target, reduction=reduction, log_target=bool(log_target))


@wants_tensors("input", "target")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return K._poisson_nll(input, target, log_input=bool(log_input), full=bool(full), eps=float(eps),
                          reduction=reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = torch.full_like(input, float(var))
    if var.size() != input.size():
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)      # one variance per sample, heteroscedastic over the last dim
        elif var.dim() == input.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass  # homoscedastic: var is 1 along the one dimension where it differs ((4, 1, 32, 32)), broadcast
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    mm = K.concrete_min_max(var)
    if mm is not None and mm[0] < 0:
        raise ValueError("var has negative entry/entries")
    return K._gaussian_nll(input, target, var, full=bool(full), eps=float(eps), reduction=reduction)


# ---------------------------------------------------------------- embeddings / ranking
@wants_tensors("input1", "input2", "target")
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss : 1D target tensor expects 2D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}.")
    return K._cosine_embedding(input1, input2, target, margin=float(margin), reduction=reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return K._margin_ranking(-target * (input1 - input2), margin=float(margin), reduction=reduction)


@wants_tensors("input", "target")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return K._hinge_embedding(input, target, margin=float(margin), reduction=reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and "
                           f"negative {negative.dim()}D inputs")
    if margin <= 0:
        raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
    return K._triplet_margin(anchor - positive, anchor - negative, positive - negative if swap else None,
                             margin=float(margin), p=float(p), eps=float(eps), swap=bool(swap), reduction=reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                         "instead")
    if distance_function is None:
        from .distance import pairwise_distance as distance_function
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = torch.minimum(d_neg, distance_function(positive, negative))
    loss = torch.clamp_min(margin + d_pos - d_neg, 0)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---------------------------------------------------------------- CTC
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not isinstance(input_lengths, torch.Tensor):
        input_lengths = torch.tensor(input_lengths, dtype=torch.long)
    if not isinstance(target_lengths, torch.Tensor):
        target_lengths = torch.tensor(target_lengths, dtype=torch.long)
    batched = log_probs.dim() == 3
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D or 3-D, got {log_probs.dim()}-D")
    n = log_probs.size(1) if batched else 1
    if input_lengths.numel() != n or target_lengths.numel() != n:
        raise RuntimeError(f"input_lengths and target_lengths must have size {n} (batch size)")
    if not 0 <= blank < log_probs.size(-1):
        raise RuntimeError("blank must be in label range")
    _check_ctc_lengths(log_probs, targets, input_lengths, target_lengths, batched)
    if batched and targets.dim() == 1:
        # concatenated targets: lay them out padded, one row per batch element
        lens = target_lengths.to(torch.long)
        width = max(int(lens.max()), 1) if lens.numel() else 1
        offsets = torch.cumsum(lens, 0) - lens
        idx = offsets.unsqueeze(1) + torch.arange(width).unsqueeze(0)
        idx = torch.clamp(idx, 0, max(targets.numel() - 1, 0))
        targets = targets.reshape(-1)[idx.reshape(-1)].reshape(n, width) if targets.numel() else \
            torch.zeros(n, width, dtype=torch.long)
    return K._ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=int(blank), reduction=reduction,
                       zero_infinity=bool(zero_infinity))


def _check_ctc_lengths(log_probs, targets, input_lengths, target_lengths, batched):
    """torch's length checks (on host values, when they can be read)."""
    il, tl = K.concrete_min_max(input_lengths), K.concrete_min_max(target_lengths)
    T = log_probs.size(0)
    if il is not None and il[1] > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value {int(il[1])} "
                           "(while checking arguments for ctc_loss_allocate_outputs)")
    if tl is not None and targets.dim() == (2 if batched else 1) and tl[1] > targets.size(-1):
        raise RuntimeError(f"Expected tensor to have size at least {int(tl[1])} at dimension "
                           f"{targets.dim() - 1}, but got size {targets.size(-1)} for argument #2 'targets' "
                           "(while checking arguments for ctc_loss_allocate_outputs)")
