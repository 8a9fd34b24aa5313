"""Custom autograd Functions: user-written forward/backward in terms of Tensors."""
from .. import _dispatch
from .._dispatch import GRAD
from . import graph as _graph
from .graph import Node, edge_of
from ..tensor import HIDDEN
from . import _function_transforms as _transforms


class FunctionCtx:
    def save_for_backward(self, *tensors):
        self._saved = tensors
        self._saved_versions = [(t._st, t._st.version) if t is not None else None for t in tensors]
        if _graph._SAVED_HOOKS and _graph._SAVED_HOOKS[-1][0] is not None:
            # saved_tensors_hooks: saved_tensors gives back what unpack_hook returns
            pack, unpack = _graph._SAVED_HOOKS[-1]
            self._packed = [None if t is None else (unpack, pack(t)) for t in tensors]

    @property
    def saved_tensors(self):
        if getattr(self, "_freed", False):
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved "
                               "tensors after they have already been freed). Specify retain_graph=True if you "
                               "need to backward through the graph a second time.")
        for t, v in zip(getattr(self, "_saved", ()), getattr(self, "_saved_versions", ())):
            if v is not None and (v[0].version - v[1]) % HIDDEN:  # (``.data`` writes do not count)
                raise RuntimeError("one of the variables needed for gradient computation has been modified by "
                                   f"an inplace operation: [{t.type_name()} {list(t.shape)}] is at version "
                                   f"{v[0].version % HIDDEN}; expected version {v[1] % HIDDEN} instead.")
        packed = getattr(self, "_packed", None)
        if packed is not None:
            return tuple(None if p is None else p[0](p[1]) for p in packed)
        return getattr(self, "_saved", ())

    def save_for_forward(self, *tensors):
        self._saved_fwd = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self.materialize_grads = value


class BackwardCFunction(Node):
    """The graph node of one custom Function application."""
    __slots__ = ("ctx", "fn_cls")


    def _check_saved(self):
        if self.freed:
            super()._check_saved()

    def apply(self, grads, create_graph):
        ctx = self.ctx
        if ctx.materialize_grads:
            T = _dispatch.Tensor
            from .._ops.creation import zeros
            grads = [zeros(shape, dtype=dt) if g is None else g for g, (shape, dt) in zip(grads, self.out_meta)]
        res = self.fn_cls.backward(ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n_in = len(ctx._input_mask)
        if len(res) < n_in:
            raise RuntimeError(f"function {self.fn_cls.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(res)})")
        res = [r for r, m in zip(res, ctx._input_mask) if m]
        return res

    def release(self):
        self.freed = True
        self.ctx._freed = True


class FunctionMeta(type):
    """Gives each Function subclass its own node class, named like torch's (``MyFnBackward``)."""

    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"__slots__": ()})


class Function(metaclass=FunctionMeta):
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply``."""

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @staticmethod
    def vmap(info, in_dims, *args):
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap "
                                  "staticmethod or set generate_vmap_rule=True.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        if _transforms.traced(args):  # inside torch.func: the Function's rules at each JAX level
            return _transforms.apply(cls, args, kwargs)
        T = _dispatch.Tensor
        out, ctx = run_forward(cls, args, kwargs)
        mask, prev = ctx._input_mask, ctx._grad_was
        if not (prev and any(mask)):
            return out
        outs = out if isinstance(out, tuple) else (out,)
        node = cls._backward_cls()
        node.ctx, node.fn_cls = ctx, cls
        node.next_edges = tuple(edge_of(a) for a, m in zip(args, mask) if m)
        # torch's next_functions: an entry per tensor argument, (None, 0) for one that needs no grad
        node._nf = tuple(edge_of(a) or (None, 0) for a in args if isinstance(a, T))
        node.out_meta = tuple((o.shape, o.dtype) if isinstance(o, T) else ((), None) for o in outs)
        node.versions = []
        wrapped = []
        input_ids = {id(a) for a in args if isinstance(a, T)}
        for k, o in enumerate(outs):
            if isinstance(o, T):
                nd = id(o) in ctx._non_diff
                if id(o) in input_ids and id(o) not in getattr(ctx, "_dirty", set()):
                    o = o._alias()  # an input returned as-is gets a fresh identity, as in torch
                if not nd and o.dtype._cat >= 2:
                    o._requires_grad = True
                    o._grad_fn, o._out_idx = node, k
            wrapped.append(o)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


def new_ctx(args, for_transform=False):
    """A ctx for one application; under a transform every floating input counts as needing its gradient."""
    T = _dispatch.Tensor
    ctx = FunctionCtx()
    ctx.materialize_grads = True
    ctx._non_diff = set()
    if for_transform:
        mask = [isinstance(a, T) and a.dtype._cat >= 2 for a in args]
    else:
        mask = [isinstance(a, T) and a.requires_grad for a in args]
    ctx.needs_input_grad = tuple(mask)
    ctx._input_mask = mask
    return ctx


def run_forward(cls, args, kwargs):
    """(forward's output, its ctx) with grad mode off; ``setup_context`` (when overridden) sees ``forward``'s
    arguments with their defaults, as torch's."""
    ctx = new_ctx(args)
    mask = ctx._input_mask
    custom_setup = cls.setup_context is not Function.setup_context
    prev = GRAD.enabled
    ctx._grad_was = prev
    GRAD.enabled = False
    # (inside a compile trace JAX differentiates the program and cannot call this backward: it sees
    # through the forward, _compile_cuts.py)
    cut = _dispatch.CUT[0] if prev and any(mask) else None
    if cut is not None:
        was, cut.on = cut.on, False
    try:
        if custom_setup:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, _transforms.bind_defaults(cls, args, kwargs), out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    finally:
        GRAD.enabled = prev
        if cut is not None:
            cut.on = was
    return out, ctx


class once_differentiable:
    def __new__(cls, fn):
        return fn


class InplaceFunction(Function):
    pass


class NestedIOFunction(Function):
    pass
