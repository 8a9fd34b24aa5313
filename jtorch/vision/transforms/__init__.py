"""torchvision.transforms for jtorch."""
from .transforms import *  # noqa: F401,F403
from .transforms import InterpolationMode  # noqa: F401
from ._enhance_transforms import *  # noqa: F401,F403
from .autoaugment import *  # noqa: F401,F403
from . import functional  # noqa: F401


def __getattr__(name):
    # v2 loads tv_tensors, whose Tensor subclasses switch on __torch_function__ dispatch for every op:
    # only code that uses v2 pays for it
    if name == "v2":
        import importlib
        return importlib.import_module(".v2", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
