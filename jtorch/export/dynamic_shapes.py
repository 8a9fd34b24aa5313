"""``torch.export.Dim``: which input dimensions an exported program accepts at any size."""
import math
from enum import Enum

__all__ = ["Dim", "DimHint", "dims", "ValueRanges", "Symbol"]


class _DimHintType(Enum):
    AUTO = "AUTO"
    STATIC = "STATIC"
    DYNAMIC = "DYNAMIC"


class DimHint:
    """``Dim.AUTO`` (dynamic where the program allows it, else specialized), ``Dim.DYNAMIC`` (dynamic, the
    range narrowed to what the program allows) and ``Dim.STATIC``."""

    def __init__(self, type, min=None, max=None):
        self.type = type
        self.min = min
        self.max = max

    def __call__(self, min=None, max=None):
        return DimHint(self.type, min, max)

    def __repr__(self):
        return f"DimHint({self.type.name})"

    def __eq__(self, other):
        return isinstance(other, DimHint) and other.type == self.type and other.min == self.min and \
            other.max == self.max

    def __hash__(self):
        return hash((self.type, self.min, self.max))


_LINEAR = "(Only increasing linear operations with integer coefficients are supported.)"


class Dim:
    """A named dynamic dimension with an optional [min, max] range; one Dim object used for several
    inputs' dimensions says they are equal. ``2 * d``, ``d + 1``, ``d * 2 - 1``: a dimension derived
    from ``d`` (a _DerivedDim), whose size the export computes from ``d``'s."""
    AUTO = DimHint(_DimHintType.AUTO)
    STATIC = DimHint(_DimHintType.STATIC)
    DYNAMIC = DimHint(_DimHintType.DYNAMIC)

    def __init__(self, name, *, min=None, max=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise AssertionError(f"Dim name must be a valid identifier, got {name}")
        lo = 0 if min is None else min
        hi = math.inf if max is None else max
        if hi < lo:
            raise AssertionError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__ = name
        self.min = lo
        self.max = hi

    # (a Dim is the derived dim 1*d + 0 of itself)
    _root_and_form = property(lambda self: (self, 1, 0))

    def __add__(self, other):
        if type(other) is not int:
            raise NotImplementedError(f"Attempted to add {other!r} to {self.__name__}, where an integer was "
                                      f"expected. {_LINEAR}")
        root, a, b = self._root_and_form
        return _DerivedDim(root, a, b + other)

    __radd__ = __add__

    def __sub__(self, other):
        if type(other) is not int:
            raise NotImplementedError(f"Attempted to subtract {other!r} from {self.__name__}, where an integer "
                                      f"was expected. {_LINEAR}")
        return self + -other

    def __rsub__(self, other):
        raise NotImplementedError(f"Attempted to negate {self.__name__}. {_LINEAR}")

    def __mul__(self, other):
        if type(other) is not int or other <= 0:
            raise NotImplementedError(f"Attempted to multiply {other!r} with {self.__name__}, where a positive "
                                      f"integer was expected. {_LINEAR}")
        root, a, b = self._root_and_form
        return _DerivedDim(root, a * other, b * other)

    __rmul__ = __mul__

    def __repr__(self):
        parts = [repr(self.__name__)]
        if self.min != 2:
            parts.append(f"min={self.min}")
        if self.max != math.inf:
            parts.append(f"max={self.max}")
        return f"Dim({', '.join(parts)})"


class _DerivedDim(Dim):
    """``a * root + b`` (a > 0): the size of a dimension that follows ``root``'s (``2 * d`` for an input
    twice as long as another). Its range is ``root``'s mapped through the same form."""

    def __init__(self, root, a, b):
        self.root, self.a, self.b = root, a, b
        r = root.__name__
        head = r if a == 1 else f"{a}*{r}"
        self.__name__ = head if b == 0 else f"{head} + {b}" if b > 0 else f"{head} - {-b}"

    _root_and_form = property(lambda self: (self.root, self.a, self.b))

    def fn(self, x):
        return self.a * x + self.b

    @property
    def min(self):
        lo = self.fn(self.root.min)
        if lo < 0:
            raise AssertionError(f"Expected derived min value of {self.__name__} to be >= 0. Please specify an "
                                 f"appropriate min value for {self.root.__name__} (currently {self.root.min}).")
        return lo

    @property
    def max(self):
        return math.inf if self.root.max == math.inf else self.fn(self.root.max)

    def __repr__(self):
        return self.__name__


def dims(*names, min=None, max=None):
    """Several Dims with the same range: ``batch, seq = dims("batch", "seq", max=64)``."""
    return tuple(Dim(n, min=min, max=max) for n in names)


class Symbol:
    """A dynamic size in an exported program (``s0``, ``s1``...)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    __str__ = __repr__


class ValueRanges:
    """The sizes a dynamic dimension may take: ``VR[lower, upper]`` (``int_oo`` unbounded)."""

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper

    def __repr__(self):
        up = "int_oo" if self.upper == math.inf else self.upper
        return f"VR[{self.lower}, {up}]"

    def __eq__(self, other):
        return isinstance(other, ValueRanges) and (self.lower, self.upper) == (other.lower, other.upper)

    def __hash__(self):
        return hash((self.lower, self.upper))

    def __contains__(self, x):
        return self.lower <= x <= self.upper
