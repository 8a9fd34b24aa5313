"""``linear_cross_entropy``: cross entropy of a linear projection, without a separate ``linear`` call by the user.

torch's ``options`` (a :class:`LinearCrossEntropyOptions`) select a batch-chunked path that saves memory; the
result is the same as the reference ``cross_entropy(linear(input, W, b), target)``. Here the projection and the
loss are two ops that XLA fuses under ``jtorch.compile``, so ``options`` only has its arguments checked.
"""
import dataclasses

import jtorch as torch

from .loss import cross_entropy

__all__ = ["linear_cross_entropy"]


@dataclasses.dataclass
class LinearCrossEntropyOptions:
    """torch.nn.LinearCrossEntropyOptions: settings of torch's chunked path (accepted; see the module doc)."""
    allow_retain_graph: bool = False
    batch_chunk_size: int = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    if not 1 <= input.dim() <= 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions (in_features), got "
                           f"{in_features} and {linear_weight.shape[-1]}, respectively")
    classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires "
                           f"batched input, (N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    probabilities = tuple(target.shape) == (*batches, classes, *out_features)
    if probabilities and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    dtype = input.dtype
    if _float32_accumulation(options, dtype, reduction, label_smoothing, target, out_features):
        # torch's chunked path with a float32 accumulator: logits and loss in float32, rounded once
        input, linear_weight = input.float(), linear_weight.float()
        linear_bias = None if linear_bias is None else linear_bias.float()
        weight = None if weight is None else weight.float()
    # (..., in) x (C, d1.., in) -> (..., C, d1..): a linear layer per output position
    logits = torch.tensordot(input, linear_weight, dims=([input.dim() - 1], [linear_weight.dim() - 1]))
    if linear_bias is not None:
        logits = logits + linear_bias
    loss = cross_entropy(logits, target, weight=weight, ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
    return loss.to(dtype)


def _float32_accumulation(options, dtype, reduction, label_smoothing, target, out_features):
    """Whether torch takes its chunked path (``options`` given, class-index targets, no label smoothing, no
    extra output dims) with a float32 accumulator for a float16/bfloat16 input: ``acc_dtype=float32``, or
    ``acc_dtype=None`` under ``acc_policy="auto"`` (float32 on the CPU)."""
    if options is None or dtype not in (torch.float16, torch.bfloat16):
        return False
    if reduction not in ("mean", "sum", "none") or label_smoothing != 0.0 or target.dtype != torch.int64 or out_features:
        return False
    acc = options.acc_dtype
    return acc == torch.float32 or (acc is None and options.acc_policy == "auto")
