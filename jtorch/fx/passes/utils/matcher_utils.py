"""``torch.fx.passes.utils.matcher_utils``: find the places a pattern graph occurs in a larger graph.

A match starts at the pattern's anchors (the nodes its output returns that nothing else in the pattern
reads) and walks arguments backwards in both graphs at once: producers are unique, consumers are not,
so the backward walk is deterministic. Placeholders of the pattern match any value (the same one each
time they are read); other nodes match on op and target, and their constant arguments must be equal.
"""
from dataclasses import dataclass, field

from ...node import Node

__all__ = ["SubgraphMatcher", "InternalMatch"]


@dataclass
class InternalMatch:
    anchors: list
    nodes_map: dict = field(default_factory=dict)  # pattern node -> graph node
    placeholder_nodes: list = field(default_factory=list)
    returning_nodes: list = field(default_factory=list)
    name_node_map: dict = field(default_factory=dict)

    def __copy__(self):
        return InternalMatch(anchors=self.anchors, nodes_map=dict(self.nodes_map),
                             placeholder_nodes=list(self.placeholder_nodes),
                             returning_nodes=list(self.returning_nodes))


class SubgraphMatcher:
    def __init__(self, pattern, match_output=False, match_placeholder=False, remove_overlapping_matches=True,
                 ignore_literals=False):
        self.pattern = pattern
        self.match_output = match_output
        self.match_placeholder = match_placeholder
        self.remove_overlapping_matches = remove_overlapping_matches
        self.ignore_literals = ignore_literals
        nodes = list(pattern.nodes)
        if not nodes:
            raise ValueError("SubgraphMatcher cannot be initialized with an empty pattern")
        for n in nodes:
            if n.op != "output" and not n.users:
                raise AssertionError("SubgraphMatcher cannot be initialized with an pattern with dead code")
        self.pattern_placeholder_nodes = [n for n in nodes if n.op == "placeholder"]
        output = nodes[-1]
        self.pattern_returning_nodes = output.all_input_nodes
        if match_output:
            self.pattern_anchors = [output]
        else:
            self.pattern_anchors = [n for n in output.all_input_nodes if len(n.users) == 1]

    # ---- one node against another
    def _nodes_are_equal(self, pn, gn):
        if not self.match_placeholder and pn.op == "placeholder":
            return True
        if pn.op != gn.op:
            return False
        if pn.op in ("placeholder", "output"):
            return True
        if pn.op == "get_attr":
            return self._attributes_equal(pn, gn)
        return pn.target == gn.target

    def _attributes_equal(self, pn, gn):
        """get_attr nodes match when both owning modules hold equal-shaped values (or no module is known)."""
        from ...node import _fetch
        pm, gm_ = pn.graph.owning_module, gn.graph.owning_module
        if pm is None or gm_ is None:
            return True
        try:
            pv, gv = _fetch(pm, pn.target), _fetch(gm_, gn.target)
        except RuntimeError:
            return False
        return type(pv) is type(gv) and getattr(pv, "shape", None) == getattr(gv, "shape", None)

    def _match_literal(self, pa, ga, m):
        if isinstance(pa, Node):
            if pa.op != "placeholder":
                return False
            if pa in m.nodes_map:
                return m.nodes_map[pa] == ga
            m.nodes_map[pa] = ga  # a pattern input bound to a constant of the graph
            return True
        if isinstance(ga, Node):
            return False
        return type(pa) is type(ga) and pa == ga

    def _match_args(self, pargs, gargs, m):
        if len(pargs) != len(gargs):
            return False
        for pa, ga in zip(pargs, gargs):
            if isinstance(pa, Node) and isinstance(ga, Node):
                ok = self._match_nodes(pa, ga, m)
            elif isinstance(pa, (list, tuple)) and isinstance(ga, (list, tuple)):
                ok = self._match_args(pa, ga, m)
            else:
                ok = self._match_literal(pa, ga, m) or self.ignore_literals
            if not ok:
                return False
        return True

    def _match_nodes(self, pn, gn, m):
        if pn in m.nodes_map:
            return m.nodes_map[pn] is gn
        if any(v is gn for v in m.nodes_map.values()):
            return False
        if not self._nodes_are_equal(pn, gn):
            return False
        m.nodes_map[pn] = gn
        if pn.op == "placeholder":
            return True
        if len(pn.args) != len(gn.args) or list(pn.kwargs) != list(gn.kwargs):
            return False
        return self._match_args(list(pn.args) + list(pn.kwargs.values()),
                                list(gn.args) + list(gn.kwargs.values()), m)

    # ---- whole matches
    def _is_contained(self, m):
        """Values computed inside the match (other than the returned ones) are read only inside it."""
        inside = {gn: pn for pn, gn in m.nodes_map.items() if pn.op != "placeholder"}
        for gn, pn in inside.items():
            if pn in self.pattern_returning_nodes:
                continue
            if any(u not in inside for u in gn.users):
                return False
        return True

    @staticmethod
    def _acyclic(nodes):
        """Replacing ``nodes`` by one block must not make a cycle: no path leaves the set and comes back."""
        inside = set(nodes)
        seen, stack = set(), [u for n in nodes for u in n.users if u not in inside]
        while stack:
            n = stack.pop()
            if n in inside:
                return False
            if n in seen:
                continue
            seen.add(n)
            stack.extend(n.users)
        return True

    def match(self, graph, node_name_match=""):
        """The matches of the pattern in ``graph`` (InternalMatch list, in graph order of the first anchor)."""
        candidates = [(a, [n for n in graph.nodes if self._nodes_are_equal(a, n)]) for a in self.pattern_anchors]
        found = []

        def walk(i, m):
            if i == len(candidates):
                m.placeholder_nodes = [m.nodes_map[p] for p in self.pattern_placeholder_nodes]
                m.returning_nodes = [m.nodes_map[p] for p in self.pattern_returning_nodes]
                found.append(m)
                return
            anchor, nodes = candidates[i]
            for n in nodes:
                trial = m.__copy__()
                if self._match_nodes(anchor, n, trial):
                    walk(i + 1, trial)

        if candidates:
            walk(0, InternalMatch(anchors=self.pattern_anchors))
        found = [m for m in found if self._is_contained(m)]
        found = [m for m in found if self._acyclic(
            [gn for pn, gn in m.nodes_map.items() if pn.op not in ("placeholder", "output")])]
        if not self.remove_overlapping_matches:
            return found
        taken, kept = set(), []
        for m in found:
            computed = [gn for pn, gn in m.nodes_map.items() if pn.op not in ("placeholder", "output")]
            if any(gn in taken for gn in computed):
                continue
            kept.append(m)
            taken.update(computed)
        return kept
