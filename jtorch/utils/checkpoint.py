"""torch.utils.checkpoint: trade compute for memory by recomputing a segment in backward.

How it works here. ``checkpoint(fn, *args)`` runs ``fn`` once with autograd recording, on
detached copies of its tensor arguments, only to learn which leaf tensors requiring grad it reads
besides its arguments (its parameters, and leaves behind tensors it closes over): the walk goes
through ``grad_fn.next_functions`` to the ``AccumulateGrad`` nodes. The outputs are returned detached
and re-attached to the graph through one custom ``autograd.Function`` whose inputs are the arguments
plus those leaves, so the recorded segment graph (the activations) is garbage as soon as ``fn``
returns: between forward and backward only the inputs are kept, which is the memory property.
In backward the Function reruns ``fn`` with grad enabled (same RNG state when
``preserve_rng_state``, so dropout draws the same mask) and takes ``autograd.grad`` of the
recomputed outputs with respect to the arguments and leaves, inside the autocast regions
that were active in forward. Peak memory of a segment is the
same as torch's: one segment's activations while it is being (re)computed.

Both ``use_reentrant`` variants use this mechanism, so both give gradients to parameters even when
no input requires grad, and both work with ``autograd.grad`` and ``create_graph=True``. What differs
is what torch checks: the reentrant variant rejects keyword arguments and warns when no input
requires grad, as torch does."""
import warnings

import jax

import jtorch as torch

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction", "noop_context_fn",
           "detach_variable", "set_checkpoint_early_stop", "set_checkpoint_debug_enabled"]


class CheckpointError(RuntimeError):
    pass


def noop_context_fn():
    import contextlib
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs):
    if isinstance(inputs, tuple):
        out = []
        for inp in inputs:
            if not isinstance(inp, torch.Tensor):
                out.append(inp)
                continue
            x = inp.detach()
            x.requires_grad = inp.requires_grad
            out.append(x)
        return tuple(out)
    raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: ", type(inputs).__name__)


class set_checkpoint_early_stop:
    """Accepted for compatibility: recomputation here always runs the whole segment."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class set_checkpoint_debug_enabled(set_checkpoint_early_stop):
    pass


def _is_tensor(x):
    return isinstance(x, torch.Tensor)


def _flatten(out):
    return jax.tree_util.tree_flatten(out, is_leaf=_is_tensor)


def _detach_args(args):
    res = []
    for a in args:
        if _is_tensor(a):
            d = a.detach()
            if a.requires_grad:
                d.requires_grad_(True)
            res.append(d)
        else:
            res.append(a)
    return res


def _leaves_of(outputs, exclude):
    """Leaf tensors requiring grad reached from ``outputs``' graph, in first-seen order."""
    leaves, seen_nodes, seen_leaves = [], set(), set(exclude)
    stack = [o.grad_fn for o in outputs if _is_tensor(o) and o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None:
            if id(var) not in seen_leaves:
                seen_leaves.add(id(var))
                leaves.append(var)
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return leaves


def _rng_state(preserve):
    # The default generator's key is a tensor (jtorch.random): a copy of it is the RNG state, and
    # copying works inside jtorch.compile's trace too, where get_rng_state()'s bytes are not concrete.
    if not preserve:
        return None
    return torch.default_generator._key.clone()


class _restored_rng:
    """Run with the default generator at ``state``, then put back the state it had."""

    def __init__(self, state):
        self.state = state

    def __enter__(self):
        if self.state is not None:
            key = torch.default_generator._key
            self.saved = key.clone()
            with torch.no_grad():
                key.copy_(self.state)

    def __exit__(self, *exc):
        if self.state is not None:
            with torch.no_grad():
                torch.default_generator._key.copy_(self.saved)
        return False


class _restored_autocast:
    """Run with the autocast regions that were active when the segment ran forward (backward
    usually runs outside them: a float16 segment must recompute in float16), then put back the
    ones active now."""

    def __init__(self, state):
        self.state = state

    def _set(self, state):
        from jtorch import _dispatch, amp
        amp._ACTIVE.clear()
        amp._ACTIVE.update(state)
        _dispatch.AUTOCAST[0] = amp._cast_inputs if amp._ACTIVE else None

    def __enter__(self):
        from jtorch import amp
        self.saved = dict(amp._ACTIVE)
        self._set(self.state)

    def __exit__(self, *exc):
        self._set(self.saved)
        return False


def _autocast_state():
    from jtorch import amp
    return dict(amp._ACTIVE)


class CheckpointFunction(torch.autograd.Function):
    """The node that stands for a checkpointed segment: inputs are the segment's tensor arguments
    followed by the leaves it reads; backward recomputes the segment."""

    @staticmethod
    def forward(ctx, seg, *inputs):
        ctx.seg = seg
        ctx.set_materialize_grads(False)
        return tuple(o.detach() if _is_tensor(o) else o for o in seg.flat_out)

    @staticmethod
    def backward(ctx, *grads):
        seg = ctx.seg  # (a second backward without retain_graph is refused by the engine, as for any node)
        flat_out, args = seg.recompute()
        if seg.check and len(flat_out) != len(seg.out_meta):
            raise CheckpointError("torch.utils.checkpoint: recomputed the segment and got a different number of "
                                  f"outputs ({len(flat_out)} vs {len(seg.out_meta)})")
        for k, (o, m) in enumerate(zip(flat_out, seg.out_meta)):
            got = (tuple(o.shape), o.dtype) if _is_tensor(o) else None
            if seg.check and got != m:
                raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following tensors have "
                                      f"different metadata than during the forward pass.\ntensor at position {k}:\n"
                                      f"saved metadata: {m}\nrecomputed metadata: {got}")
        outs, gs = [], []
        for o, g in zip(flat_out, grads):
            if _is_tensor(o) and o.requires_grad and g is not None:
                outs.append(o)
                gs.append(g)
        wrt_pos = [i for i, a in enumerate(args) if _is_tensor(a) and a.requires_grad]
        wrt = [args[i] for i in wrt_pos] + list(seg.leaves)
        res = [None] * (len(seg.tensor_pos) + len(seg.leaves))
        if outs and wrt:
            got = torch.autograd.grad(outs, wrt, gs, retain_graph=True, create_graph=torch.is_grad_enabled(),
                                      allow_unused=True)
            pos_of = {p: k for k, p in enumerate(seg.tensor_pos)}
            for i, g in zip(wrt_pos, got[:len(wrt_pos)]):
                res[pos_of[i]] = g
            for k, g in enumerate(got[len(wrt_pos):]):
                res[len(seg.tensor_pos) + k] = g
        return (None,) + tuple(res)


