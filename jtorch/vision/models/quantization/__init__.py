"""torchvision.models.quantization for jtorch: the quantizable models (float models with quant / dequant
stubs, FloatFunctional adds / cats / products and ``fuse_model``), their builders (``quantize=True``) and the
quantized weights enums."""
from .googlenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .mobilenetv3 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403
