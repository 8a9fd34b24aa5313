"""The tape: graph nodes recorded by dispatch, and the backward engine.

A Node keeps its op's inputs as torch keeps saved tensors (jax arrays are
immutable, so keeping the array is a snapshot) plus each input's storage
version, so a saved tensor modified in place raises like torch. Backward of a
node is its op's VJP dispatched as an op, so with ``create_graph=True`` the
backward itself is recorded and higher-order gradients come for free.
"""
import collections
import math
import weakref

import jax
import jax.numpy as jnp

from .. import _dispatch
from .. import _dtype as D
from .._dispatch import GRAD
from . import anomaly_mode as _anomaly
from ..tensor import HIDDEN, rebased, view_write_error


class Node:
    """A recorded op application. ``next_edges[k]`` is (node, output_index) or
    None for the k-th differentiable input."""
    __slots__ = ("op", "statics", "dt", "diff", "saved", "inputs", "versions", "next_edges",
                 "out_meta", "freed", "_pre_hooks", "_hooks", "_tensor_hooks", "_retain", "_metadata",
                 "_nf", "__weakref__")

    def __init__(self):
        self.freed = False
        self._nf = None
        self._pre_hooks = self._hooks = self._tensor_hooks = self._retain = self._metadata = None

    @property
    def metadata(self):
        # created on first use: most nodes never have metadata, and record() is on the hot path
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self):
        # torch's entries (next_functions.py), built on first use and kept
        nf = self._nf
        if nf is None:
            from .next_functions import compute
            nf = self._nf = compute(self)
        return nf

    def register_hook(self, fn):
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)
        return _Handle(self._pre_hooks, fn)

    def _check_saved(self):
        if self.freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors "
                "after they have already been freed). Saved intermediate values of the graph are freed "
                "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                "backward through the graph a second time or if you need to access saved tensors after "
                "calling backward.")
        for st, ver, t in self.versions:
            if t._detached is not None and t._detached() is not self:  # (a node's own saved result: fine)
                raise RuntimeError("Trying to use a saved tensor that has been detached in-place, i.e. with "
                                   ".detach_().This is not supported, please use out-of-place `.detach()` instead")
            if st.version != ver:
                if (st.version - ver) % HIDDEN:  # (writes through ``.data`` aliases do not count, as torch's)
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified by an inplace "
                        f"operation: [{t.type_name()} {list(t.shape)}], which is output 0 of {self.name()}, is at "
                        f"version {st.version % HIDDEN}; expected version {ver % HIDDEN} instead. Hint: the "
                        "backtrace further above can be inspected to find the operation that failed to compute "
                        "its gradient.")

    def apply(self, grads, create_graph):
        """grads: one Tensor (or None) per output -> one Tensor (or None) per next edge."""
        self._check_saved()
        zero = self.op.zero_grads  # (the leading ``zero`` inputs get a structural zero, no VJP computed)
        if zero and any(jnp.iscomplexobj(a) for a in self.saved[:zero]):  # (complex abs, sgn: curved)
            zero = 0
        unread = self._unread(grads) if None in grads else ()
        if zero or unread:
            keep = tuple(d for d in self.diff if d[0] >= zero and d[0] not in unread)
            out = iter(self._vjp(grads, create_graph, keep) if keep else ())
            return [_Zero(e) if i < zero else None if i in unread else next(out)
                    for (i, _), e in zip(self.diff, self.next_edges)]
        if self.op.undefined_grad is not None:
            undefined = self.op.undefined_grad(self.statics, self.saved, grads)
            if undefined:
                if all(i in undefined for i, _ in self.diff):
                    return [None] * len(self.next_edges)
                out = self._vjp(grads, create_graph)
                return [None if i in undefined else g for (i, _), g in zip(self.diff, out)]
        return self._vjp(grads, create_graph)

    def _unread(self, grads):
        """For the node of a VJP op (a double backward), the primals that none of the gradients asked for
        (``grads`` not None) is computed from, by the differentiated op's ``saves``: torch computes each input's
        gradient with its own ops (``x * y``: ``grad * y`` and ``grad * x``), so the other primal gets nothing,
        not a zero that a pole further back would turn into ``0 * inf = nan``."""
        fwd = getattr(self.op, "forward", None)
        if fwd is None:
            return ()
        op, _, diff, _ = fwd
        saves = op.saves
        if saves is None or op.saves_result or op.selects or op.piecewise_linear:
            return ()
        n = len(op.dyn_idx)
        read = set()
        for (i, _), g in zip(diff, grads):
            if g is not None:
                read.update(saves([k == i for k in range(n)]) if callable(saves) else saves)
        return {i for i in range(n) if i not in read}

    def _vjp(self, grads, create_graph, diff=None):
        primals = self.saved
        if type(primals) is _Released:
            primals = primals.arrays()
            if create_graph:
                self.saved = primals  # _unpack needs the values (their graph edges are the node's)
        packed = _PACKED.get(self) if _HOOKS_USED else None
        if packed is not None:
            primals = list(primals)
            for i, (unpack, obj) in packed.items():
                primals[i] = _unpacked_array(unpack, obj, primals[i])
        if create_graph:
            primals = [_unpack(p, t, e) for p, t, e in zip(primals, self.inputs, self._saved_edges())]
            bcast = ()
        elif _dispatch.TRACE is None:
            if self.op.name == "_sum" and packed is None:
                g = _full_sum_grad(self.statics, primals[0], grads[0])
                if g is not None:
                    return [g]
            grads, bcast = _broadcast_cotangents(grads)
        else:
            bcast = ()
        vop = self.op.vjp_op(self.statics, self.dt, self.diff if diff is None else diff, len(self.out_meta), bcast)
        return list(_dispatch.apply(vop, [*primals, *grads], ()))

    def _saved_edges(self):
        """_input_edges, with None for the inputs the op does not save (``OpDef.saves``: torch's saved
        tensors). torch's double backward reaches only what its backward formula saved: ``sum``, ``mean``,
        views, ``cat``, ``add`` save nothing, ``x * 2`` saves only the 2. An edge to an input the backward
        never reads would carry a structural zero, and a zero sent back through an op with a pole (``log``,
        ``1/x`` at 0) becomes ``0 * inf = nan`` where torch's gradient is ``inf``."""
        edges = self._input_edges()
        if self.op.selects:
            return [None] * len(edges)
        saves = self.op.saves
        if saves is None or self.op.saves_result or self.op.saves_hidden:  # (torch's formula reads values
            return edges  # computed from the inputs: the result, intermediates; jtorch's reads the inputs)
        if callable(saves):  # (a function of which dynamic arguments require grad, as in record)
            diff = {i for i, _ in self.diff}
            saves = saves([i in diff for i in range(len(edges))])
        for i, e in enumerate(edges):
            if i not in saves:  # (a sequence argument's entry is a tuple of edges, as in _input_edges)
                edges[i] = tuple(None for _ in e) if self.op.seq and i == 0 and isinstance(self.saved[0], tuple) \
                    else None
        return edges

    def _input_edges(self):
        # map dynamic argument positions to the edge recorded for them
        m = dict(zip(self.diff, self.next_edges))
        out = []
        for i, p in enumerate(self.saved):
            if isinstance(p, tuple) and self.op.seq and i == 0:
                out.append(tuple(m.get((0, j)) for j in range(len(p))))
            else:
                out.append(m.get((i, None)))
        return out

    def release(self):
        op = self.op
        if getattr(op, "saves", None) == () and not op.saves_result and not op.saves_hidden and \
                self.saved is not None and not self.freed:
            released = _release_linear(self.saved, self.inputs, self.diff)
            if released is not None:
                # torch saves no tensor for these ops (linear ones: add, sum, views, cat, ...), so their
                # graph can be walked again; only the shapes of the differentiable inputs are kept
                self.saved = released
                self.inputs = [tuple(None for _ in p) if isinstance(p, tuple) else None for p in released]
                return
        self.freed = True
        if self._nf is None and self.inputs is not None:  # next_functions still answers after backward
            from .next_functions import light_inputs
            self.saved, self.inputs = None, light_inputs(self.inputs, self.op.name == "_matmul")
        else:
            self.saved = self.inputs = None


