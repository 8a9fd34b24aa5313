"""Between the packed form and a padded dense tensor: ``to_padded_tensor`` and its inverse (used by the
ops that need whole components side by side, e.g. attention). Both are index_select + where on the
values with indices known on the host, so gradients flow through jtorch's own ops."""
import numpy as np

import jtorch as torch
from .. import _legacy


def pad(nt, length, padding=0.0):
    """The (B, ..., length, ...) dense tensor of ``nt``'s components (ragged dim at ``nt._ragged_idx``),
    each cut or padded to ``length``, and the (B, length) numpy mask of real positions."""
    v = nt._values
    r = nt._ragged_idx - 1
    B = len(nt._lens)
    pos = np.arange(length)
    valid = pos[None, :] < nt._lens[:, None]
    out_shape = list(v.shape)
    out_shape[r] = length
    out_shape = [B] + out_shape
    if not valid.any():
        return torch.full(out_shape, padding, dtype=v.dtype, device=v.device), valid
    rows = nt._starts[:, None] + np.minimum(pos[None, :], np.maximum(nt._lens[:, None] - 1, 0))
    rows = np.where(valid, rows, int(nt._starts[valid.any(1)][0]))  # (any real row for empty components)
    g = v.index_select(r, torch.tensor(rows.reshape(-1), dtype=torch.int64, device=v.device))
    g = g.unflatten(r, (B, length)).movedim(r, 0)
    shape = [B] + [1] * (v.dim())
    shape[r + 1] = length
    mask = torch.tensor(valid, device=v.device).reshape(shape)
    return torch.where(mask, g, torch.tensor(padding, dtype=v.dtype, device=v.device)), valid


def unpad(padded, like):
    """Values laid out as ``like``'s from a padded (B, ..., L, ...) tensor whose L is at ``like``'s ragged dim:
    the inverse of ``pad`` (positions no component covers read row 0)."""
    r = like._ragged_idx - 1
    B, L = padded.shape[0], padded.shape[r + 1]
    total = like._values.shape[r]
    rows = np.zeros(total, dtype=np.int64)
    for b, (s, n) in enumerate(zip(like._starts, like._lens)):
        rows[s:s + n] = b * L + np.arange(n)
    flat = padded.movedim(0, r).flatten(r, r + 1)
    return flat.index_select(r, torch.tensor(rows, dtype=torch.int64, device=padded.device))


def to_padded_tensor(input, padding, output_size=None):
    from ._tensor import NestedTensor
    if not isinstance(input, NestedTensor):
        raise NotImplementedError(
            "Could not run 'aten::to_padded_tensor' with arguments from the 'CPU' backend. This could be because "
            "the operator doesn't exist for this backend, or was omitted during the selective/custom build process "
            "(if using custom build).")
    longest = int(input._lens.max(initial=0))
    if output_size is None:
        return pad(input, longest, padding)[0]
    output_size = [int(s) for s in output_size]
    if input._layout is _legacy.jagged:  # torch reads only the ragged dim's size (and cuts to it)
        return pad(input, output_size[input._ragged_idx], padding)[0]
    if len(output_size) != input.dim():
        raise RuntimeError("Length of output_size does not match NestedTensor dims. Broadcasting is not supported.")
    out = pad(input, longest, padding)[0]
    if any(o < s for o, s in zip(output_size, out.shape)):
        raise RuntimeError("Value in output_size is less than NestedTensor padded size. Truncation is not supported.")
    widths = []
    for o, s in zip(reversed(output_size), reversed(out.shape)):
        widths += [0, o - s]
    return torch.nn.functional.pad(out, widths, value=padding) if any(widths) else out
