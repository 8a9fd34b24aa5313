"""torch.compiler: helpers around jtorch.compile."""
from .compile import reset, compile  # noqa: F401
from ._dynamo.decorators import (allow_in_graph, assume_constant_result, disable, set_stance,  # noqa: F401
                                 nonstrict_trace)


def is_compiling():
    """Whether jtorch.compile is tracing the code that asks, or torch.export is (as in torch)."""
    from .compile import is_compiling as tracing
    return tracing() or is_exporting()


def is_dynamo_compiling():
    """Whether jtorch.compile is tracing the code that asks (not torch.export)."""
    from .compile import is_compiling as tracing
    return tracing()


def is_exporting():
    """Whether torch.export is tracing a module now."""
    from .export import _trace
    return _trace.EXPORTING[0]


def list_backends(exclude_tags=("debug", "experimental")):
    """The backends torch.compile accepts by name (jtorch compiles with XLA whichever is named)."""
    return ["cudagraphs", "inductor", "openxla", "tvm"]


def cudagraph_mark_step_begin():
    """Marks a new iteration for CUDA graphs (mode="reduce-overhead"); jtorch has none: nothing to do."""


def nested_compile_region(fn=None, *, options=None, max_reuse_entries=8, reuse_hash_fn=None):
    """A region torch compiles once and reuses; jtorch traces whole functions: ``fn`` as it is."""
    if fn is None:
        return lambda f: f
    return fn


def substitute_in_graph(original_fn, *, can_constant_fold_through=False, skip_signature_check=False):
    """Registers a Python version of ``original_fn`` for Dynamo to trace; jtorch calls the original (it
    runs Python as it is), so the decorator gives the substitute back unchanged."""
    def register(fn):
        return fn
    return register