def _full_sum_grad(statics, primal, g):
    """The gradient of a large full float sum (``x.sum()``) as ``g.expand(x.shape)``, a stride-0 view
    as torch's, instead of a broadcast written out: an op consuming it gets the 0-dim value
    (_broadcast_cotangents). None where the VJP does more than broadcast (a dtype cast, complex), and
    below ``_dispatch.LARGE`` elements (there the view costs more Python than the broadcast saves)."""
    if math.prod(primal.shape) < _dispatch.LARGE or statics != (None, False, None) or g is None or \
            g._vfn or g.ndim != 0:
        return None
    dt = g._shape_dtype()[1]
    if dt != primal.dtype or dt.kind != "f":
        return None
    return g.expand(primal.shape)


def _broadcast_cotangents(grads):
    """``grads`` with each cotangent that is a broadcast of a 0-dim tensor (an expand view of it, as
    _full_sum_grad makes) replaced by that tensor (a new list: the engine's hooks see the
    cotangents as they were), and those positions, for ``vjp_op``'s ``bcast``."""
    bcast = ()
    for k, g in enumerate(grads):
        if g is not None and g._vfn:
            b = g._base
            if b is not None and not b._vfn and b.ndim == 0 and b._shape_dtype()[1] == g._shape_dtype()[1] \
                    and g.ndim:
                if not bcast:
                    grads = list(grads)
                grads[k] = b
                bcast += (k,)
    return grads, bcast


