"""torch's printed forms: ``nested_tensor([...])`` listing the components (strided layout) and
``NestedTensor(size=..., offsets=..., ...)`` (jagged layout)."""
from .. import _legacy


def _grad_suffix(nt):
    if nt.requires_grad and nt.is_leaf:
        return ", requires_grad=True"
    if nt.grad_fn is not None:
        return f", grad_fn=<{type(nt.grad_fn).__name__}>" if nt._layout is _legacy.strided else \
            f", grad_fn={nt.grad_fn!r}"
    return ""


def nested_repr(nt):
    if nt._layout is _legacy.jagged:
        size = "(" + ", ".join(str(s) for s in nt._meta[0]) + ")"
        return (f"NestedTensor(size={size}, offsets={nt._offsets!r}{_grad_suffix(nt)}, "
                f"contiguous={nt.is_contiguous()})")
    parts = []
    for c in nt.unbind():
        c = c.detach()
        if nt.requires_grad:
            c.requires_grad_(True)  # (torch shows each component as requiring grad)
        parts.append("  " + repr(c).replace("\n", "\n  "))
    return "nested_tensor([\n" + ",\n".join(parts) + "\n]" + _grad_suffix(nt) + ")"
