"""torchvision.models.video for jtorch: video classification on clips (N, C, T, H, W)."""
from .resnet import *  # noqa: F401,F403
from .s3d import *  # noqa: F401,F403
from .swin_transformer import *  # noqa: F401,F403
from .mvit import *  # noqa: F401,F403