class _Shape:
    """A differentiable input's stand-in in a released linear node (its value never enters the VJP)."""
    __slots__ = ("shape", "dtype", "meta")

    def __init__(self, v):
        self.shape, self.dtype = v.shape, v.dtype
        # a meta input stays meta (no zeros of its size are made for a second walk)
        self.meta = v if type(v) is _dispatch.MetaArray else None


class _Released(tuple):
    """A released linear node's inputs: _Shape for the differentiable ones, the rest as they were."""
    __slots__ = ()

    def arrays(self):
        def zero(v):
            if type(v) is _Shape:
                return jnp.zeros(v.shape, v.dtype) if v.meta is None else v.meta
            return v
        return tuple(tuple(zero(v) for v in p) if isinstance(p, tuple) else zero(p) for p in self)


def _release_linear(saved, inputs, diff):
    """``saved`` with its differentiable arrays replaced by _Shape, or None when an integer tensor
    argument (advanced indices, repeats: a tensor torch saves) is among the inputs."""
    T = _dispatch.Tensor
    for i, a in enumerate(inputs):
        if type(a) is T or isinstance(a, T):
            if (i, None) not in diff and a._shape_dtype()[1].kind in "biu":
                return None
        elif isinstance(a, (tuple, list)):
            for j, v in enumerate(a):
                if isinstance(v, T) and (i, j) not in diff and v._shape_dtype()[1].kind in "biu":
                    return None
    out = list(saved)
    for i, j in diff:
        if j is None:
            out[i] = _Shape(out[i])
        else:
            p = list(out[i])
            p[j] = _Shape(p[j])
            out[i] = tuple(p)
    return _Released(out)


def _unpack(arr, t, edge):
    """A saved value as a Tensor connected to the graph (for create_graph)."""
    if isinstance(arr, tuple):
        if edge is None:  # a non-differentiable tuple argument (e.g. basic indexing's offsets)
            return arr
        return tuple(_unpack(a, x, e) for a, x, e in zip(arr, t, edge))
    if edge is None:
        return arr if not hasattr(arr, "shape") or t is None else _dispatch.Tensor._wrap(arr)
    node, idx = edge
    if isinstance(node, AccumulateGrad):
        return node.variable
    x = _dispatch.Tensor._wrap(arr)
    x._requires_grad = True
    x._grad_fn, x._out_idx = node, idx
    return x


