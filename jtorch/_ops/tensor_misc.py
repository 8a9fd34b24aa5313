"""Tensor methods that are not ops on values: Python callables applied per element (apply_, map_, map2_),
the legacy ``new``, as_subclass, as_strided_, slice_inverse, dim_order, record_stream, module_load and
the deprecated out-of-place resize/resize_as."""
import numbers
import warnings

import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._dispatch import GRAD, export, function


def _check_python_map(name, *tensors):
    if GRAD.enabled and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    if tensors[0].device.type != "cpu":
        raise TypeError(f"{name}_ is only implemented on CPU tensors")


def _store_elements(self, values):
    """Write Python results (one per element, row-major) into self, cast as torch casts scalars."""
    for v in values:
        if not isinstance(v, numbers.Number):
            raise TypeError(f"must be real number, not {type(v).__name__}")
    dt = self.dtype
    if dt.is_complex:
        arr = np.asarray([complex(v) for v in values], dt.np)
    elif dt.is_floating_point:
        arr = np.asarray([float(v) for v in values]).astype(dt.np)
    elif dt is D.bool:
        arr = np.asarray([bool(v) for v in values], np.bool_)
    else:
        arr = np.asarray([int(v) for v in values]).astype(dt.np)
    self._set_array(jnp.asarray(arr.reshape(tuple(self.shape))))
    return self


def apply_(self, callable):
    """Replace every element ``x`` with ``callable(x)`` (a Python number in, a number out). CPU only."""
    _check_python_map("apply_", self)
    return _store_elements(self, [callable(v) for v in np.asarray(self._value).reshape(-1).tolist()])


def _same_type(name, self, other, what):
    if other.dtype != self.dtype:
        raise TypeError(f"{name}: expected torch.{self.type_name()} for '{what}' (got torch.{other.type_name()})")
    return np.asarray(other.expand(self.shape)._value).reshape(-1).tolist()


def map_(self, tensor, callable):
    """``self[i] = callable(self[i], tensor[i])``, with ``tensor`` broadcast to self's shape. CPU only."""
    _check_python_map("map_", self, tensor)
    other = _same_type("map_", self, tensor, "other")
    mine = np.asarray(self._value).reshape(-1).tolist()
    return _store_elements(self, [callable(a, b) for a, b in zip(mine, other)])


def map2_(self, x, y, callable):
    """``self[i] = callable(self[i], x[i], y[i])``, with x and y broadcast to self's shape. CPU only."""
    _check_python_map("map2_", self, x, y)
    xs = _same_type("map2_", self, x, "x")
    ys = _same_type("map2_", self, y, "y")
    mine = np.asarray(self._value).reshape(-1).tolist()
    return _store_elements(self, [callable(a, b, c) for a, b, c in zip(mine, xs, ys)])


def new(self, *args, device=None, **kwargs):
    """The legacy constructor with self's dtype and device: ``new()``, ``new(*sizes)``, ``new(torch.Size)``,
    ``new(data)``, ``new(tensor)`` (an alias of it), ``new(storage)`` (a tensor on that storage)."""
    from ..tensor import Tensor
    from .._size import Size
    from .._storage import TypedStorage, UntypedStorage
    from .creation import empty, tensor as make_tensor
    if kwargs:
        raise TypeError(f"new() received an invalid combination of arguments - got unexpected keyword arguments "
                        f"{', '.join(kwargs)}; new() takes only device=")
    dev = self.device if device is None else device
    if not args:
        return empty(0, dtype=self.dtype, device=dev)
    if len(args) == 1:
        a = args[0]
        if isinstance(a, Tensor):
            if a.dtype != self.dtype:
                raise TypeError(f"expected {self.dtype} (got {a.dtype})")
            return a._alias()
        if isinstance(a, (TypedStorage, UntypedStorage)):
            return empty(0, dtype=self.dtype, device=dev).set_(a)
        if isinstance(a, Size):
            return empty(tuple(a), dtype=self.dtype, device=dev)
        if isinstance(a, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(a).__name__}'")
        if not isinstance(a, (int, np.integer)):
            return make_tensor(a, dtype=self.dtype, device=dev)
    if not all(isinstance(a, (int, np.integer)) for a in args):
        got = tuple(type(a).__name__ for a in args)
        raise TypeError(f"new() received an invalid combination of arguments - got {got}")
    return empty(tuple(int(a) for a in args), dtype=self.dtype, device=dev)


def as_subclass(self, cls):
    """A ``cls`` instance sharing self's data and staying in its autograd graph (an alias)."""
    from ..tensor import Tensor
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                        "Make sure your class inherits from Tensor.")
    out = self.view(self.shape)
    out.__class__ = cls
    return out


def as_strided_(self, size, stride, storage_offset=None):
    """Make self the strided view ``as_strided(self, size, stride, storage_offset)`` of its own storage."""
    from .strided import as_strided
    self._check_inplace()
    self.data = as_strided(self.detach(), size, stride, storage_offset)
    return self


@function
def slice_inverse(input, src, dim=0, start=None, end=None, step=1):
    """The view of ``src``'s geometry that ``input`` (= ``src[..., start:end:step, ...]`` along ``dim``) is a
    slice of: ``input`` re-viewed over its storage from the slice's first element back to src's."""
    from .strided import as_strided
    d = dim % max(src.ndim, 1)
    n = src.shape[d]
    s = 0 if start is None else int(start)
    s = max(s + n, 0) if s < 0 else min(s, n)
    offset = input.storage_offset() - s * src.stride(d)
    return as_strided(input, tuple(src.shape), tuple(src.stride()), offset)


