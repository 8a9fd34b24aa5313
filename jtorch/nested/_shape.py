"""Shape ops of nested tensors (methods of NestedTensor): each moves the values' dims, keeping the ragged
dim's place (``_ragged_idx``) up to date. The batch and ragged dims themselves cannot be moved, merged
or split, as in torch."""
from .. import _legacy
from ._ops import _wrap_dim, _shape_str
from ._tensor import NestedTensor


def _jagged(nt):
    return nt._layout is _legacy.jagged


def _not_on(nt, name, d):
    if d == 0:
        return RuntimeError(f"{name}(): not supported for NestedTensor on dim=0")
    return RuntimeError(f"{name}(): not supported for NestedTensor on ragged dim")


def transpose(self, dim0, dim1):
    n = self.dim()
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    if 0 in (d0, d1) and d0 != d1:
        raise ValueError("Transpose is not supported on the batch dimension for jagged NT")
    r = self._ragged_idx
    r = d1 if r == d0 else d0 if r == d1 else r
    return self._rebuild(self._values.transpose(d0 - 1, d1 - 1), r)


def permute(self, *dims):
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    n = self.dim()
    dims = [_wrap_dim(d, n) for d in dims]
    if len(dims) != n or sorted(dims) != list(range(n)):
        raise RuntimeError("permute(): number of dims don't match in permute")
    if dims[0] != 0:
        raise ValueError("Permute is not supported on the batch dimension for jagged NT")
    return self._rebuild(self._values.permute([d - 1 for d in dims[1:]]), dims.index(self._ragged_idx))


def unsqueeze(self, dim):
    d = _wrap_dim(dim, self.dim() + 1)
    if d == 0:
        raise RuntimeError("unsqueeze(): not supported for NestedTensor on dim=0")
    r = self._ragged_idx
    return self._rebuild(self._values.unsqueeze(d - 1), r + 1 if d <= r else r)


def squeeze(self, dim=None):
    if dim is None:
        raise RuntimeError("squeeze(): For jagged layout, dim must be specified")
    d = _wrap_dim(dim, self.dim())
    if d == 0:
        if not _jagged(self):
            raise RuntimeError("squeeze(): For nested tensors, squeezing dimension 0 is not supported at the moment "
                               "if you need this feature, please open an issue on github describing your use case.")
        raise _not_on(self, "squeeze", 0)
    if d == self._ragged_idx:
        raise _not_on(self, "squeeze", d)
    if self._values.shape[d - 1] != 1:
        return self._rebuild(self._values.view(self._values.shape))
    r = self._ragged_idx
    return self._rebuild(self._values.squeeze(d - 1), r - 1 if d < r else r)


def unflatten(self, dim, sizes):
    d = _wrap_dim(dim, self.dim())
    if d in (0, self._ragged_idx):
        raise _not_on(self, "unflatten", d)
    r = self._ragged_idx
    return self._rebuild(self._values.unflatten(d - 1, sizes), r + len(sizes) - 1 if d < r else r)


def flatten(self, start_dim=0, end_dim=-1):
    n = self.dim()
    s, e = _wrap_dim(start_dim, n), _wrap_dim(end_dim, n)
    if s == e:
        return self
    if s == 0 or s <= self._ragged_idx <= e:
        raise _not_on(self, "flatten", 0 if s == 0 else self._ragged_idx)
    r = self._ragged_idx
    return self._rebuild(self._values.flatten(s - 1, e - 1), r - (e - s) if e < r else r)


def reshape(self, *shape):
    shape = list(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else list(shape)
    r = self._ragged_idx
    B = self._meta[0][0]
    if not shape or shape[0] not in (B, -1):
        if not _jagged(self):
            raise RuntimeError("view: For now nested view cannot change or infer the implicit batch dimension")
        raise RuntimeError(f"view(): cannot view shape {_shape_str(self)} as {shape}")
    if len(shape) <= r or not (shape[r] == -1 or shape[r] == self._meta[0][r]):
        raise RuntimeError(f"view(): cannot view shape {_shape_str(self)} as {shape}: the ragged dim must "
                           "stay in place")
    target = list(shape[1:])
    target[r - 1] = self._values.shape[r - 1]  # (another -1 is inferred from the values)
    return self._rebuild(self._values.reshape(target))


def narrow(self, dim, start, length):
    d = _wrap_dim(dim, self.dim())
    if d == 0 or d == self._ragged_idx:
        if not _jagged(self):
            raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but got: {dim}")
        raise _not_on(self, "narrow", d)
    return self._rebuild(self._values.narrow(d - 1, start, length))


def expand(self, *sizes):
    sizes = list(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else list(sizes)
    own = list(self._meta[0])
    if len(sizes) != len(own) or any(s != -1 and s != o for s, o in zip(sizes, own)):
        raise RuntimeError(f"expand(): cannot expand shape {_shape_str(self)} -> {sizes}")
    return self


def _split_dim(self, name, dim):
    d = _wrap_dim(dim, self.dim())
    if not _jagged(self) and d != self.dim() - 1:
        raise RuntimeError("Chunk for nested tensors is currently only supported for the last dimension.")
    if d in (0, self._ragged_idx):
        raise _not_on(self, name, d)
    return d


def chunk(self, chunks, dim=0):
    d = _split_dim(self, "chunk", dim)
    return tuple(self._rebuild(v) for v in self._values.chunk(chunks, d - 1))


def split(self, split_size_or_sections, dim=0):
    if not _jagged(self) and isinstance(split_size_or_sections, int):
        from ._route import not_supported
        raise not_supported("split.Tensor", (self,))
    d = _split_dim(self, "split", dim)
    return tuple(self._rebuild(v) for v in self._values.split(split_size_or_sections, d - 1))


def t(self):
    from ._route import not_supported
    raise not_supported("t", (self,))


def mm(self, mat2):
    from ._route import not_supported
    raise not_supported("mm", (self,))


for _f in (transpose, permute, unsqueeze, squeeze, unflatten, flatten, reshape, narrow, expand, chunk, split, t, mm):
    setattr(NestedTensor, _f.__name__, _f)
NestedTensor.view = reshape
NestedTensor.swapaxes = NestedTensor.swapdims = transpose


# ---- the function forms (torch.transpose(nt, ...), torch.chunk(nt, ...), torch.dropout): jtorch's are Python
# functions that read sizes before any op runs, so a nested first argument goes to its method instead
def _nested_first(fn, name):
    def f(input, *args, **kwargs):
        if type(input) is NestedTensor:
            return getattr(input, name)(*args, **kwargs)
        return fn(input, *args, **kwargs)
    f.__name__, f.__qualname__, f.__doc__, f.__wrapped__ = fn.__name__, fn.__qualname__, fn.__doc__, fn
    f._nested_form = True
    return f


def _install_function_forms():
    import jtorch
    for name in ("transpose", "swapaxes", "swapdims", "permute", "unsqueeze", "squeeze", "unflatten", "flatten",
                 "reshape", "narrow", "chunk", "split", "dropout"):
        fn = getattr(jtorch, name, None)
        if fn is not None and not getattr(fn, "_nested_form", False):
            setattr(jtorch, name, _nested_first(fn, name))


_install_function_forms()