class _Segment:
    """What backward needs to recompute one checkpointed call."""

    def __init__(self, fn, args, kwargs, rng, context_fn):
        self.fn, self.args, self.kwargs, self.rng, self.context_fn = fn, args, kwargs, rng, context_fn
        self.autocast = _autocast_state()

    def recompute(self):
        # under create_graph the recomputation hangs off the real inputs, so the returned gradients
        # are differentiable with respect to them too (double backward)
        args = list(self.args) if torch.is_grad_enabled() else _detach_args(self.args)
        _, recompute_ctx = self.context_fn()
        with _restored_rng(self.rng), _restored_autocast(self.autocast):
            with torch.enable_grad(), recompute_ctx:
                out = self.fn(*args, **self.kwargs)
        return _flatten(out)[0], args


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations for backward; they are
    recomputed when the gradient is needed. Same results and gradients as calling it directly."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=2)
        use_reentrant = True
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if use_reentrant:
        if context_fn is not noop_context_fn or debug:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not torch.is_grad_enabled():
        return function(*args, **kwargs)
    if use_reentrant and not any(_is_tensor(a) and a.requires_grad for a in args):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None")
        with torch.no_grad():
            return function(*args, **kwargs)
    rng = _rng_state(preserve_rng_state)
    dargs = _detach_args(args)
    forward_ctx, _ = context_fn()
    with forward_ctx:
        out = function(*dargs, **kwargs)
    flat, tree = _flatten(out)
    tensor_pos = [i for i, a in enumerate(args) if _is_tensor(a)]
    leaves = _leaves_of(flat, [id(a) for a in dargs if _is_tensor(a)])
    if not leaves and not any(args[i].requires_grad for i in tensor_pos):
        return out  # nothing to differentiate: no graph was recorded
    seg = _Segment(function, args, kwargs, rng, context_fn)
    seg.flat_out = flat
    seg.out_meta = [(tuple(o.shape), o.dtype) if _is_tensor(o) else None for o in flat]
    seg.tensor_pos = tensor_pos
    seg.leaves = leaves
    res = CheckpointFunction.apply(seg, *[args[i] for i in tensor_pos], *leaves)
    seg.flat_out = None  # drop the discovery graph: only the inputs stay alive until backward
    seg.check = determinism_check == "default"
    return jax.tree_util.tree_unflatten(tree, list(res))


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Split ``functions`` (a Sequential or a list of modules) into ``segments`` chunks; checkpoint
    every chunk but the last."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
                      "passed explicitly. use_reentrant=False is recommended, but if you need to preserve the "
                      "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
                      "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    if isinstance(functions, torch.nn.Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
