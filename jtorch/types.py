"""torch.types: the type aliases torch's signatures are written with."""
import os  # noqa: F401  (FileLike names os.PathLike)
from collections.abc import Sequence
from typing import IO, Any, TypeAlias, Union  # noqa: F401

from ._device import device as _device
from ._dtype import dtype as _dtype
from ._legacy import layout as _layout  # noqa: F401
from ._size import Size
from ._symbolic import SymBool, SymFloat, SymInt
from .ao._qtensor import qscheme as _qscheme  # noqa: F401
from .tensor import Tensor

_bool, _bytes, _complex, _float, _int, _str = bool, bytes, complex, float, int, str

_Number = (int, float, bool)  # for isinstance
Number: TypeAlias = Union[int, float, bool]
Device: TypeAlias = Union[_device, str, int, None]
FileLike: TypeAlias = Union[str, "os.PathLike[str]", IO[bytes]]

_size: TypeAlias = Union[Size, list[int], tuple[int, ...]]
_symsize: TypeAlias = Union[Size, Sequence[Union[int, SymInt]]]
_TensorOrTensors: TypeAlias = Union[Tensor, Sequence[Tensor]]
_TensorOrOptionalTensors: TypeAlias = Union[Tensor, Sequence[Union[Tensor, None]]]
_TensorOrTensorsOrGradEdge: TypeAlias = Union[Tensor, Sequence[Tensor], "GradientEdge", Sequence["GradientEdge"]]

py_sym_types = (SymInt, SymFloat, SymBool)  # for isinstance
PySymType: TypeAlias = Union[SymInt, SymFloat, SymBool]
IntLikeType: TypeAlias = Union[int, SymInt]
FloatLikeType: TypeAlias = Union[float, SymFloat]
BoolLikeType: TypeAlias = Union[bool, SymBool]


class Storage:
    """What annotations mean by a storage: the attributes every storage class has (typing only)."""
    _cdata: int
    device: _device
    dtype: _dtype
    _torch_load_uninitialized: bool


__all__ = ["Number", "Device", "FileLike", "Storage"]
