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
    # (..., in) x (C, d1.., in) -> (..., C, d1..): a linear layer per output position
    logits = torch.tensordot(input, linear_weight, dims=([input.dim() - 1], [linear_weight.dim() - 1]))
    if linear_bias is not None:
        logits = logits + linear_bias
    return cross_entropy(logits, target, weight=weight, ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
