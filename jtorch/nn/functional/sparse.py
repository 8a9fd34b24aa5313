"""Embedding lookups and one-hot encoding (torch.nn.functional)."""
import jtorch as torch
from ..._ops import embedding_ops as K
from ..._ops.loss_ops import concrete_min_max

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_index(input, num, name="index"):
    if input.dtype not in (torch.int64, torch.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    mm = concrete_min_max(input)
    if mm is not None and (mm[0] < 0 or mm[1] >= num):
        raise IndexError("index out of range in self")


def _padding_idx(padding_idx, num):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _renorm_(weight, input, max_norm, norm_type):
    # torch rescales the referenced rows of the weight in place, outside autograd
    with torch.no_grad():
        weight.copy_(K._embedding_renorm(weight, input, max_norm=float(max_norm), norm_type=float(norm_type)))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    num = weight.size(0)
    padding_idx = _padding_idx(padding_idx, num)
    _check_index(input, num)
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    if sparse and weight.requires_grad and torch.is_grad_enabled():
        return _sparse_embedding().apply(weight, input, padding_idx, bool(scale_grad_by_freq))
    return K._embedding(input, weight, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))


_SPARSE_EMB = []


def _sparse_embedding():
    """embedding whose weight gradient is a sparse COO tensor, as torch's ``sparse=True``: one entry per
    looked-up index (duplicates kept, padding_idx left out), uncoalesced."""
    if not _SPARSE_EMB:
        class EmbeddingBackward(torch.autograd.Function):
            @staticmethod
            def forward(ctx, weight, input, padding_idx, scale_grad_by_freq):
                ctx.input, ctx.padding_idx, ctx.scale, ctx.shape = input, padding_idx, scale_grad_by_freq, weight.shape
                return K._embedding(input, weight.detach(), padding_idx=padding_idx)

            @staticmethod
            def backward(ctx, grad):
                idx = ctx.input.reshape(-1).to(torch.int64)
                rows = grad.reshape(-1, ctx.shape[1])
                if ctx.scale:
                    raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
                if ctx.padding_idx is not None:
                    keep = (idx != ctx.padding_idx).nonzero().reshape(-1)
                    idx, rows = idx[keep], rows[keep]
                g = torch.sparse_coo_tensor(idx.unsqueeze(0), rows, tuple(ctx.shape))
                return g, None, None, None
        _SPARSE_EMB.append(EmbeddingBackward)
    return _SPARSE_EMB[0]


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                      "on GitHub.")
        if per_sample_weights.shape != input.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, "
                             f"then it must have the same shape as the input ({list(input.shape)})")
    num = weight.size(0)
    padding_idx = _padding_idx(padding_idx, num)
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences. However, found offsets of type Tensor")
        b, length = input.shape
        offsets = torch.arange(0, b * length, length, device=input.device) if length else \
            torch.zeros(b, dtype=torch.long, device=input.device)
        nbags = b
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        nbags = offsets.numel() - 1 if include_last_offset else offsets.numel()
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    _check_index(input, num)
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    # with include_last_offset the last offset ends the last bag: the kernel's bag index of any
    # later element is num_bags, which its segment sums drop (as torch ignores them)
    kw = dict(mode=mode, padding_idx=padding_idx, num_bags=int(nbags), scale_grad_by_freq=bool(scale_grad_by_freq))
    if sparse and weight.requires_grad and torch.is_grad_enabled():
        return _sparse_bag().apply(weight, input, offsets, per_sample_weights, kw)
    return K._embedding_bag(input, weight, offsets, per_sample_weights, **kw)


_SPARSE_BAG = []


def _sparse_bag():
    """embedding_bag whose weight gradient is a sparse COO tensor, as torch's ``sparse=True``: one row per
    looked-up index (padding left out), the gradient of the bag output with respect to that row."""
    if not _SPARSE_BAG:
        class EmbeddingBagBackward(torch.autograd.Function):
            @staticmethod
            def forward(ctx, weight, input, offsets, per_sample_weights, kw):
                ctx.save_for_backward(weight, input, offsets, per_sample_weights)
                ctx.kw = kw
                return K._embedding_bag(input, weight.detach(), offsets,
                                        None if per_sample_weights is None else per_sample_weights.detach(), **kw)

            @staticmethod
            def backward(ctx, grad):
                weight, input, offsets, psw = ctx.saved_tensors
                kw = dict(ctx.kw)
                if kw["scale_grad_by_freq"]:
                    raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
                flat = input.reshape(-1).to(torch.int64)
                n = flat.numel()
                pad = kw["padding_idx"]
                # the same bags over the looked-up rows themselves: row k is element k (padding: an extra row)
                pos = torch.arange(n)
                if pad is not None:
                    pos = torch.where(flat == pad, n, pos)
                    kw["padding_idx"] = n
                with torch.enable_grad():
                    rows = weight.detach()[flat].requires_grad_()
                    p = None if psw is None else psw.detach().requires_grad_(ctx.needs_input_grad[3])
                    table = torch.cat([rows, torch.zeros((1, rows.shape[1]), dtype=rows.dtype)])
                    out = K._embedding_bag(pos.reshape(input.shape), table, offsets, p, **kw)
                    wrt = [rows] + ([p] if p is not None and ctx.needs_input_grad[3] else [])
                    grads = torch.autograd.grad(out, wrt, grad)
                keep = (flat != pad).nonzero().reshape(-1) if pad is not None else None
                idx, vals = (flat, grads[0]) if keep is None else (flat[keep], grads[0][keep])
                g = torch.sparse_coo_tensor(idx.unsqueeze(0), vals, tuple(weight.shape))
                return g, None, None, grads[1] if len(grads) > 1 else None, None
        _SPARSE_BAG.append(EmbeddingBagBackward)
    return _SPARSE_BAG[0]


def one_hot(tensor, num_classes=-1):
    if tensor.dtype != torch.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    mm = concrete_min_max(tensor)
    if mm is not None and mm[0] < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1   # needs the data, as in torch
    elif mm is not None and mm[1] >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return K._one_hot(tensor, num_classes=int(num_classes))
