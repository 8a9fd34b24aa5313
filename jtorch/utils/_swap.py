"""torch.utils.swap_tensors: two tensor objects trade everything they are (class, attributes, data,
autograd state), so every reference to ``t1`` now sees what ``t2`` was and the other way round.

A jtorch tensor's data and autograd state live in its slots, so swapping the slots, ``__dict__`` and
``__class__`` is the whole swap. Limit: a view keeps its base tensor *object*, so a view taken of ``t1``
before the swap reads ``t1``'s new contents afterwards (torch refuses to swap such a tensor).
"""
import copyreg
import weakref

_POISONED = ("Trying to execute AccumulateGrad node that was poisoned by swap_tensors this can happen when you try "
             "to run backward on a tensor that was swapped. For a module m with "
             "`torch.__future__.set_swap_module_params_on_conversion(True)` you should not change the device or dtype "
             "of the module (e.g. `m.cpu()` or `m.half()`) between running forward and backward. To resolve this, "
             "please only change the device/dtype before running forward (or after both forward and backward).")


def _refuse_backward(grads):
    raise RuntimeError(_POISONED)


def swap_tensors(t1, t2):
    from ..tensor import Tensor
    for name, t in (("t1", t1), ("t2", t2)):
        if not isinstance(t, Tensor):
            raise AttributeError(f"swap_tensors expects tensors, but {name} is a '{type(t).__name__}' object")
        if weakref.getweakrefcount(t) > 0:
            raise RuntimeError(f"Cannot swap {name} because it has weakref associated with it")
    slots = set(copyreg._slotnames(type(t1)))
    if slots != set(copyreg._slotnames(type(t2))):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    if t1 is t2:
        return
    # graphs already built accumulate into the old leaves: running them now would write a gradient into the
    # wrong object, so their accumulators refuse (as torch's do) and each tensor gets a fresh one on next use;
    # the hooks registered on a tensor go with its data (torch keeps them with the data too)
    hooks = []
    for t in (t1, t2):
        acc = t._accumulator
        hooks.append(acc._tensor_hooks if acc is not None else None)
        if acc is not None:
            acc.register_prehook(_refuse_backward)
            t._accumulator = None
    cls1, cls2 = type(t1), type(t2)
    t1.__class__, t2.__class__ = cls2, cls1
    t1.__dict__, t2.__dict__ = t2.__dict__, t1.__dict__
    missing = object()
    for name in slots:
        v1, v2 = getattr(t1, name, missing), getattr(t2, name, missing)
        for t, v in ((t1, v2), (t2, v1)):
            if v is missing:
                if hasattr(t, name):
                    delattr(t, name)
            else:
                setattr(t, name, v)
    from ..autograd.graph import edge_of
    for t, moved in ((t2, hooks[0]), (t1, hooks[1])):
        if moved and t.requires_grad:
            edge_of(t)[0]._tensor_hooks = {k: list(v) for k, v in moved.items()}
