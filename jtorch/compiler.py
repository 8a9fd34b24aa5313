"""torch.compiler: helpers around jtorch.compile."""
from .compile import is_compiling, reset, compile  # noqa: F401
from ._dynamo.decorators import (allow_in_graph, assume_constant_result, disable, set_stance,  # noqa: F401
                                 nonstrict_trace)


def is_dynamo_compiling():
    return is_compiling()


def is_exporting():
    """Whether torch.export is tracing a module now."""
    from .export import _trace
    return _trace.EXPORTING[0]


def list_backends(exclude_tags=("debug", "experimental")):
    """The backends torch.compile accepts by name (jtorch compiles with XLA whichever is named)."""
    return ["cudagraphs", "inductor", "openxla", "tvm"]