class _Handle:
    def __init__(self, lst, fn):
        self.lst, self.fn = lst, fn

    def remove(self):
        try:
            self.lst.remove(self.fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.remove()


class _Zero:
    """A gradient known to be zero without computing it (torch's ZeroTensor in a backward pass): what a
    double backward sends to the inputs of an op whose backward is piecewise constant in them (``abs``), and
    ``sgn``'s own gradient (``OpDef.zero_grads``). It passes through op nodes as a zero and is dropped where it meets a
    real gradient, so a pole further back (``abs(1/x)`` at 0) gives torch's inf, not ``0 * inf = nan``;
    leaves, hooks and ``autograd.grad`` results see it as a zero tensor."""
    __slots__ = ("shape", "dtype")

    def __init__(self, edge):
        self.shape, self.dtype = edge[0].out_meta[edge[1]]

    def tensor(self):
        return _dispatch.Tensor._wrap(jnp.zeros(tuple(self.shape), self.dtype.np))


def _real(grads):
    """``grads`` with structural zeros made zero tensors."""
    return [g.tensor() if type(g) is _Zero else g for g in grads]


class AccumulateGrad(Node):
    """The sink of a leaf tensor: adds incoming gradients into ``variable.grad``."""
    __slots__ = ("variable",)

    def __init__(self, variable):
        super().__init__()
        self.variable = variable
        self.next_edges = ()
        self.out_meta = ((variable.shape, variable.dtype),)

    def name(self):
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def _check_saved(self):
        pass

    def apply(self, grads, create_graph):
        return []


_NAMES = {}


def _named_node_class(name):
    cls = _NAMES.get(name)
    if cls is None:
        cls = _NAMES[name] = type(name, (Node,), {"__slots__": ()})
    return cls


def rename(node, name):
    """Give a just-recorded node torch's name ``name`` (node classes differ only by name)."""
    if type(node).__name__ != name and type(node).__bases__ == (Node,):
        node.__class__ = _named_node_class(name)


def _node_class(op):
    """A Node subclass named like torch's (AddBackward0) so grad_fn prints familiarly; for the ops
    of grad_fn_names.NAMES whose torch name depends on the call, the function choosing it."""
    from jtorch.autograd.grad_fn_names import NAMES
    name = NAMES.get(op.name)
    if callable(name):
        return name
    if name is None:
        name = "".join(w[:1].upper() + w[1:] for w in op.name.strip("_").split("_")) + "Backward0"
    return _named_node_class(name)


def edge_of(t):
    """The edge through which gradient reaches tensor ``t`` (None if it needs none)."""
    if not t._requires_grad:
        return None
    if t._base is not None and t._gver_seen != t._base._gver:
        t._refresh_view_grad_fn()
    if t._grad_fn is not None:
        return (t._grad_fn, t._out_idx)
    acc = t._accumulator
    if acc is None:
        acc = t._accumulator = AccumulateGrad(t)
    return (acc, 0)


def _host_free(a):
    """A copy of jax array ``a`` in a buffer of its own (not one a numpy array shares)."""
    return jnp.array(a, copy=True) if isinstance(a, jax.Array) else a


def _saved_version(a, versions):
    """Note tensor ``a``'s version for the check in backward (an op saved it); True when its value must be
    copied: its array reads a numpy buffer in place, which later in-place writes overwrite (a saved value
    keeps what the op read; torch's version check sees those writes)."""
    st = a._st
    if st.inference:
        raise _inference_saved_error()
    vc = a._vc  # (a tensor with a counter of its own: ``.data``, an ``unsafe_split`` piece)
    versions.append((st, st.version, a) if vc is None else (vc, vc.version, a))
    return st.host is not None and st.alias is True


def record(op, statics, dt, dyn, arrays, res):
    """Attach a Node for ``op`` to its outputs ``res``."""
    T = _dispatch.Tensor
    diff, edges, versions = [], [], []
    stale = None  # a split/chunk/unbind piece written since it was made (see tensor.rebased)
    saves = op.saves
    if callable(saves):
        saves = saves([isinstance(a, T) and a._requires_grad for a in dyn])
    for i, a in enumerate(dyn):
        if type(a) is T or isinstance(a, T):
            if a._requires_grad and _FROM_NP[a._shape_dtype()[1]]._cat >= 2:
                diff.append(_DIFF[i] if i < 8 else (i, None))
                if a._base is None and a._grad_fn is not None:  # edge_of's common case, inlined
                    edges.append((a._grad_fn, a._out_idx))
                elif a._cm is not None and rebased(a):
                    stale = a  # (raises below if the result is differentiable: a cast to bool is fine)
                    edges.append(None)
                else:
                    edges.append(edge_of(a))
            elif a._base is not None and a.requires_grad and _FROM_NP[a._shape_dtype()[1]]._cat >= 2:
                # a view made in no_grad mode or before its base required grad: the result requires grad,
                # with no gradient through it (torch's edge-less input)
                diff.append(_DIFF[i] if i < 8 else (i, None))
                edges.append((a._grad_fn, a._out_idx) if a._grad_fn is not None else None)
            if saves is None or i in saves:
                if _saved_version(a, versions):
                    arrays = list(arrays)
                    arrays[i] = _host_free(arrays[i])
            elif (op.saves_result is not False or op.saves_hidden) and a._st.host is not None and \
                    a._st.alias is True:  # (torch keeps the result, unchanged by writes; jtorch's VJP reads the input)
                arrays = list(arrays)
                arrays[i] = _host_free(arrays[i])
        elif op.seq and i == 0 and isinstance(a, (list, tuple)):
            flags = [isinstance(t, T) and t._requires_grad and t.dtype._cat >= 2 for t in a]
            for j, t in enumerate(a):
                if flags[j]:
                    diff.append((0, j))
                    edges.append(edge_of(t))
            if saves is None or 0 in saves:  # (the tensors of a list argument: ``einsum``'s operands)
                saved = range(len(a)) if op.saves_seq is None else op.saves_seq(a, flags, statics)
                for j in saved:
                    if isinstance(a[j], T) and _saved_version(a[j], versions):
                        arrays = list(arrays)
                        arrays[0] = tuple(_host_free(v) if k == j else v for k, v in enumerate(arrays[0]))
    if not diff:
        return
    if stale is not None and any(o.dtype._cat >= 2 for o in (res if isinstance(res, tuple) else (res,))):
        raise view_write_error(stale, rebased=True)  # (torch: when its grad_fn is asked for)
    sr = op.saves_result
    if sr is not False and (sr is True or type(sr) is tuple or sr != "inplace" and sr(dyn, statics)):
        outs = res if isinstance(res, tuple) else (res,)
        for o in (outs if type(sr) is not tuple else [outs[k] for k in sr]):
            versions.append((o._st, o._st.version, o))
    cls = op.__dict__.get("_node_cls")
    if cls is None:
        cls = op._node_cls = _node_class(op)
    if cls.__class__ is not type:  # torch's name depends on this call (grad_fn_names)
        cls = _named_node_class(cls(statics, dyn))
    node = _new(cls)  # Node.__init__'s fields, set here without the call
    node.freed = False
    node._nf = None
    node._pre_hooks = node._hooks = node._tensor_hooks = node._retain = node._metadata = None
    node.op, node.statics, node.dt, node.diff = op, statics, dt, tuple(diff)
    node.saved, node.inputs, node.versions, node.next_edges = tuple(arrays), list(dyn), versions, tuple(edges)
    if _SAVED_HOOKS:
        _pack_saved(node, saves, dyn)
    if isinstance(res, tuple):
        node.out_meta = tuple((o.shape, o.dtype) for o in res)
        for k, o in enumerate(res):
            if o.dtype._cat >= 2:
                o._requires_grad = True
                o._grad_fn, o._out_idx = node, k
    else:
        shape, npdt = res._shape_dtype()
        dtype = _FROM_NP[npdt]
        node.out_meta = ((shape, dtype),)
        if dtype._cat >= 2:
            res._requires_grad = True
            res._grad_fn = node
    return node


# torch.autograd.graph.saved_tensors_hooks: the innermost (pack, unpack) pair, and per node the packed
# objects of the inputs its backward reads (the positions its op declares in `saves=`). The node keeps
# its own arrays too (the tape also holds its inputs), so hooks change what backward computes from, not
# what memory is held; and they see the inputs jtorch's VJPs read, which are not always the tensors
# torch saves (torch's exp saves its result).
_SAVED_HOOKS = []
_PACKED = weakref.WeakKeyDictionary()
_HOOKS_USED = False  # set once anything was packed: backward looks packed values up only after that


def _pack_saved(node, saves, dyn):
    pack, unpack = _SAVED_HOOKS[-1]
    if pack is None:  # disable_saved_tensors_hooks: no hooks to run
        return
    T = _dispatch.Tensor
    packed = {}
    for i, a in enumerate(dyn):
        if isinstance(a, T) and (saves is None or i in saves):
            packed[i] = (unpack, pack(a))
    if packed:
        global _HOOKS_USED
        _HOOKS_USED = True
        _PACKED[node] = packed


def _unpacked_array(unpack, obj, original):
    t = unpack(obj)
    if not isinstance(t, _dispatch.Tensor):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                        f"{type(t).__name__}")
    arr = t._value
    if tuple(arr.shape) != tuple(original.shape):
        raise RuntimeError("unpack_hook must return a tensor of the shape of the tensor that was packed: "
                           f"got {tuple(arr.shape)}, expected {tuple(original.shape)}")
    return arr


