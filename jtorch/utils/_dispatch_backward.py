"""torch's backward formulas, in aten ops, for the backward of a node seen at the Python dispatch level.

jtorch's backward of a node is one fused VJP op. Where a ``TorchDispatchMode`` or a tensor subclass's
``__torch_dispatch__`` would see it, the common ops' backward is run instead as the aten calls torch's
derivative formulas make (``mm``: ``t`` + ``mm``; ``relu``: ``threshold_backward``; ``sum``: ``expand``), each
through the mode or handler, so a subclass that implements only those ops gets its gradients too. Ops not
listed here keep the fused VJP (a ``jtorch.<op>_backward`` call). Each formula gets the forward's dynamic
arguments (Tensors or numbers), its statics by name, the cotangents, and the wanted positions; it returns
one gradient per position."""
import sys
import weakref

from .. import _dispatch


def _A():
    import jtorch
    return jtorch.ops.aten


def _shape(t):
    return tuple(t.shape) if isinstance(t, _dispatch.Tensor) else ()


def _reduce_to(call, g, shape):
    """``g`` summed down to ``shape`` (the broadcast an elementwise op made), as torch's ``sum_to``: one sum
    over the leading and the broadcast dimensions, keeping them, then a ``view`` where leading ones go."""
    gs = tuple(g.shape)
    shape = tuple(shape)
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    dims = list(range(lead)) + [lead + i for i, n in enumerate(shape) if n == 1 and gs[lead + i] != 1]
    A = _A()
    if dims:
        g = call(A.sum.dim_IntList, g, dims, True)
    if lead:
        g = call(A.view.default, g, list(shape))
    return g


def _add(call, p, s, g, want, sign=1):
    A = _A()
    out = {}
    alpha = 1 if len(p) < 3 or p[2] is None else p[2]
    if 0 in want:
        out[0] = _reduce_to(call, g, _shape(p[0]))
    if 1 in want:
        if sign < 0 and alpha == 1:
            go = call(A.neg.default, g)
        elif alpha == 1:
            go = g
        else:
            go = call(A.mul.Tensor, g, -alpha if sign < 0 else alpha)
        out[1] = _reduce_to(call, go, _shape(p[1]))
    return out


def _sub(call, p, s, g, want):
    return _add(call, p, s, g, want, -1)


def _mul(call, p, s, g, want):
    if (0 in want and p[1] is None) or (1 in want and p[0] is None):
        return None  # (a value the node did not keep: create_graph)
    A = _A()
    out = {}
    if 0 in want:
        out[0] = _reduce_to(call, call(A.mul.Tensor, g, p[1]), _shape(p[0]))
    if 1 in want:
        out[1] = _reduce_to(call, call(A.mul.Tensor, g, p[0]), _shape(p[1]))
    return out


def _neg(call, p, s, g, want):
    return {0: call(_A().neg.default, g)}


# ops whose torch formula reads the saved result: their forward shows a ``detach`` of it (kept per node here,
# as torch's saved variable), their backward another, then the formula
_RESULTS = weakref.WeakKeyDictionary()  # node -> the detached result its forward saved


def save_result(out, saved):
    node = getattr(out, "_grad_fn", None)
    if node is not None:
        _RESULTS[node] = saved


def _saved_result(p):
    """The running node's saved result (the node is ``Node.apply``'s ``self`` on the stack), or None."""
    from ..autograd.graph import Node
    code = Node.apply.__code__
    f = sys._getframe(2)
    for _ in range(12):
        if f is None:
            return None
        if f.f_code is code:
            return _RESULTS.get(f.f_locals.get("self"))
        f = f.f_back
    return None


def _relu(call, p, s, g, want):
    r = _saved_result(p)
    if r is None:
        r = p[0]  # (the input's sign is the same mask)
    if r is None:
        return None
    A = _A()
    return {0: call(A.threshold_backward.default, g, call(A.detach.default, r), 0)}


def _of_result(formula):
    def backward(call, p, s, g, want):
        r = _saved_result(p)
        if r is None:
            return None
        return {0: formula(call, _A(), g, call(_A().detach.default, r))}
    return backward


_tanh = _of_result(lambda call, A, g, r: call(A.tanh_backward.default, g, r))
_sigmoid = _of_result(lambda call, A, g, r: call(A.sigmoid_backward.default, g, r))
_exp = _of_result(lambda call, A, g, r: call(A.mul.Tensor, g, r))


