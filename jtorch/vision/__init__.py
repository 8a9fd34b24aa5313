"""torchvision for jtorch: ``import jtorch.vision as torchvision``."""
__version__ = "0.28.0"

from . import transforms  # noqa: E402,F401
from . import ops  # noqa: E402,F401
from . import utils  # noqa: E402,F401
from . import models  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import io  # noqa: E402,F401
from .models import detection as _detection  # noqa: E402,F401  (registers its builders)


def __getattr__(name):
    # imported on first use: its Tensor subclasses turn on __torch_function__ dispatch (a cost on every op)
    if name == "tv_tensors":
        import importlib
        return importlib.import_module(".tv_tensors", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_image_backend():
    return "PIL"


def set_image_backend(backend):
    if backend not in ("PIL", "accimage"):
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' and 'accimage'")


def set_video_backend(backend):
    """Videos are always decoded with PyAV ('pyav'); like torchvision 0.28 this changes nothing."""


def get_video_backend():
    return "pyav"
