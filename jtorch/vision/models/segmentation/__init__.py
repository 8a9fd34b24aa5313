"""torchvision.models.segmentation for jtorch: FCN, DeepLabV3 and LR-ASPP with torchvision's
module names (its checkpoints load) and weights enums."""
from .deeplabv3 import *  # noqa: F401,F403
from .fcn import *  # noqa: F401,F403
from .lraspp import *  # noqa: F401,F403
