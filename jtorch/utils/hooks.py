"""torch.utils.hooks: the handle every ``register_*_hook`` returns, and the serialization check on
tensor hooks."""
import warnings
import weakref
from collections import OrderedDict

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks", "BackwardHook"]


class RemovableHandle:
    """Removes a hook from the dict (and the extra dicts) it was added to: ``handle.remove()`` or ``with``.
    The dicts are held weakly, so a handle does not keep a module's or optimizer's hooks alive."""
    next_id = 0  # one counter for every handle, so ids never collide within a dict

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = extra_dict if isinstance(extra_dict, list) else ([] if extra_dict is None else [extra_dict])
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self):
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __getstate__(self):
        extras = tuple(ref() for ref in self.extra_dict_ref)
        return (self.hooks_dict_ref(), self.id, extras)

    def __setstate__(self, state):
        # a dict that did not survive pickling is replaced by an empty one, dead at once like the original
        hooks, self.id = state[0], state[1]
        self.hooks_dict_ref = weakref.ref(OrderedDict() if hooks is None else hooks)
        extras = state[2] if len(state) > 2 else ()
        self.extra_dict_ref = tuple(weakref.ref(OrderedDict() if d is None else d) for d in extras)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def unserializable_hook(f):
    """Marks a tensor hook as one that ``torch.save`` may drop without a warning."""
    f.__torch_unserializable__ = True
    return f


def _tensor_hooks(tensor):
    """The backward hooks registered on ``tensor`` (kept on its autograd node, see Tensor.register_hook)."""
    if not tensor.requires_grad:
        return []
    node, key = (tensor._grad_fn, tensor._out_idx) if tensor._grad_fn is not None else (tensor._accumulator, 0)
    hooks = getattr(node, "_tensor_hooks", None) if node is not None else None
    return list(hooks.get(key, ())) if hooks else []


def warn_if_has_hooks(tensor):
    for hook in _tensor_hooks(tensor):
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this is expected, you can "
                          "decorate the function with @torch.utils.hooks.unserializable_hook to suppress this warning")


class BackwardHook:
    """A module's full backward hooks: identity autograd Functions around the module's tensor inputs and outputs
    catch grad_output (running ``user_pre_hooks(module, grad_output)``, which may replace it) and grad_input
    (running ``user_hooks(module, grad_input, grad_output)``, which may replace it). The hook lists are the ones
    registered when the module was called, as in torch."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_mask = ()

    def setup_input_hook(self, args):
        import jtorch as torch
        Tensor = torch.Tensor
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        self.input_mask = tuple(isinstance(a, Tensor) for a in args)
        if not any(needs) or not torch.is_grad_enabled():
            return args
        state = self
        # every tensor argument goes through the hook (as torch's does), so one that does not require grad still
        # gets a (zero) grad_input entry
        idx = [i for i, m in enumerate(self.input_mask) if m]

        class BackwardHookFunction(torch.autograd.Function):  # torch's grad_fn name
            @staticmethod
            def forward(ctx, *ts):
                return tuple(t.view_as(t) for t in ts)

            @staticmethod
            def backward(ctx, *grads):
                full = [None] * len(args)
                for i, g in zip(idx, grads):
                    full[i] = g
                res = state._run_hooks(tuple(full))
                if res is not None:
                    return tuple(res[i] for i in idx)
                return grads

        outs = BackwardHookFunction.apply(*[args[i] for i in idx])
        if not isinstance(outs, tuple):
            outs = (outs,)
        new = list(args)
        for i, o in zip(idx, outs):
            new[i] = o
        self.n_inputs = len(idx)
        return tuple(new)

    def _run_hooks(self, grad_input):
        res = None
        for hook in self.user_hooks:
            out = hook(self.module, grad_input if res is None else res, self.grad_outputs)
            if out is not None:
                res = tuple(out) if isinstance(out, (tuple, list)) else (out,)
                if len(res) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(res)}, "
                                       f"but expected {len(grad_input)}")
        return res

    def setup_output_hook(self, result):
        import jtorch as torch
        is_tuple = isinstance(result, tuple)
        outs = result if is_tuple else (result,)
        idx = [i for i, o in enumerate(outs) if isinstance(o, torch.Tensor) and o.requires_grad]
        if not idx or not torch.is_grad_enabled():
            return result
        state = self
        n = len(outs)

        class BackwardHookFunction(torch.autograd.Function):  # torch's grad_fn name
            @staticmethod
            def forward(ctx, *ts):
                return tuple(t.view_as(t) for t in ts)

            @staticmethod
            def backward(ctx, *grads):
                full = [None] * n
                for i, g in zip(idx, grads):
                    full[i] = g
                go = tuple(full)
                for hook in state.user_pre_hooks:
                    r = hook(state.module, go)
                    if r is not None:
                        go = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                state.grad_outputs = go
                if state.n_inputs == 0:
                    state._run_hooks((None,) * len(state.input_mask))
                return tuple(go[i] for i in idx)

        wrapped = BackwardHookFunction.apply(*[outs[i] for i in idx])
        if not isinstance(wrapped, tuple):
            wrapped = (wrapped,)
        new = list(outs)
        for i, w in zip(idx, wrapped):
            new[i] = w
        return tuple(new) if is_tuple else new[0]
