"""The nn ops torch also exposes at top level in their ATen form (torch.kl_div, torch.embedding,
torch.gru_cell, ...). Their signatures differ from nn.functional's (reduction is an int enum,
embedding takes the weight first, ...), so each is a thin adapter over the one nn.functional
implementation."""
import warnings

import jtorch as torch
from jtorch.nn import functional as F
from jtorch._ops import rnn_ops as _rnn
from jtorch.nn.functional import conv_tbc  # noqa: F401 (torch.conv_tbc is F.conv_tbc)
from jtorch.nn.functional.scaled_mm import (_scaled_mm, _scaled_mm_v2, _scaled_grouped_mm,  # noqa: F401
                                            _scaled_grouped_mm_v2)

__all__ = ["binary_cross_entropy_with_logits", "cosine_embedding_loss", "ctc_loss", "embedding", "embedding_bag",
           "kl_div", "margin_ranking_loss", "hinge_embedding_loss", "poisson_nll_loss", "triplet_margin_loss",
           "native_dropout", "native_channel_shuffle", "max_pool1d_with_indices", "convolution", "gru_cell",
           "lstm_cell", "rnn_tanh_cell", "rnn_relu_cell", "lstm", "gru", "rnn_tanh", "rnn_relu", "conv_tbc",
           "_grouped_mm", "_scaled_mm", "_scaled_mm_v2", "_scaled_grouped_mm", "_scaled_grouped_mm_v2"]

# ATen's reduction enum (at::Reduction): 1 mean, 2 sum; torch's kernels treat any other int as none.
_REDUCTION = {1: "mean", 2: "sum"}


def _reduction(r):
    if not isinstance(r, int) or isinstance(r, bool):  # the ATen schema wants an int
        raise TypeError(f"argument 'reduction' must be int, not {type(r).__name__}")
    return _REDUCTION.get(r, "none")


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction),
                      zero_infinity)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    # ATen's -1 means "no padding index" (nn.functional's None)
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """(output, offset2bag, bag_size, max_indices) as torch's CPU kernel fills them. mode: 0 sum, 1 mean, 2 max."""
    name = {0: "sum", 1: "mean", 2: "max"}.get(int(mode))
    if name is None:
        raise RuntimeError(f"embedding_bag: unknown mode {mode}")
    out = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=name, sparse=sparse,
                          per_sample_weights=per_sample_weights, include_last_offset=include_last_offset,
                          padding_idx=padding_idx)
    nbags = out.shape[0]
    with torch.no_grad():
        idx = indices.reshape(-1)
        n = idx.numel()
        starts = offsets[:nbags] if indices.dim() == 1 else torch.arange(0, n, max(indices.shape[-1], 1))
        pos = torch.arange(n)
        offset2bag = (torch.searchsorted(starts.contiguous(), pos, right=True) - 1).clamp_min(0) if n \
            else torch.zeros(0, dtype=torch.long)
        ends = torch.cat([starts[1:], torch.tensor([n])]) if nbags else starts
        size = ends - starts
        if padding_idx is not None:
            pad = padding_idx % weight.shape[0]
            if n:
                size = size - torch.zeros(nbags, dtype=torch.long).index_add(0, offset2bag, (idx == pad).long())
        if name == "sum":
            # torch's CPU sum kernel reports no sizes, and its float32 fast path (no padding_idx) no offset2bag
            zeros = torch.zeros(nbags, dtype=torch.long)
            fast = padding_idx is None and weight.dtype == torch.float32
            return out, torch.zeros(0, dtype=torch.long) if fast else offset2bag, zeros, zeros.clone()
        if name == "mean":
            return out, offset2bag, size, size.clone()
        # max: the winning row of each bag and feature (empty bags: 0; torch picks the first maximum)
        rows = weight[idx]
        keep = torch.ones(n, dtype=torch.bool) if padding_idx is None else idx != padding_idx % weight.shape[0]
        best = torch.zeros(nbags, weight.shape[1], dtype=torch.long)
        for b in range(nbags):
            sel = ((offset2bag == b) & keep).nonzero().reshape(-1)
            if sel.numel():
                best[b] = idx[sel][rows[sel].argmax(0)]
        return out, offset2bag, size, best


