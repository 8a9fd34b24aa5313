"""torch.utils.hooks: the handle every ``register_*_hook`` returns, and the serialization check on
tensor hooks."""
import warnings
import weakref
from collections import OrderedDict

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


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