def _dense_in(shape, strides, order):
    """Whether the strides are those of a dense layout with dims nested as ``order`` (outer to inner);
    size-1 dims may have any stride."""
    expect = 1
    for d in reversed(order):
        if shape[d] != 1 and strides[d] != expect:
            return False
        expect *= shape[d]
    return True


def _format_order(fmt, ndim):
    name = getattr(fmt, "name", "")
    if name == "channels_last" and ndim == 4 or name == "channels_last_3d" and ndim == 5:
        return [0, *range(2, ndim), 1]
    if name in ("contiguous_format", "preserve_format"):
        return list(range(ndim))
    return None


def _stride_cmp(shape, strides, a, b):
    """1 when dim a belongs inside dim b in memory, -1 when outside, 0 when the strides cannot tell
    (a zero stride, or equal strides over dims of the same length)."""
    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0

    def at_least(x, y):
        return y == 0 or (x != 0 and (x >= y or x % y == 0))
    if sa == sb:
        return 0 if at_least(shape[b], shape[a]) else 1
    if at_least(sb, sa):
        return -1
    return 1 if at_least(sa, sb) else 0


def dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory. ``ambiguity_check``: True raises when several orders
    fit the strides (size-1 dims, equal strides) unless a list of memory formats names exactly one that fits."""
    from .. import _legacy as L
    if not isinstance(ambiguity_check, bool):
        if not isinstance(ambiguity_check, list) or \
                not all(isinstance(f, L.memory_format) for f in ambiguity_check):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    shape, strides = tuple(self.shape), tuple(self.stride())
    n = len(shape)
    check = ambiguity_check if isinstance(ambiguity_check, bool) else True
    formats = ambiguity_check if isinstance(ambiguity_check, list) else []
    if check and (any(a == b for a, b in zip(strides, strides[1:])) or 1 in shape):
        fits = sum(1 for f in formats if (o := _format_order(f, n)) is not None and _dense_in(shape, strides, o))
        if fits != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given "
                               "memory formats.")
    if n <= 1:
        return tuple(range(n))
    contiguous = _dense_in(shape, strides, list(range(n)))
    last = n == 4 and _dense_in(shape, strides, [0, 2, 3, 1])
    if contiguous and not last:
        return tuple(range(n))
    if last and not contiguous:
        return (0, 2, 3, 1)
    # insertion sort, innermost first, that leaves incomparable dims where they are
    perm = list(reversed(range(n)))
    for i in range(1, n):
        j = i
        for k in reversed(range(i)):
            c = _stride_cmp(shape, strides, perm[k], perm[j])
            if c > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif c < 0:
                break
    if check and any(_stride_cmp(shape, strides, perm[i], perm[i + 1]) != -1 for i in range(n - 1)):
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(reversed(perm))


def record_stream(self, stream):
    """Tell the allocator ``stream`` uses this tensor: XLA frees a buffer only when no array holds it, so there
    is nothing to defer."""
    from .._streams import Stream
    if not isinstance(stream, Stream):
        raise RuntimeError("unknown parameter type")
    if self.device.type == "cpu":
        raise NotImplementedError("Could not run 'aten::record_stream' with arguments from the 'CPU' backend.")


def module_load(self, other, assign=False):
    """How load_state_dict turns ``other`` into this parameter's new value when it swaps tensors."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()


def resize(self, *sizes):
    """Deprecated out-of-place resize: a reshape that must keep the number of elements (autograd-aware)."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    n = int(np.prod(sizes)) if sizes else 1
    if n != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(str(s) for s in sizes)} ({n} elements in total), but the "
                           f"given tensor has a size of {'x'.join(str(s) for s in self.shape)} ({self.numel()} "
                           "elements). autograd's resize can only change the shape of a given tensor, while "
                           "preserving the number of elements. ")
    return self.contiguous().view(tuple(sizes))


def resize_as(self, tensor):
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return resize(self, tuple(tensor.shape))


for _f in (apply_, map_, map2_, new, as_subclass, as_strided_, dim_order, record_stream, module_load, resize,
           resize_as):
    export(_f, _f.__name__, function=False)
export(as_strided_, "as_strided_", method=False)  # torch.as_strided_(t, ...) too
del _f


# ---------------------------------------------------------------- removed and foreign-device entry points
def _removed(name, instead):
    def f(*args, **kwargs):
        raise RuntimeError(f"This function was deprecated since version 1.9 and is now removed. Use {instead} "
                           f"instead of torch.{name}.")
    f.__name__ = name
    return f


for _name, _instead in (("eig", "torch.linalg.eig"), ("lstsq", "torch.linalg.lstsq"), ("solve", "torch.linalg.solve"),
                        ("symeig", "torch.linalg.eigh")):
    export(_removed(_name, _instead), _name)
export(_removed("matrix_rank", "torch.linalg.matrix_rank"), "matrix_rank", method=False)


def reinforce(self, reward):
    raise RuntimeError("reinforce() was removed. Use torch.distributions instead (log_prob of the sampled action "
                       "times the reward as the loss).")


def is_distributed(self):
    return False


def ipu(self, device=None, non_blocking=False, memory_format=None):
    raise RuntimeError("PyTorch is not linked with support for ipu devices")


def xpu(self, device=None, non_blocking=False, memory_format=None):
    raise AssertionError("Torch not compiled with XPU enabled")


def mtia(self, device=None, non_blocking=False, memory_format=None):
    raise AssertionError("Torch not compiled with MTIA enabled")


for _f in (reinforce, is_distributed, ipu, xpu, mtia):
    export(_f, _f.__name__, function=False)
del _f, _name, _instead
