"""torch's legacy tensor types (torch.FloatTensor, torch.LongTensor, ...), constants and
memory-format/layout names that programs still use."""
import math

from . import _dtype as D


class _LegacyType(type):
    """``isinstance(t, torch.FloatTensor)`` checks the dtype (and device); calling makes a tensor of it.
    ``torch.cuda.FloatTensor`` & co are the same on the GPU."""

    def __instancecheck__(cls, obj):
        from .tensor import Tensor
        return isinstance(obj, Tensor) and obj.dtype is cls._legacy_dtype and obj.device.type == cls._legacy_device

    def __call__(cls, *args, **kwargs):
        from ._ops.creation import _legacy_new
        from .tensor import Tensor
        kwargs.setdefault("dtype", cls._legacy_dtype)
        if cls._legacy_device == "cuda":
            from . import cuda
            if not cuda.is_available():
                raise TypeError(f"type torch.cuda.{cls.__name__} not available. Torch not compiled with CUDA "
                                "enabled.")
            return _legacy_new(Tensor, *args, **kwargs).cuda()
        return _legacy_new(Tensor, *args, **kwargs)

    @property
    def dtype(cls):
        return cls._legacy_dtype

    @property
    def is_cuda(cls):
        return cls._legacy_device == "cuda"

    is_sparse = False


def _legacy(name, dtype, device="cpu"):
    return _LegacyType(name, (), {"_legacy_dtype": dtype, "_legacy_device": device,
                                  "__module__": "torch" if device == "cpu" else "torch.cuda"})


FloatTensor = _legacy("FloatTensor", D.float32)
DoubleTensor = _legacy("DoubleTensor", D.float64)
HalfTensor = _legacy("HalfTensor", D.float16)
BFloat16Tensor = _legacy("BFloat16Tensor", D.bfloat16)
ByteTensor = _legacy("ByteTensor", D.uint8)
CharTensor = _legacy("CharTensor", D.int8)
ShortTensor = _legacy("ShortTensor", D.int16)
IntTensor = _legacy("IntTensor", D.int32)
LongTensor = _legacy("LongTensor", D.int64)
BoolTensor = _legacy("BoolTensor", D.bool)

pi, e, inf, nan = math.pi, math.e, math.inf, math.nan
newaxis = None


class memory_format:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
legacy_contiguous_format = memory_format("legacy_contiguous_format")


class layout:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor", "CharTensor", "ShortTensor",
           "IntTensor", "LongTensor", "BoolTensor", "pi", "e", "inf", "nan", "newaxis", "memory_format",
           "contiguous_format", "channels_last", "channels_last_3d", "preserve_format", "legacy_contiguous_format",
           "layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "jagged"]
