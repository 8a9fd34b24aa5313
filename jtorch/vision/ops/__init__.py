"""torchvision.ops for jtorch: boxes, box losses, RoI pooling, and the building-block layers."""
from .box_losses import *  # noqa: F401,F403
from .boxes import *  # noqa: F401,F403
from .deform_conv import *  # noqa: F401,F403
from .feature_pyramid_network import *  # noqa: F401,F403
from .misc import *  # noqa: F401,F403
from .poolers import *  # noqa: F401,F403
from .roi import *  # noqa: F401,F403

_LAYERS = ("Conv2dNormActivation", "Conv3dNormActivation", "SqueezeExcitation", "StochasticDepth",
           "stochastic_depth", "MLP", "Permute")


def __getattr__(name):
    # the nn building blocks live with the models (they need jtorch.nn); loaded on first use
    if name in _LAYERS:
        from ..models import _layers
        return getattr(_layers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
