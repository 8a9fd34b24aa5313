"""torch.cuda.FloatTensor & co (jtorch/_legacy.py) and torch.cuda.FloatStorage & co (jtorch/_storage.py)."""
from .. import _dtype as D
from .._legacy import _legacy

_TYPES = {"FloatTensor": D.float32, "DoubleTensor": D.float64, "HalfTensor": D.float16,
          "BFloat16Tensor": D.bfloat16, "ByteTensor": D.uint8, "CharTensor": D.int8, "ShortTensor": D.int16,
          "IntTensor": D.int32, "LongTensor": D.int64, "BoolTensor": D.bool}
globals().update({name: _legacy(name, dt, "cuda") for name, dt in _TYPES.items()})

from .._storage import CUDA_CLASSES  # noqa: E402

globals().update(CUDA_CLASSES)  # torch.cuda.FloatStorage & co
__all__ = list(_TYPES) + list(CUDA_CLASSES)