def kl_div(input, target, reduction=1, *, log_target=False):
    with warnings.catch_warnings():  # F.kl_div's 'mean' deprecation warning is not torch.kl_div's
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def native_dropout(input, p, train):
    """(output, keep mask): the mask is bool; with ``train`` False (or None) nothing is dropped."""
    if not train:
        return input.clone(), torch.ones_like(input, dtype=torch.bool)
    if p < 0 or p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 1:
        return input * 0, torch.zeros_like(input, dtype=torch.bool)
    keep = torch.rand(input.shape, dtype=torch.float32, device=input.device) >= p
    return input * keep.to(input.dtype) * (1.0 / (1.0 - p)), keep


def native_channel_shuffle(input, groups):
    return F.channel_shuffle(input, groups)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    # ATen's empty stride means "same as kernel_size"
    return F.max_pool1d_with_indices(input, kernel_size, stride if stride not in ((), []) else None, padding,
                                     dilation, ceil_mode, return_indices=True)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """ATen's one convolution entry: dimensionality from the weight, transposed or not."""
    n = weight.dim() - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-D, 4-D or 5-D weight, got {weight.dim()}-D")
    if transposed:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    return conv(input, weight, bias, stride, padding, dilation, groups)


def _check_cell(input, hx, w_ih, w_hh):
    if input.dim() != 2 or hx.dim() != 2:  # torch's ATen cells take batches only
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if input.shape[-1] != w_ih.shape[1]:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {w_ih.shape[1]}")
    if hx.shape[-1] != w_hh.shape[1]:
        raise RuntimeError(f"hidden0 has inconsistent hidden_size: got {hx.shape[-1]}, expected {w_hh.shape[1]}")


def _cell(mode, input, hx, cx, w_ih, w_hh, b_ih, b_hh):
    _check_cell(input, hx, w_ih, w_hh)
    out = _rnn._rnn_cell(input, hx, cx, w_ih, w_hh, b_ih, b_hh, mode=mode)
    return tuple(out) if mode == "LSTM" else out


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("GRU", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("RNN_TANH", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("RNN_RELU", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """``hx`` is the pair (h, c); returns (h', c')."""
    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell expects two hidden states, got {len(hx)}")
    return _cell("LSTM", input, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh)


def _full_rnn(mode, input, hx, cx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """ATen's whole-sequence RNN: ``params`` flat per layer and direction (w_ih, w_hh[, b_ih, b_hh][, w_hr]),
    as nn.RNN's ``_flat_weights``; ``hx`` (layers * directions, batch, hidden)."""
    if isinstance(input, torch.nn.utils.rnn.PackedSequence):
        raise NotImplementedError(f"torch.{mode.lower()}: use the nn module for packed sequences")
    if input.dim() != 3:
        raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
    dirs = 2 if bidirectional else 1
    per = 2 + (2 if has_biases else 0)
    params = list(params)
    proj = mode == "LSTM" and len(params) == num_layers * dirs * (per + 1)
    if len(params) != num_layers * dirs * (per + (1 if proj else 0)):
        raise RuntimeError(f"{mode.lower()}: expected {num_layers * dirs * per} parameters, got {len(params)}")
    x = input.transpose(0, 1) if batch_first else input
    res = _rnn.rnn_forward(params, x, hx, cx, None, mode, num_layers, bidirectional, has_biases, proj, dropout,
                           train)
    out = res[0].transpose(0, 1) if batch_first else res[0]
    return (out,) + tuple(res[1:])


def lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """(output, h_n, c_n); ``hx`` is the pair (h_0, c_0)."""
    return _full_rnn("LSTM", input, hx[0], hx[1], params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


def gru(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """(output, h_n)."""
    return _full_rnn("GRU", input, hx, None, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


def rnn_tanh(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    return _full_rnn("RNN_TANH", input, hx, None, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


def rnn_relu(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    return _full_rnn("RNN_RELU", input, hx, None, params, has_biases, num_layers, dropout, train, bidirectional,
                     batch_first)


def _grouped_mm(self, mat2, offs=None, bias=None, out_dtype=None):
    return F.grouped_mm(self, mat2, offs=offs, bias=bias, out_dtype=out_dtype)
