"""Making nested tensors: from a list of tensors (or nested lists of numbers), from packed values and
offsets, by narrowing a padded tensor, and by masking."""
import warnings

import numpy as np

import jtorch as torch
from .. import _legacy
from ._tensor import NestedTensor

_LAYOUTS = (_legacy.strided, _legacy.jagged)
_WARNED = [False]


def _check_layout(layout):
    if layout is None:
        return _legacy.strided
    if layout not in _LAYOUTS:
        raise RuntimeError(f"Specified layout is unsupported for nested tensors: {layout}")
    return layout


def _ragged_dim(shapes, layout):
    """Which component dim differs between the components (0 when none does); torch's errors for the rest."""
    ranks = {len(s) for s in shapes}
    if len(ranks) > 1:
        if layout is _legacy.jagged:
            raise RuntimeError("When constructing a nested tensor, all tensors in list must have the same dim")
        r = [len(s) for s in shapes]
        i = next(k for k in range(len(r)) if r[k] != r[0])
        raise RuntimeError(f"All Tensors given to nested_tensor must have the same dimension. Found dimension "
                           f"{r[i]} for Tensor at index {i} and dimension {r[0]} for Tensor at index 0.")
    if ranks == {0}:
        if layout is _legacy.jagged:
            raise RuntimeError("Cannot construct a nested tensor from a list of zero-dim tensors")
        raise NotImplementedError("jtorch's nested tensors need components of at least one dimension")
    differ = [d for d in range(len(shapes[0])) if len({s[d] for s in shapes}) > 1]
    if len(differ) > 1:
        if layout is _legacy.jagged:
            raise RuntimeError("Cannot represent given tensor list as a nested tensor with the jagged layout. Note "
                               "that the jagged layout only allows for a single ragged dimension. For example: "
                               "(B, *, D_0, D_1, ..., D_N), with ragged * dim.")
        raise NotImplementedError("jtorch's strided nested tensors allow one irregular dimension; these components "
                                  f"differ in dims {differ}")
    return differ[0] if differ else 0


def from_components(components, layout, ragged_idx=None):
    """A nested tensor whose values concatenate ``components`` (jtorch tensors, one dtype) along the ragged
    dim: differentiable, so gradients reach the components."""
    shapes = [tuple(c.shape) for c in components]
    r = _ragged_dim(shapes, layout) if ragged_idx is None else ragged_idx - 1
    lens = np.array([s[r] for s in shapes], dtype=np.int64)
    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    values = torch.cat(list(components), dim=r)
    return NestedTensor._make(values, torch.tensor(off), None, r + 1, layout, host=(off[:-1], lens))