def _inference_saved_error():
    return RuntimeError(
        "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode "
        "in computation tracked by autograd. To work around this, you can make a clone to get a normal tensor "
        "and use it in autograd.")


_new = object.__new__
_FROM_NP = D._FROM_NP
_DIFF = [(i, None) for i in range(8)]


# ---------------------------------------------------------------- the engine
_FINAL_CALLBACKS = []  # one list per running backward (nested backwards stack)
NODE_HOOK = [None]  # set by jtorch.profiler while a profile records: hook(node, run) times ``run()``


def queue_callback(fn):
    """Run ``fn()`` once the running backward pass has finished (torch's
    ``Variable._execution_engine.queue_callback``; DDP reduces gradients there)."""
    if not _FINAL_CALLBACKS:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _FINAL_CALLBACKS[-1].append(fn)


def run_backward(roots, grad_roots, retain_graph, create_graph, inputs=None, allow_unused=False,
                 accumulate=True):
    """The backward pass (``_run_backward``), then the callbacks queued while it ran."""
    _FINAL_CALLBACKS.append([])
    try:
        res = _run_backward(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused, accumulate)
        callbacks = _FINAL_CALLBACKS[-1]
        while callbacks:  # a callback may queue another
            callbacks.pop(0)()
        return res
    finally:
        _FINAL_CALLBACKS.pop()


