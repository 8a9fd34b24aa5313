"""``torch.fx.subgraph_rewriter``: replace every occurrence of a pattern graph by a replacement graph."""
from dataclasses import dataclass
from typing import NamedTuple

from .graph import Graph
from .graph_module import GraphModule, _copy_attr
from .node import Node

__all__ = ["Match", "ReplacedPatterns", "replace_pattern", "replace_pattern_with_filters"]


class Match(NamedTuple):
    anchor: Node  # the node the match was found from
    nodes_map: dict  # pattern node -> node of the rewritten graph


@dataclass
class ReplacedPatterns:
    anchor: Node
    nodes_map: dict
    replacements: list  # the nodes the replacement added


def _graph_of(x):
    from ._symbolic_trace import symbolic_trace
    if isinstance(x, GraphModule):
        return x.graph
    if isinstance(x, Graph):
        return x
    return symbolic_trace(x).graph


def replace_pattern(gm, pattern, replacement):
    """Replace each non-overlapping occurrence of ``pattern`` (a function, Module, GraphModule or Graph,
    matched on its use-def structure, not on names) in ``gm`` by ``replacement``, whose inputs and
    outputs correspond to the pattern's in order. Returns the Matches; ``gm`` is recompiled."""
    return [Match(anchor=r.anchor, nodes_map=r.nodes_map) for r in _replace(gm, pattern, replacement)]


def replace_pattern_with_filters(gm, pattern, replacement=None, match_filters=None, ignore_literals=False,
                                 replacement_callback=None, node_name_match=""):
    """``replace_pattern`` keeping only the matches every ``match_filters(match, graph, pattern_graph)``
    accepts; ``ignore_literals`` lets constant arguments match any value; ``replacement_callback(match,
    graph, pattern_graph)`` makes the replacement graph per match. Returns ReplacedPatterns."""
    return _replace(gm, pattern, replacement, match_filters, ignore_literals, replacement_callback)


def _insert_point(graph, match):
    """Where the replacement goes: before the first user of what the match returns (else after it)."""
    users = {u for n in match.returning_nodes for u in n.users}
    for n in graph.nodes:
        if n in users:
            return n
    nxt = None
    for n in reversed(graph.nodes):
        if n in match.returning_nodes:
            return nxt
        nxt = n
    raise AssertionError("The insert point can't be None")


def _replace(gm, pattern, replacement, match_filters=None, ignore_literals=False, replacement_callback=None):
    from .passes.utils.matcher_utils import SubgraphMatcher
    graph = gm.graph
    pattern_graph = _graph_of(pattern)
    matcher = SubgraphMatcher(pattern_graph, match_output=False, match_placeholder=False,
                              remove_overlapping_matches=True, ignore_literals=ignore_literals)
    matches = [m for m in matcher.match(graph)
               if all(f(m, graph, pattern_graph) for f in (match_filters or ()))]
    common = None
    if replacement is not None:
        common = _graph_of(replacement)
    elif replacement_callback is None:
        raise AssertionError("Must provide either a replacement GraphModule or a replacement callback")
    changed = {}  # a node an earlier replacement removed -> what took its place
    out = []
    for m in matches:
        rgraph = replacement_callback(m, graph, pattern_graph) if replacement_callback is not None else common
        rph = [n for n in rgraph.nodes if n.op == "placeholder"]
        if len(rph) != len(m.placeholder_nodes):
            raise AssertionError(f"Placeholder count mismatch: {len(m.placeholder_nodes)} vs {len(rph)}")
        val_map = {}
        for k, (rn, gn) in enumerate(zip(rph, m.placeholder_nodes)):
            if isinstance(gn, Node) and gn in changed:
                new = changed[gn]
                m.placeholder_nodes[k] = new
                for pn, v in list(m.nodes_map.items()):
                    if v is gn:
                        m.nodes_map[pn] = new
                gn = new
            val_map[rn] = gn
        with graph.inserting_before(_insert_point(graph, m)):
            returned = graph.graph_copy(rgraph, val_map)
        if isinstance(returned, Node):
            returned = (returned,)
        added = [v for v in val_map.values() if v not in m.placeholder_nodes]
        if len(returned) != len(m.returning_nodes):
            raise AssertionError(f"Returning nodes count mismatch: {len(m.returning_nodes)} vs {len(returned)}")
        for gn, new in zip(m.returning_nodes, returned):
            gn.replace_all_uses_with(new)
            changed[gn] = new
        for pn in reversed(list(pattern_graph.nodes)):
            if pn.op not in ("placeholder", "output"):
                graph.erase_node(m.nodes_map[pn])
        out.append(ReplacedPatterns(anchor=m.anchors[0], nodes_map=m.nodes_map, replacements=added))
    gm.recompile()
    from ..nn import Module
    if isinstance(replacement, Module):  # the submodules and attributes the replacement's nodes name
        for n in graph.nodes:
            if n.op in ("get_attr", "call_module") and not _has_path(gm, n.target) and \
                    _has_path(replacement, n.target):
                _copy_attr(replacement, gm, n.target)
    return out


def _has_path(mod, target):
    for atom in target.split("."):
        if not hasattr(mod, atom):
            return False
        mod = getattr(mod, atom)
    return True