def _sum(call, p, s, g, want):
    A = _A()
    shape = list(_shape(p[0]))
    dim = s.get("dim")
    if dim is not None and not s.get("keepdim"):
        for d in sorted(d % len(shape) for d in ((dim,) if isinstance(dim, int) else dim)):
            g = call(A.unsqueeze.default, g, d)
    return {0: call(A.expand.default, g, shape)}


def _matmul(call, p, s, g, want):
    a, b = p[0], p[1]
    if a is None or b is None or len(_shape(a)) != 2 or len(_shape(b)) != 2:
        return None
    A = _A()
    out = {}
    if 0 in want:
        out[0] = call(A.mm.default, g, call(A.t.default, b))
    if 1 in want:
        out[1] = call(A.mm.default, call(A.t.default, a), g)
    return out


def _linear(call, p, s, g, want):
    """torch runs a 2-D linear as ``t`` + ``addmm``: addmm's formula (the weight's through the ``t``)."""
    x, w = p[0], p[1]
    b = p[2] if len(p) > 2 else None
    if x is None or w is None or len(_shape(x)) != 2 or len(_shape(w)) != 2:
        return None
    A = _A()
    out = {}
    if 0 in want:
        out[0] = call(A.mm.default, g, call(A.t.default, call(A.t.default, w)))
    if 1 in want:
        gw = call(A.mm.default, call(A.t.default, x), g)
    if 2 in want and b is not None:
        out[2] = _reduce_to(call, g, _shape(b))
    if 1 in want:
        out[1] = call(A.t.default, gw)
    return out


def _view(call, p, s, g, want):
    return {0: call(_A().view.default, g, list(_shape(p[0])))}


def _permute(call, p, s, g, want):
    dims = tuple(s["dims"])
    A = _A()
    if dims == (1, 0):
        return {0: call(A.t.default, g)}
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return {0: call(A.permute.default, g, inverse)}


def _cast(call, p, s, g, want):
    return {0: call(_A()._to_copy.default, g, dtype=p[0].dtype)}


def _clone(call, p, s, g, want):
    return {0: g}


def _broadcast(op, statics, primals, c):
    import jax
    from . import _python_dispatch as PD
    avals = [jax.ShapeDtypeStruct(*a._shape_dtype()) if isinstance(a, _dispatch.Tensor) else a for a in primals]
    shape = jax.eval_shape(op.pure(statics, None), *avals).shape
    saved = PD._STACK[:]
    del PD._STACK[:]
    try:
        return c.expand(shape)
    finally:
        PD._STACK[:] = saved


SAVES_RESULT = frozenset(["relu", "tanh", "sigmoid", "exp"])
FORMULAS = {"add": _add, "sub": _sub, "mul": _mul, "neg": _neg, "relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid,
            "exp": _exp, "_sum": _sum, "_matmul": _matmul, "_linear": _linear,
            "_view": _view, "_permute": _permute, "_cast": _cast,
            "clone": _clone}


def run(vop, dyn, tensors, call):
    """The gradients of ``vop`` (a node's backward: primals then cotangents in ``dyn``) by the forward's
    formula, as a tuple (one per differentiable position); None where no formula applies."""
    op, statics, diff, bcast = vop.forward
    f = FORMULAS.get(op.name)
    if f is None or op.seq or any(j is not None for _, j in diff):
        return None
    n = len(op.dyn_idx)
    if any(type(a).__name__ == "_Shape" for a in dyn[:n]):
        return None  # (a released node's values)
    primals = [tensors(a) for a in dyn[:n]]
    cts = [tensors(a) for a in dyn[n:]]
    if len(cts) != 1 or cts[0] is None:
        return None
    if bcast:  # (the engine passed a broadcast cotangent's 0-dim value: the broadcast, past the modes)
        cts[0] = _broadcast(op, statics, primals, cts[0])
    if any(isinstance(a, _dispatch.Tensor) and a.dtype.is_complex for a in primals + cts):
        return None  # (torch's conjugates)
    s = dict(zip(op.static_names, statics))
    if s.get("dtype") is not None and op.name != "_cast":
        return None
    got = f(call, primals, s, cts[0], {i for i, _ in diff})
    if got is None:
        return None
    return tuple(got[i] for i, _ in diff)