def _run_backward(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused, accumulate):
    """Backpropagate from ``roots`` (tensors) with seed ``grad_roots``.

    accumulate=True: add into leaves' ``.grad`` (restricted to ``inputs`` if given).
    accumulate=False: return the gradients of ``inputs`` (autograd.grad).
    """
    T = _dispatch.Tensor
    if _dispatch.TRACE is not None:
        _dispatch.TRACE.backward_ran = True
    root_edges = []
    for r in roots:
        e = edge_of(r)
        if e is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        root_edges.append(e)

    targets = None
    if inputs is not None:
        targets = {}
        for k, t in enumerate(inputs):
            e = edge_of(t)
            if e is None:
                if not t.requires_grad:
                    raise RuntimeError("One of the differentiated Tensors does not require grad")
                continue
            targets.setdefault((id(e[0]), e[1]), []).append(k)

    # dependency counts over the reachable graph (nodes hash by identity)
    deps = {}
    stack = [e[0] for e in root_edges]
    seen = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        for e in n.next_edges:
            if e is not None:
                nxt = e[0]
                deps[nxt] = deps.get(nxt, 0) + 1
                stack.append(nxt)

    # prune to the nodes whose backward leads to a target (a target's own node runs only if another
    # target lies behind it: ``autograd.grad(y, b)`` stops at b, as torch's, even if b's node was freed)
    if targets is not None:
        useful = {}

        def needed(n):
            k = id(n)
            r = useful.get(k)
            if r is None:
                useful[k] = r = False  # (until known)
                for e in n.next_edges:
                    if e is not None:
                        m = e[0]
                        if needed(m) or any((id(m), i) in targets for i in range(len(m.out_meta))):
                            r = True  # (needed(m) first: every node's answer is known when the loop runs)
                useful[k] = r
            return r
        for e in root_edges:
            needed(e[0])
    else:
        useful = None
    for n in seen:  # (a freed node that would run: torch's error before any gradient is accumulated)
        if n.freed and not isinstance(n, AccumulateGrad) and (useful is None or useful.get(id(n))):
            n._check_saved()

    buffers = {}
    for (node, idx), g in zip(root_edges, grad_roots):
        _accum(buffers, node, idx, g)

    captured = [None] * (len(inputs) if inputs is not None else 0)
    ready = []
    for e in root_edges:
        n = e[0]
        if n not in deps and n not in ready:
            ready.append(n)
    prev = GRAD.enabled
    GRAD.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * len(node.out_meta)
            zeros_only = False
            for g in grads:
                if type(g) is _Zero:
                    if isinstance(getattr(node, "op", None), _dispatch.OpDef) and not (
                            node._pre_hooks or node._tensor_hooks or node._retain or node._hooks or
                            targets is not None and any((id(node), k) in targets for k in range(len(grads)))):
                        # (an op's backward is linear in its cotangents: a zero one adds nothing)
                        zeros_only = all(g is None or type(g) is _Zero for g in grads)
                        grads = [None if type(g) is _Zero else g for g in grads]
                    else:
                        grads = _real(grads)
                    break
            if zeros_only:  # (zeros in, zeros out)
                for e in node.next_edges:
                    if e is not None:
                        _accum(buffers, e[0], e[1], _Zero(e))
                        deps[e[0]] -= 1
                        if deps[e[0]] == 0:
                            ready.append(e[0])
                if not retain_graph:
                    node.release()
                continue
            if node._pre_hooks:
                for h in node._pre_hooks:
                    r = h(tuple(grads))
                    if r is not None:
                        grads = list(r)
            if node._tensor_hooks:
                for k, hooks in node._tensor_hooks.items():
                    for h in hooks:
                        if grads[k] is not None:
                            r = h(grads[k])
                            if r is not None:
                                grads[k] = r
            if node._retain:
                for k, t in node._retain.items():
                    if grads[k] is not None:
                        t.grad = grads[k] if create_graph else grads[k].detach()
            if targets is not None:
                for k in range(len(grads)):
                    for pos in targets.get((id(node), k), ()):
                        captured[pos] = grads[k]
            if type(node) is AccumulateGrad:
                if accumulate and grads[0] is not None and (targets is None or (id(node), 0) in targets) and \
                        node.variable._requires_grad:  # (a leaf detached in place since gets nothing)
                    if NODE_HOOK[0] is None:
                        _accumulate_leaf(node.variable, grads[0], create_graph)
                    else:
                        NODE_HOOK[0](node, lambda: _accumulate_leaf(node.variable, grads[0], create_graph))
                if node._hooks:
                    for h in node._hooks:
                        h(tuple(grads), ())
                continue
            any_grad = False
            for g in grads:
                if g is not None:
                    any_grad = True
                    break
            if not any_grad or (useful is not None and not useful.get(id(node))):
                in_grads = [None] * len(node.next_edges)
            else:
                in_grads = node.apply(grads, create_graph) if NODE_HOOK[0] is None else \
                    NODE_HOOK[0](node, lambda: node.apply(grads, create_graph))
                if _anomaly.STATE[0]:
                    _anomaly.check_nan(node, in_grads)
            if node._hooks:
                for h in node._hooks:
                    r = h(tuple(in_grads), tuple(grads))
                    if r is not None:
                        in_grads = list(r)
            if not retain_graph:
                node.release()
            for e, g in zip(node.next_edges, in_grads):
                if e is None:
                    continue
                nxt = e[0]
                if g is not None:
                    _accum(buffers, nxt, e[1], g)
                d = deps[nxt] - 1
                deps[nxt] = d
                if d == 0:
                    ready.append(nxt)
    finally:
        GRAD.enabled = prev
    if inputs is not None and not accumulate:
        for k, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        return captured
    return None


