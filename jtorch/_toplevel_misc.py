"""Smaller top-level torch functions: the deprecated ATen norms, binomial, segment_reduce,
frombuffer, set_default_tensor_type and the sym_* helpers (plain Python numbers here: jtorch
has no symbolic shapes, so these are the values torch gives for non-symbolic inputs)."""
import builtins
import math
import numbers
import warnings

import numpy as np

import jtorch as torch
from . import _dtype as D
from . import random as R
from ._ops import binomial_ops as _B
from ._ops import segment_ops as _S
from .interop import to_dlpack  # noqa: F401
from .amp import GradScaler  # noqa: F401
from .jit import fork, wait  # noqa: F401


from ._errors import AcceleratorError, OutOfMemoryError  # noqa: F401


# torch's symbolic numbers: what jtorch.compile traces a dynamic Python scalar as (see _symbolic.py).
# jtorch has no symbolic shapes. Plain ints/floats/bools are not instances, as in torch.
from ._symbolic import SymInt, SymFloat, SymBool  # noqa: E402,F401


def from_file(filename, shared=None, size=0, *, dtype=None, layout=None, device=None, pin_memory=False,
              requires_grad=False):
    """A 1-D tensor of ``size`` elements read from a binary file (all of it when size is 0). With
    ``shared=True`` torch maps the file so writes reach it; here the tensor shares a memory map of
    the file (as from_numpy shares an array), flushed by the OS."""
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    import os
    nbytes = os.path.getsize(filename)
    need = size * dt.itemsize
    if need > nbytes:
        raise RuntimeError(f"file <{filename}> size <{nbytes}> is smaller than the required mapping size <{need}>")
    count = size if size else 0
    if not count:
        arr = np.zeros(0, dt.np)
    elif shared:
        arr = np.memmap(filename, dtype=dt.np, mode="r+", shape=(count,))
    else:
        arr = np.fromfile(filename, dtype=dt.np, count=count)
    t = torch.from_numpy(np.asarray(arr)) if shared else torch.tensor(arr, dtype=dt)
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def get_device_module(device=None):
    """The module of a device type (torch.cuda, torch.cpu); None: the current accelerator's, else torch.cpu."""
    import importlib
    from ._device import device as _device
    if device is None:
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    elif isinstance(device, _device):
        kind = device.type
    elif isinstance(device, str):
        kind = _device(device).type
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or None")
    try:
        return importlib.import_module("jtorch." + kind)
    except ImportError:
        raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'torch.{kind}'.") \
            from None


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, keeping dims (dim=-1: the whole norm)."""
    if dim == -1:
        return torch.linalg.vector_norm(v, pow)
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return torch.linalg.vector_norm(v, pow, dim=others, keepdim=True)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Rescale, in place, the rows of ``input`` named by ``indices`` whose norm exceeds ``max_norm``."""
    from .nn.functional.sparse import _renorm_
    _renorm_(input, indices, max_norm, norm_type)
    return input


def affine_grid_generator(theta, size, align_corners):
    from .nn.functional.vision import affine_grid
    return affine_grid(theta, list(size), align_corners=align_corners)

__all__ = ["AcceleratorError", "OutOfMemoryError", "SymInt", "SymFloat", "SymBool", "GradScaler", "fork", "wait",
           "from_file", "get_device_module", "norm_except_dim", "embedding_renorm_", "affine_grid_generator", "nuclear_norm", "frobenius_norm", "binomial", "segment_reduce", "frombuffer", "set_default_tensor_type",
           "to_dlpack", "sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt", "sym_sum", "sym_ite"]


def nuclear_norm(input, dim=None, keepdim=False):
    """torch.nuclear_norm(input, keepdim=False) or (input, dim, keepdim=False): deprecated in torch."""
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. Please use "
                  "`linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead", UserWarning)
    if isinstance(dim, builtins.bool):  # nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    if dim is not None and len(dim) != 2:
        raise RuntimeError(f"nuclear_norm: dim must be a pair of dimensions, got {len(dim)}")
    return torch.linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim), keepdim=keepdim)


def frobenius_norm(input, dim, keepdim=False):
    """torch.frobenius_norm(input, dim, keepdim=False): deprecated in torch (2-norm over ``dim``)."""
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. Please use "
                  "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning)
    dim = [dim] if isinstance(dim, numbers.Integral) else list(dim)
    if len(dim) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dim)} dimensions instead.")
    return torch.linalg.vector_norm(input, 2, dim=tuple(dim), keepdim=keepdim)


