"""torchvision.models for jtorch: same builders, module names and weights enums."""
from ._api import Weights, WeightsEnum, get_model, get_model_builder, get_model_weights, get_weight, list_models  # noqa
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .vision_transformer import *  # noqa: F401,F403
from .convnext import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .mnasnet import *  # noqa: F401,F403
from .mobilenetv3 import *  # noqa: F401,F403
from .regnet import *  # noqa: F401,F403
from .shufflenetv2 import *  # noqa: F401,F403
from .swin_transformer import *  # noqa: F401,F403
from .maxvit import *  # noqa: F401,F403
from . import quantization  # noqa: E402,F401
from . import segmentation  # noqa: E402,F401
from . import video  # noqa: E402,F401
from . import optical_flow  # noqa: E402,F401


def __getattr__(name):
    # detection needs jtorch.vision.ops, which itself imports this package's layers: loaded on
    # first use (jtorch.vision imports it once ops is complete)
    if name == "detection":
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
