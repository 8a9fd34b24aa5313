"""Padding modules: Zero, Constant, Reflection, Replication, Circular (1d/2d/3d)."""
from .. import functional as F
from ..functional._utils import ntuple
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    _n = 1
    _mode = "constant"
    __constants__ = ["padding"]

    def __init__(self, padding):
        super().__init__()
        self.padding = ntuple(padding, 2 * self._n, "padding")

    def forward(self, input):
        if self._mode == "circular":
            if input.dim() not in (self._n + 1, self._n + 2):
                raise ValueError(f"expected {self._n + 1}D or {self._n + 2}D input (got {input.dim()}D input)")
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


def _make(name, base, n, mode=None):
    attrs = {"_n": n, "__module__": __name__}
    if mode is not None:
        attrs["_mode"] = mode
    return type(name, (base,), attrs)


class ConstantPad1d(_ConstantPadNd):
    _n = 1


class ConstantPad2d(_ConstantPadNd):
    _n = 2


class ConstantPad3d(_ConstantPadNd):
    _n = 3


class _ZeroPad:
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPad, ConstantPad1d):
    pass


class ZeroPad2d(_ZeroPad, ConstantPad2d):
    pass


class ZeroPad3d(_ZeroPad, ConstantPad3d):
    pass


ReflectionPad1d = _make("ReflectionPad1d", _PadNd, 1, "reflect")
ReflectionPad2d = _make("ReflectionPad2d", _PadNd, 2, "reflect")
ReflectionPad3d = _make("ReflectionPad3d", _PadNd, 3, "reflect")
ReplicationPad1d = _make("ReplicationPad1d", _PadNd, 1, "replicate")
ReplicationPad2d = _make("ReplicationPad2d", _PadNd, 2, "replicate")
ReplicationPad3d = _make("ReplicationPad3d", _PadNd, 3, "replicate")
CircularPad1d = _make("CircularPad1d", _PadNd, 1, "circular")
CircularPad2d = _make("CircularPad2d", _PadNd, 2, "circular")
CircularPad3d = _make("CircularPad3d", _PadNd, 3, "circular")