def _accum(buffers, node, idx, g):
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * len(node.out_meta)
    if g is None:
        return
    if type(g) is _Zero:  # (a structural zero adds nothing)
        if buf[idx] is None:
            buf[idx] = g
        return
    if type(buf[idx]) is _Zero:
        buf[idx] = None
    shape = node.out_meta[idx][0]
    if g._shape_dtype()[0] != shape:
        g = g.sum_to_size(shape)
    buf[idx] = g if buf[idx] is None else buf[idx] + g


def _accumulate_leaf(var, g, create_graph):
    if g.dtype != var.dtype:
        g = g.to(var.dtype)
    grad = var._grad
    if type(g) is not _dispatch.Tensor and _dispatch.OVERLOADS.get(type(g)) is not False and _dispatches(g):
        # a tensor subclass with __torch_dispatch__ (its data may be elsewhere): torch's detach, then its add
        if grad is None:
            var.grad = g.detach()
        else:
            grad.add_(g)
        return
    if grad is None:
        # a fresh Tensor over the same immutable array: a free copy, so in-place
        # accumulation never touches the tensor that flowed here
        var.grad = g if create_graph or g.is_sparse else _dispatch.Tensor._wrap(g._lazy_value())
        if var._st.layout is not None and not var._vfn:
            _grad_layout(var)
    elif create_graph or g.is_sparse or grad.is_sparse:
        # a sparse gradient (nn.Embedding(sparse=True)) joins or replaces the leaf's (sparse + sparse is sparse)
        var.grad = grad + g if not grad.is_sparse or g.is_sparse else g + grad
    else:
        # ``grad.add_(g)`` without its in-place checks: grad mode is off here (no leaf check and
        # nothing recorded) and ``g`` already has the leaf's shape and dtype
        g = g.detach() if g._requires_grad else g
        if _dispatch.TRACE is None:  # the bare sum (no Tensor around it) goes straight into the storage
            new = _add().call_raw((grad, g))
            grad._set_array(new if type(new) is not _dispatch.Tensor else new._lazy_value())
        else:
            grad._set_array(_add()(grad, g)._lazy_value())


