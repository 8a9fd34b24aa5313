"""``grad_fn.next_functions`` in torch's shape.

A jtorch node has one edge per input that requires grad. torch's node has one entry per input its
derivative formula declares differentiable: ``(None, 0)`` for such an input that needs no gradient (the
``c`` of ``a * c``, the number of ``a + 2``), and nothing for the others (a ``where`` condition, the
indices of an index op, ``pow``'s number exponent). Where one jtorch op stands for a chain of torch ops
(``F.linear`` is torch's addmm over ``weight.t()``; ``x[None, 1]`` is an unsqueeze then a select;
``cross_entropy`` is nll_loss over log_softmax) the entries lead through *steps*: small read-only nodes
named like torch's, so a walk over the graph sees torch's structure. Computed when first asked for
(never on the recording path) and cached on the node.
"""
import weakref

from .. import _dispatch
from .. import _dtype as D

NO_EDGE = (None, 0)

# ops whose Python-number and integer/bool-tensor arguments torch takes as tensor inputs
_NUMBERS_ARE_INPUTS = frozenset(["add", "sub", "mul", "_true_divide", "_trunc_divide", "floor_divide",
                                 "_where", "atan2", "maximum", "minimum"])
# ops whose optional tensor arguments (None here) still have an entry in torch
_NONE_IS_INPUT = frozenset(["_conv", "_conv_transpose", "_batch_norm_train", "_batch_norm_eval", "_layer_norm"])


class InputInfo:
    """What next_functions needs of an input after the node released it (backward ran)."""
    __slots__ = ("shape", "dtype", "contiguous")

    def __init__(self, shape, dtype, contiguous=None):
        self.shape, self.dtype, self.contiguous = shape, dtype, contiguous

    @property
    def ndim(self):
        return len(self.shape)


def light_inputs(inputs, strides=False):
    """``inputs`` with tensors replaced by their shape and dtype (kept by a released node); with
    ``strides``, whether each is contiguous too (batched matmul's structure depends on it)."""
    T = _dispatch.Tensor
    out = []
    for a in inputs:
        if isinstance(a, T):
            s, d = a._shape_dtype()
            out.append(InputInfo(tuple(s), D._FROM_NP[d], a.is_contiguous() if strides else None))
        elif isinstance(a, (list, tuple)):
            out.append(light_inputs(a, strides))
        else:
            out.append(a)
    return out


def _is_tensor(a):
    return isinstance(a, (_dispatch.Tensor, InputInfo))


def _dtype(a):
    return a.dtype


class Step:
    """A read-only graph node standing for one op of a torch chain that jtorch ran as part of one op."""
    __slots__ = ("next_functions", "_metadata")

    def __init__(self, next_functions):
        self.next_functions = tuple(next_functions)
        self._metadata = None

    def name(self):
        return type(self).__name__

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        raise RuntimeError(f"jtorch: {self.name()} is part of a fused jtorch op; register the hook on the "
                           "grad_fn of its output instead")

    register_prehook = register_hook

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


_STEPS = {}


def step(name, *entries):
    """(a Step named ``name`` whose next_functions are ``entries``, 0), or NO_EDGE when every entry is
    NO_EDGE (torch records no node for an op none of whose inputs needs grad)."""
    if all(e[0] is None for e in entries):
        return NO_EDGE
    cls = _STEPS.get(name)
    if cls is None:
        cls = _STEPS[name] = type(name, (Step,), {"__slots__": ()})
    return (cls(entries), 0)


def compute(node):
    """torch's next_functions of ``node`` (a recorded op's Node)."""
    op = node.op
    edges = dict(zip(node.diff, node.next_edges))
    inputs = node.inputs
    name = op.name
    numbers = name in _NUMBERS_ARE_INPUTS
    entries = {}  # dynamic position -> entry (only the positions torch has)
    for i, a in enumerate(inputs):
        if op.seq and i == 0 and isinstance(a, (list, tuple)):
            entries[0] = [edges.get((0, j), NO_EDGE) for j, t in enumerate(a)
                          if _is_tensor(t) and (numbers or _dtype(t)._cat >= 2)]
        elif _is_tensor(a):
            if _dtype(a)._cat >= 2 or (numbers and not (name == "_where" and i == 0)):
                entries[i] = edges.get((i, None), NO_EDGE)
        elif a is None:
            if name in _NONE_IS_INPUT:
                entries[i] = NO_EDGE
        elif numbers and isinstance(a, (int, float, complex)) and not isinstance(a, bool):
            if not (name == "sub" and i == 0):  # rsub(number, tensor): the number is a Scalar
                entries[i] = NO_EDGE
    if PARTS:
        entries = {i: [_part(x) for x in e] if isinstance(e, list) else _part(e) for i, e in entries.items()}
    if name in ("add", "mul") and 0 in entries and not _is_tensor(inputs[0]):
        entries = {0: entries[1], 1: entries[0]}  # ``2 + a`` is torch's ``a.__radd__(2)``: add(a, 2)
    shape = _SHAPES.get(name)
    if shape is not None:
        res = shape(node, inputs, entries)
        if res is not None:
            return res
    out = []
    for i in sorted(entries):
        e = entries[i]
        out.extend(e if isinstance(e, list) else [e])
    return tuple(out)


