"""Variable-length sequence batches: PackedSequence and the pack/pad helpers.

Lengths live on the host (as torch requires them on the CPU), so every layout
change is one gather with an index computed in numpy: differentiable, and a
single op whatever the batch size.
"""
from collections import namedtuple

import numpy as np

import jtorch as torch

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]

_PackedSequenceBase = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def invert_permutation(permutation):
    if permutation is None:
        return None
    p = np.asarray(permutation.tolist(), dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return torch.tensor(inv, dtype=torch.long)


class PackedSequence(_PackedSequenceBase):
    """A batch of sequences laid out time step by time step (``batch_sizes[t]`` rows each)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # torch's internal form: PackedSequence(data, batch_sizes) given as a pair
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return self._with_data(data)

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def cpu(self, *args, **kwargs):
        return self._with_data(self.data.cpu(*args, **kwargs))

    def double(self):
        return self.to(dtype=torch.double)

    def float(self):
        return self.to(dtype=torch.float)

    def half(self):
        return self.to(dtype=torch.half)

    def long(self):
        return self.to(dtype=torch.long)

    def int(self):
        return self.to(dtype=torch.int)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


# ---------------------------------------------------------------- index plans (numpy)
def _lengths_np(lengths):
    if isinstance(lengths, torch.Tensor):
        return np.asarray(lengths.tolist(), dtype=np.int64).reshape(-1)
    return np.asarray(list(lengths), dtype=np.int64).reshape(-1)


def _batch_sizes(sorted_lengths):
    T = int(sorted_lengths[0]) if sorted_lengths.size else 0
    return np.array([(sorted_lengths > t).sum() for t in range(T)], dtype=np.int64)


def _packed_rows(batch_sizes, B):
    """Row of each packed element in a (T*B) time-major flattening."""
    return np.concatenate([t * B + np.arange(bs) for t, bs in enumerate(batch_sizes)]) if len(batch_sizes) else \
        np.zeros(0, np.int64)


def _lengths_from_batch_sizes(batch_sizes):
    bs = np.asarray(batch_sizes, dtype=np.int64)
    B = int(bs[0]) if bs.size else 0
    return np.array([(bs > b).sum() for b in range(B)], dtype=np.int64)


def _gather_rows(x, idx):
    return x[torch.tensor(np.asarray(idx, np.int64), dtype=torch.long)]


# ---------------------------------------------------------------- public helpers
def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    lens = _lengths_np(lengths)
    if lens.size != input.size(0 if batch_first else 1):
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={input.size(0 if batch_first else 1)})")
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                               "sidestep this requirement if you do not need ONNX exportability.")
        order = np.arange(lens.size)
        sorted_indices = None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = torch.tensor(order, dtype=torch.long)
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that is "
                           "<= 0")
    if input.dim() < 2:
        raise RuntimeError("input must have at least 2 dimensions")
    if batch_first:
        input = input.transpose(0, 1)
    T, B = input.shape[0], input.shape[1]
    if lens.size and lens.max() > T:
        raise RuntimeError(f"Expected sequence length to be at most {T}, but got {int(lens.max())}")
    sl = lens[order]
    bs = _batch_sizes(sl)
    # element (t, sorted slot b) lives at row t*B + order[b] of the time-major flattening
    rows = np.concatenate([t * B + order[:n] for t, n in enumerate(bs)]) if bs.size else np.zeros(0, np.int64)
    data = _gather_rows(input.reshape((T * B,) + tuple(input.shape[2:])), rows)
    return PackedSequence(data, torch.tensor(bs, dtype=torch.long), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    data, batch_sizes = sequence.data, _lengths_np(sequence.batch_sizes)
    T = len(batch_sizes)
    B = int(batch_sizes[0]) if T else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {T}")
        T_out = total_length
    else:
        T_out = T
    lengths = _lengths_from_batch_sizes(batch_sizes)
    unsorted = None if sequence.unsorted_indices is None else _lengths_np(sequence.unsorted_indices)
    perm = np.arange(B) if unsorted is None else unsorted
    # packed position of (t, b): offset of step t plus b; padding points at an appended fill row
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])[:-1] if T else np.zeros(0, np.int64)
    n = data.size(0)
    idx = np.full((T_out, B), n, dtype=np.int64)
    for t in range(T):
        idx[t, :batch_sizes[t]] = offsets[t] + np.arange(batch_sizes[t])
    idx = idx[:, perm]
    fill = torch.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = _gather_rows(torch.cat([data, fill]), idx.reshape(-1)).reshape((T_out, B) + tuple(data.shape[1:]))
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, torch.tensor(lengths[perm], dtype=torch.long)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, torch.Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    lens = np.array([s.size(0) for s in sequences], dtype=np.int64)
    trail = tuple(sequences[0].shape[1:])
    T, B = int(lens.max()), len(sequences)
    starts = np.concatenate([[0], np.cumsum(lens)])[:-1]
    n = int(lens.sum())
    idx = np.full((B, T), n, dtype=np.int64)
    for b in range(B):
        pos = np.arange(lens[b]) if padding_side == "right" else np.arange(T - lens[b], T)
        idx[b, pos] = starts[b] + np.arange(lens[b])
    if not batch_first:
        idx = idx.T
    fill = torch.full((1,) + trail, padding_value, dtype=sequences[0].dtype)
    flat = torch.cat(sequences + [fill])
    return _gather_rows(flat, idx.reshape(-1)).reshape(idx.shape + trail)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i][:int(n)] for i, n in enumerate(_lengths_np(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    lengths = torch.tensor([s.size(0) for s in sequences], dtype=torch.long)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
