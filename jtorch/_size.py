"""torch.Size: a tuple of ints with numel()."""
import math


class Size(tuple):
    def __new__(cls, seq=()):
        return tuple.__new__(cls, (int(s) for s in seq))

    def numel(self):
        return math.prod(self)

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __reduce__(self):
        return (Size, (tuple(self),))


def contiguous_strides(shape):
    """Row-major strides (in elements) of a tensor of ``shape``, as torch reports them."""
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))