def _as_tensors(tensor_list, dtype, device):
    out = []
    for t in tensor_list:
        if not isinstance(t, torch.Tensor):
            t = torch.tensor(t)
        out.append(t)
    if dtype is None:
        dtype = out[0].dtype
    return [t.to(device=device, dtype=dtype) if device is not None else t.to(dtype) for t in out]


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A new leaf nested tensor copying ``tensor_list`` (tensors, or nested lists of numbers)."""
    layout = _check_layout(layout)
    if layout is _legacy.strided and not _WARNED[0]:  # (once per process, as torch)
        _WARNED[0] = True
        warnings.warn("The PyTorch API of nested tensors is in prototype stage and will change in the near future. "
                      "We recommend specifying layout=torch.jagged when constructing a nested tensor, as this layout "
                      "receives active development, has better operator coverage, and works with torch.compile.",
                      UserWarning, stacklevel=2)
    if isinstance(tensor_list, torch.Tensor) and not isinstance(tensor_list, NestedTensor):
        if layout is _legacy.strided:
            raise TypeError("Only lists (List[Tensor] and List[List...[Scalar]]) are accepted in nested_tensor")
        tensor_list = list(tensor_list.unbind(0))
    if not isinstance(tensor_list, (list, tuple)):
        raise TypeError("nested_tensor(): argument 'tensors' (position 1) must be a list of tensors")
    if len(tensor_list) == 0:
        if layout is _legacy.jagged:
            raise RuntimeError("Cannot construct a nested tensor from an empty tensor list")
        raise NotImplementedError("jtorch does not build an empty strided nested tensor")
    if layout is _legacy.jagged:
        dts = {t.dtype for t in tensor_list if isinstance(t, torch.Tensor)}
        if len(dts) > 1:
            raise RuntimeError("When constructing a nested tensor, all tensors in list must have the same dtype")
    elif dtype is None and isinstance(tensor_list[0], torch.Tensor):
        dtype = tensor_list[0].dtype  # torch's strided layout takes the first component's dtype
    with torch.no_grad():
        comps = [t.detach() for t in _as_tensors(tensor_list, dtype, device)]
        nt = from_components(comps, layout)
    nt._values.requires_grad_(requires_grad)  # (torch's error for integer dtypes)
    return nt


def as_nested_tensor(ts, dtype=None, device=None, layout=None):
    """A nested tensor over ``ts`` (a list of tensors, or one tensor split along dim 0), keeping autograd
    history: gradients flow back to the inputs."""
    if isinstance(ts, NestedTensor):
        layout = ts.layout if layout is None else _check_layout(layout)
        if layout is not ts.layout:
            raise RuntimeError("as_nested_tensor(): Converting between nested tensor layouts is not supported")
        return ts.to(device=device, dtype=dtype) if (dtype or device) else ts
    layout = _check_layout(layout)
    if isinstance(ts, torch.Tensor):
        if ts.dim() < 2:
            raise RuntimeError("as_nested_tensor(): Expected tensor argument to have dim() > 1")
        comps = list(ts.unbind(0))
    elif isinstance(ts, (list, tuple)) and all(isinstance(t, torch.Tensor) for t in ts):
        comps = list(ts)
    else:
        raise TypeError("as_nested_tensor(): Expected first argument to be a tensor or a list / tuple of tensors ")
    if not comps:
        raise RuntimeError("Cannot construct a nested tensor from an empty tensor list")
    if layout is _legacy.jagged and len({c.dtype for c in comps}) > 1:
        raise RuntimeError("When constructing a nested tensor, all tensors in list must have the same dtype")
    dtype = comps[0].dtype if dtype is None else dtype
    comps = [c.to(device=device, dtype=dtype) if device is not None else c.to(dtype) for c in comps]
    if isinstance(ts, torch.Tensor):  # all components equal: ragged dim 1 by torch's convention
        return from_components(comps, layout, ragged_idx=1)
    return from_components(comps, layout)


def nested_tensor_from_jagged(values, offsets=None, lengths=None, jagged_dim=None, min_seqlen=None,
                              max_seqlen=None):
    """A jagged nested tensor viewing ``values`` (not copied: gradients reach it) split by ``offsets``."""
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged(): At least one of offsets or lengths is required.")
        offsets = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
        lengths = None
    if jagged_dim is None:
        jagged_dim = 1
    elif jagged_dim < 1:
        raise ValueError(f"Expected jagged_dim >=1, but got {jagged_dim}.")
    if offsets.dtype.is_floating_point or offsets.dtype.is_complex:
        raise TypeError("nested_tensor_from_jagged(): offsets must be an integer tensor")
    if not 1 <= jagged_dim <= values.dim():
        raise RuntimeError(f"nested_tensor_from_jagged(): jagged_dim={jagged_dim} is out of range for values of "
                           f"{values.dim()} dimensions")
    off = np.asarray(offsets.detach()._value)
    total = values.shape[jagged_dim - 1]
    ends = off[1:] if lengths is None else off[:-1] + np.asarray(lengths.detach()._value)
    if off.ndim != 1 or len(off) < 2 or (np.diff(off) < 0).any() or off[0] < 0 or ends.max(initial=0) > total \
            or lengths is None and off[-1] != total:
        raise RuntimeError(f"nested_tensor_from_jagged(): offsets {off.tolist()} do not split the {total} rows of "
                           f"values along dim {jagged_dim - 1}")
    return NestedTensor._make(values, offsets, lengths, jagged_dim, _legacy.jagged)


def narrow(tensor, dim, start, length, layout=_legacy.strided):
    """Per-batch-element narrowing of a dense (B, S, ...) tensor along ``dim`` (jagged: a view with lengths)."""
    layout = _check_layout(layout)
    if layout is _legacy.strided:
        if isinstance(start, torch.Tensor) or isinstance(length, torch.Tensor):
            raise RuntimeError("start and length must be integers for the strided layout NT impl")
        return as_nested_tensor(tensor.narrow(dim, start, length), layout=layout)
    if dim != 1:
        raise RuntimeError("jagged layout only supports dim=1")
    if isinstance(tensor, NestedTensor):
        raise RuntimeError("narrow(): a nested tensor cannot be narrowed by torch.nested.narrow")
    B, S = tensor.shape[0], tensor.shape[1]
    start = torch.as_tensor(start, dtype=torch.int64).expand(B) if not isinstance(start, torch.Tensor) or \
        start.dim() == 0 else start.to(torch.int64)
    length = torch.as_tensor(length, dtype=torch.int64).expand(B) if not isinstance(length, torch.Tensor) or \
        length.dim() == 0 else length.to(torch.int64)
    values = tensor.flatten(0, 1)
    starts = start + torch.arange(B) * S
    offsets = torch.cat([starts, starts[-1:] + length[-1:]])  # (torch's last offset: the last component's end)
    return NestedTensor._make(values, offsets, length.clone(), 1, _legacy.jagged)


def masked_select(tensor, mask):
    """The elements of ``tensor`` where ``mask`` is True, one component per row of the last dim (jagged)."""
    if tensor.dim() < 1:
        raise RuntimeError("masked_select(): the tensor must have at least one dimension")
    mask = mask.expand(tensor.shape) if tuple(mask.shape) != tuple(tensor.shape) else mask
    values = torch.masked_select(tensor, mask)
    lengths = mask.reshape(-1, tensor.shape[-1]).sum(-1)
    offsets = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
    return NestedTensor._make(values, offsets, None, 1, _legacy.jagged)
