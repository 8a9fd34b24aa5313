"""torch._dynamo: the settings, reset, graph breaks and explain of ``jtorch.compile``."""
from . import config, exc  # noqa: F401
from ..compile import is_compiling, reset  # noqa: F401
from ..compiler import disable  # noqa: F401
from ._explain import explain  # noqa: F401


def graph_break(msg=""):
    """A graph break: nothing when run eagerly; under jtorch.compile the function runs eagerly (or,
    with ``fullgraph=True``, raises torch._dynamo.exc.Unsupported); explain counts it."""
    from . import _explain
    from ..compile import UserGraphBreak
    if _explain._ACTIVE:
        _explain._ACTIVE[-1].brk("Call to `torch._dynamo.graph_break()`")
    elif is_compiling():
        raise UserGraphBreak(msg)