def _grad_layout(var):
    """torch's gradient layout contract: a dense leaf's new ``.grad`` has the leaf's strides."""
    from .._memfmt import lay, copy_as
    g = var._grad
    if g.is_sparse or g.stride() == var.stride():
        return
    order = var._st.layout
    var.grad = copy_as(g, order) if g._strides is not None or g._grad_fn is not None else lay(g, order)


def _dispatches(g):
    from .._subclass_dispatch import dispatches
    return dispatches(type(g))


_ADD = []


def _add():
    if not _ADD:
        from .._ops.pointwise import add
        _ADD.append(add)
    return _ADD[0]


class saved_tensors_hooks:
    """Inside the block, each tensor an op saves for backward goes through ``pack_hook`` when the op
    runs, and backward computes from ``unpack_hook(packed)``."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        if _SAVED_HOOKS and _SAVED_HOOKS[-1][0] is None:
            raise RuntimeError(_SAVED_HOOKS[-1][1])
        _SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        _SAVED_HOOKS.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are moved to the CPU when packed and back to their device when unpacked."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return t.device, (t.cpu().pin_memory() if pin_memory and not t.is_sparse else t.cpu())

        def unpack(packed):
            device, t = packed
            return t.to(device, non_blocking=pin_memory)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Inside the block, saving a tensor with hooks (or entering saved_tensors_hooks) raises RuntimeError
    with ``error_message``."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        _SAVED_HOOKS.append((None, self.error_message))
        return self

    def __exit__(self, *exc):
        _SAVED_HOOKS.pop()
        return False
