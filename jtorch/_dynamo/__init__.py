"""torch._dynamo: the settings, reset, markers, graph breaks and explain of ``jtorch.compile``."""
from . import config, eval_frame, exc  # noqa: F401
from ..compile import reset  # noqa: F401
from .decorators import (allow_in_graph, assume_constant_result, disable, disallow_in_graph,  # noqa: F401
                         forbid_in_graph, mark_dynamic, mark_static, mark_static_address, maybe_mark_dynamic,
                         nonstrict_trace, set_stance)
from ._explain import explain  # noqa: F401


def is_compiling():
    """torch.compiler.is_compiling (jtorch.compile tracing, or torch.export)."""
    from ..compiler import is_compiling as compiling
    return compiling()


def graph_break(msg=""):
    """A graph break: nothing when run eagerly; under jtorch.compile the function runs eagerly (or,
    with ``fullgraph=True``, raises torch._dynamo.exc.Unsupported); explain counts it."""
    from . import _explain
    from ..compile import UserGraphBreak, is_compiling as _tracing
    if _explain._ACTIVE:
        _explain._ACTIVE[-1].brk("Call to `torch._dynamo.graph_break()`")
    elif _tracing():
        raise UserGraphBreak(msg)


def list_backends(exclude_tags=("debug", "experimental")):
    from ..compiler import list_backends as backends
    return backends(exclude_tags)


def is_dynamo_supported():
    return True


def __getattr__(name):
    if name == "OptimizedModule":
        return eval_frame.OptimizedModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
