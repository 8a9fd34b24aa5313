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


class Dim:
    """A named dynamic dimension with an optional [min, max] range; one Dim object used for several
    inputs' dimensions says they are equal."""
    AUTO = DimHint(_DimHintType.AUTO)
    STATIC = DimHint(_DimHintType.STATIC)
    DYNAMIC = DimHint(_DimHintType.DYNAMIC)

    def __init__(self, name, *, min=None, max=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Dim name must be a valid identifier, got {name}")
        lo = 0 if min is None else min
        hi = math.inf if max is None else max
        if hi < lo:
            raise ValueError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__ = name
        self.min = lo
        self.max = hi

    def __repr__(self):
        parts = [repr(self.__name__)]
        if self.min != 2:
            parts.append(f"min={self.min}")
        if self.max != math.inf:
            parts.append(f"max={self.max}")
        return f"Dim({', '.join(parts)})"


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
