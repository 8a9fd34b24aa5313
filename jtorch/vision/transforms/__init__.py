"""torchvision.transforms for jtorch."""
from .transforms import *  # noqa: F401,F403
from .transforms import InterpolationMode  # noqa: F401
from ._enhance_transforms import *  # noqa: F401,F403
from .autoaugment import *  # noqa: F401,F403
from . import functional  # noqa: F401
from . import v2  # noqa: F401
