"""The Python dispatch level of library operators: ``TorchDispatchMode``s and tensor subclasses with a
``__torch_dispatch__``, and the rules ``register_torch_dispatch`` adds for them.

A call reaches it below autograd, when a kernel of the op would run (``_custom_ops.call``). As in torch, the
innermost mode goes first (off while it runs); else each tensor subclass among the arguments in turn until
one does not return NotImplemented. A rule registered for the mode's or subclass's own class runs
instead of its ``__torch_dispatch__``: ``rule(mode_or_class, func, types, args, kwargs)``."""
from .. import _dispatch
from ..utils import _python_dispatch as PD

RULES = {}  # "ns::name.overload" (no ".default") -> {class: rule}
_NOT_CLAIMED = object()


def _rule(key, cls):
    rules = RULES.get(key)
    return rules.get(cls) if rules else None  # (the class itself, not its bases: as torch)


def _handled_types(tensors):
    """The argument tensors' subclasses that define ``__torch_dispatch__`` (torch's ``types``), in order."""
    out = []
    for t in tensors:
        c = type(t)
        if c not in out and getattr(c, "__torch_dispatch__", None) is not None:
            out.append(c)
    return tuple(out)


def python_dispatch(entry, vals, tensors):
    """The result a mode, subclass or rule gives for this call, or _NOT_CLAIMED where none applies."""
    stack = PD._STACK
    types = _handled_types(tensors) if any(type(t) is not _dispatch.Tensor for t in tensors) else ()
    if not stack and not types:
        return _NOT_CLAIMED
    args, kwargs = [], {}
    for a, v in zip(entry.schema.arguments, vals):
        if a.kwarg_only:
            kwargs[a.name] = v
        else:
            args.append(v)
    args, func = tuple(args), entry.overload
    if stack:
        mode = stack.pop()
        try:
            rule = _rule(entry.key, type(mode))
            if rule is not None:
                return rule(mode, func, types, args, kwargs)
            return mode.__torch_dispatch__(func, types, args, kwargs)
        finally:
            stack.append(mode)
    for cls in types:
        rule = _rule(entry.key, cls)
        out = rule(cls, func, types, args, kwargs) if rule is not None else \
            cls.__torch_dispatch__(func, types, args, kwargs)
        if out is not NotImplemented:
            return out
    raise TypeError(f"Multiple dispatch failed for '{func}'; all __torch_dispatch__ handlers returned "
                    f"NotImplemented:\n\n" + "".join(f"  - tensor subclass {c}\n" for c in types))
