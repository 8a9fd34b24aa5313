"""``torch.fx``: symbolic tracing of Modules and functions into Graphs, Python code generated from
them (GraphModule), and the Interpreter/Transformer that run or rewrite them node by node.

How torch functions see Proxies (patched namespaces during a trace, not ``__torch_function__``): ``_symbolic_trace.py``.
"""
from .node import Node, map_arg, map_aggregate, has_side_effect  # noqa: F401
from .graph import Graph, PythonCode  # noqa: F401
from .proxy import Proxy, Attribute, TraceError  # noqa: F401
from ._symbolic_trace import Tracer, symbolic_trace, wrap, PH, GraphAppendingTracer  # noqa: F401
from .graph_module import GraphModule  # noqa: F401
from .interpreter import Interpreter, Transformer  # noqa: F401
from . import node, graph, proxy, graph_module, interpreter, passes, subgraph_rewriter  # noqa: F401
from .subgraph_rewriter import replace_pattern  # noqa: F401
from . import _symbolic_trace  # noqa: F401


def _mark_side_effects():
    import jtorch
    has_side_effect(jtorch._assert)


_mark_side_effects()
del _mark_side_effects
proxy.GraphAppendingTracer = GraphAppendingTracer  # where torch keeps it (it needs the Tracer defined later)