def binomial(count, prob, generator=None):
    """Samples of Binomial(count, prob), elementwise; count and prob floating and of one dtype."""
    if not count.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{D.scalar_type_name(count.dtype)}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {D.scalar_type_name(prob.dtype)} but expected "
                           f"{D.scalar_type_name(count.dtype)}")
    torch.broadcast_shapes(count.shape, prob.shape)  # torch's size-mismatch RuntimeError
    return _B._binomial(R.next_key(generator, lazy=True), count, prob)


_REDUCES = ("sum", "mean", "max", "min", "prod")


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False, initial=None):
    """Reduce consecutive segments of ``data`` along ``axis``; segments given by 1-D ``lengths``
    or ``offsets`` (len(offsets) = segments + 1). Empty segments give ``initial`` if given, else
    the reduction's identity (mean: NaN)."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, max, min, mean or prod, got {reduce}")
    if not data.dtype.is_floating_point:
        raise NotImplementedError(f'"_segment_reduce_cpu" not implemented for '
                                  f"'{ {D.int64: 'Long', D.int32: 'Int'}.get(data.dtype, data.dtype)}'")
    if indices is not None:
        raise NotImplementedError("segment_reduce: indices based reduction is not supported yet.")
    axis = axis % max(data.ndim, 1)
    if axis != 0:  # torch: the segments run along the last dimension of (1-D) lengths/offsets
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of lengths but got {axis}.")
    n = data.shape[axis]
    if lengths is not None:
        if lengths.ndim != 1:
            raise NotImplementedError("segment_reduce: jtorch supports 1-D lengths only")
        lens = lengths.tolist()
    elif offsets is not None:
        if offsets.ndim != 1:
            raise NotImplementedError("segment_reduce: jtorch supports 1-D offsets only")
        offs = offsets.tolist()
        lens = [b - a for a, b in zip(offs[:-1], offs[1:])]
        if not unsafe and (not offs or offs[0] != 0):
            raise RuntimeError("segment_reduce(): offsets must start at 0")
    else:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    if any(v < 0 for v in lens):
        raise RuntimeError("lengths contains negative value!")
    if sum(lens) != n:
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    ids = torch.tensor(np.repeat(np.arange(len(lens)), lens), dtype=torch.int32)
    return _S._segment_reduce(data, ids, initial, reduce=reduce, num_segments=len(lens), axis=axis)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the bytes of a Python buffer, sharing its memory (as from_numpy does)."""
    dt = D.to_dtype(dtype)
    size = memoryview(buffer).nbytes
    item = dt.itemsize
    if size == 0 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if offset < 0 or offset >= size:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({size} bytes) minus 1")
    if count < 0:
        if (size - offset) % item:
            raise ValueError(f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
                             f"multiple of element size ({item})")
        count = (size - offset) // item
    elif offset + count * item > size:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) must not "
                         f"be greater than actual buffer length ({size} bytes)")
    arr = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about read-only buffers once; from_numpy would too
        t = torch.from_numpy(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def set_default_tensor_type(t):
    """Deprecated in torch: sets the default floating dtype from a legacy type (torch.DoubleTensor or
    its name). CUDA types are not followed by a default device here."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning)
    if isinstance(t, str):
        name = t.split(".")[-1]
        t = getattr(torch, name, None)
        if t is None or not hasattr(t, "_legacy_dtype"):
            raise TypeError(f"invalid type: '{name}'")
    dt = getattr(t, "_legacy_dtype", None)
    if dt is None:
        raise TypeError("invalid type object")
    if not dt.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    torch.set_default_dtype(dt)


_NUM = (numbers.Integral, numbers.Real, np.integer, np.floating)


def sym_int(a):
    """int(a), truncating toward zero."""
    if isinstance(a, torch.Tensor):
        return builtins.int(a.item())
    return builtins.int(math.trunc(a)) if isinstance(a, builtins.float) else builtins.int(a)


def sym_float(a):
    return builtins.float(a)


def _check_num(*args):
    for a in args:
        if not isinstance(a, _NUM):
            raise AssertionError(f"expected (numpy.integer, numpy.floating, int, float), got {type(a)}")


def sym_max(a, b):
    """max(a, b); a float if either is a float (as torch)."""
    _check_num(a, b)
    r = builtins.max(a, b)
    return builtins.float(r) if isinstance(a, builtins.float) or isinstance(b, builtins.float) else r


def sym_min(a, b):
    _check_num(a, b)
    r = builtins.min(a, b)
    return builtins.float(r) if isinstance(a, builtins.float) or isinstance(b, builtins.float) else r


def sym_not(a):
    return not a


def sym_sqrt(a):
    return math.sqrt(a)


def sym_sum(args):
    return builtins.sum(args)


def sym_ite(b, t, f):
    if not isinstance(b, (builtins.bool, np.bool_)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    return t if b else f