# split/chunk/unbind: torch's pieces share one node (SplitBackward0, ...) whose k-th output is piece k;
# jtorch's are separate views. ``mark_parts`` files each piece's node here, and an entry pointing at one
# becomes (the group's shared step, k).
PARTS = weakref.WeakKeyDictionary()


class _Group:
    __slots__ = ("name", "entry")

    def __init__(self, name):
        self.name, self.entry = name, None


def mark_parts(pieces, name):
    """Name the nodes of ``pieces`` (the outputs of one split) ``name`` and group them (see PARTS)."""
    nodes = [p._grad_fn for p in pieces]
    if not nodes or any(n is None for n in nodes):
        return
    from .graph import rename
    group = _Group(name)
    for k, n in enumerate(nodes):
        rename(n, name)
        PARTS[n] = (group, k)


def part_index(node):
    """k where ``node`` is the node of piece k of a split (torch's output_nr of that piece), else None."""
    hit = PARTS.get(node) if PARTS else None
    return None if hit is None else hit[1]


def _part(e):
    hit = PARTS.get(e[0]) if e[0] is not None else None
    if hit is None:
        return e
    group, k = hit
    if group.entry is None:
        group.entry = step(group.name, *e[0].next_functions)
    return (group.entry[0], k)


def _ndim(a):
    return getattr(a, "ndim", 0)


def _linear(node, inputs, e):
    # the structure of grad_fn_names._linear's cases: addmm(bias, input, weight.t()) or
    # mm(input, weight.t()), with the input viewed (unsqueezed for 1-D without bias) when not 2-D
    x, w_t = e.get(0, NO_EDGE), step("TBackward0", e.get(1, NO_EDGE))
    b = e.get(2, NO_EDGE)
    bias = inputs[2] is not None
    nd = _ndim(inputs[0])
    if nd == 2:
        return (b, x, w_t) if bias else (x, w_t)
    if bias:
        return (step("AddmmBackward0", b, step("ViewBackward0", x), w_t),)
    return (step("MmBackward0", step("UnsqueezeBackward0" if nd == 1 else "ViewBackward0", x), w_t),)


def _matmul(node, inputs, e):
    a, b = _ndim(inputs[0]), _ndim(inputs[1])
    x, y = e.get(0, NO_EDGE), e.get(1, NO_EDGE)
    if a >= 3 and b >= 3:
        if type(node).__name__ == "BmmBackward0":
            return None
        # torch: both expanded to the batch shape, reshaped to 3-D (a view when the expanded operand is
        # contiguous: not broadcast and contiguous before), bmm
        batch = _broadcast(inputs[0].shape[:-2], inputs[1].shape[:-2])
        cont = [tuple(t.shape[:-2]) == batch and (t.contiguous if isinstance(t, InputInfo) else t.is_contiguous())
                for t in inputs[:2]]
        return (step("BmmBackward0",
                     *(step("ViewBackward0" if c else "ReshapeAliasBackward0", step("ExpandBackward0", v))
                       for c, v in zip(cont, (x, y)))),)
    if a >= 3 and b <= 2:  # torch folds the batch into the rows: view, mm (or mv), unsafe view
        if b == 2:
            return (step("MmBackward0", step("ViewBackward0", x), y),)
        return (step("MvBackward0", step("ViewBackward0", x), y),)
    return None


def _broadcast(s1, s2):
    n = max(len(s1), len(s2))
    s1, s2 = (1,) * (n - len(s1)) + tuple(s1), (1,) * (n - len(s2)) + tuple(s2)
    return tuple(max(a, b) for a, b in zip(s1, s2))


def _reshape_copy(node, inputs, e):
    # torch's reshape of a tensor it cannot view: clone, then an unsafe view (the outer node)
    return (step("CloneBackward0", e.get(0, NO_EDGE)),)


def _cross_entropy(node, inputs, e):
    if node.statics[2]:  # label smoothing: torch's graph is a sum of two losses; left as one node
        return None
    return (step("LogSoftmaxBackward0", e.get(0, NO_EDGE)),)


def _basic_index(node, inputs, e):
    # torch applies x[i, None, 1:] one dimension at a time: each step but the last is a node
    from .grad_fn_names import _basic_index_steps
    steps = _basic_index_steps(node.statics, inputs)
    entry = e.get(0, NO_EDGE)
    for name in steps[:-1]:
        entry = step(name, entry)
    return (entry,)


def _l1_loss(node, inputs, e):
    # torch's l1_loss is a composite: (input - target).abs(), then mean or sum (the node's own name)
    if inputs[2] is not None:  # a weight: another chain, left as one node
        return None
    sub = step("SubBackward0", e.get(0, NO_EDGE), e.get(1, NO_EDGE))
    return (step("AbsBackward0", sub),) if node.statics[0] in ("mean", "sum") else (sub,)


def _complex_part(node, inputs, e):
    # torch's z.real / z.imag select from view_as_real(z)
    return (step("ViewAsRealBackward0", e.get(0, NO_EDGE)),)


_SHAPES = {
    "_real_part": _complex_part,
    "_imag_part": _complex_part,
    "_l1_loss": _l1_loss,
    "_linear": _linear,
    "_matmul": _matmul,
    "_reshape_copy": _reshape_copy,
    "_cross_entropy_index": _cross_entropy,
    "_basic_index_op": _basic_index,
}
