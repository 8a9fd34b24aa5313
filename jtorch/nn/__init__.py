"""torch.nn on jtorch."""
from .parameter import Parameter, UninitializedParameter, UninitializedBuffer, Buffer  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module, LazyModuleMixin  # noqa: F401
from .modules.module import (register_module_forward_hook, register_module_forward_pre_hook)  # noqa: F401
from . import functional  # noqa: F401
from .functional.linear_cross_entropy import LinearCrossEntropyOptions  # noqa: F401
from . import init  # noqa: F401
from . import utils  # noqa: F401
from . import parameter  # noqa: F401
from . import modules  # noqa: F401
from . import parallel  # noqa: F401,E402
from .parallel import DataParallel  # noqa: F401,E402


def factory_kwargs(kwargs):
    """The ``device``/``dtype``/``memory_format`` entries of ``kwargs`` (or of its ``factory_kwargs``
    entry), as torch.nn.factory_kwargs returns them for module constructors."""
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    expected = simple | {"factory_kwargs"}
    if not kwargs.keys() <= expected:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - expected}")
    r = dict(kwargs.get("factory_kwargs", {}))
    for k in simple:
        if k in kwargs:
            if k in r:
                raise TypeError(f"{k} specified twice, in **kwargs and in factory_kwargs")
            r[k] = kwargs[k]
    return r


def __getattr__(name):
    # torch.nn.quantized / qat / intrinsic: torch.ao.nn's modules under their legacy names, loaded on first use
    if name in ("quantized", "qat", "intrinsic"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
