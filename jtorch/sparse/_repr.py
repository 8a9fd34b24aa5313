"""torch's repr of sparse tensors: the component tensors' reprs (without their dtype), indented
under their names, then size/nnz/dtype/layout suffixes wrapped at the print width."""
import numpy as np

from .. import _dtype as D
from .._tensor_str import PRINT, _fmt_array, _render, _summarize, _summarized_values


def _component(t, indent):
    """``tensor([...])`` laid out as if it started at column ``indent``; an empty one shows its size."""
    a = np.asarray(t.detach()._value)
    if a.size == 0:
        return f"tensor([], size={tuple(a.shape)})"
    shown = _summarized_values(a) if _summarize(a) else a
    strs, width = _fmt_array(shown, t.dtype)
    return "tensor(" + _render(shown, a.shape, strs, width, indent + len("tensor(")) + ")"


def sparse_repr(t):
    lay = t.layout.name
    if lay == "sparse_coo":
        parts = [("indices", t._indices()), ("values", t._values())]
    else:
        names = {"sparse_csr": ("crow_indices", "col_indices"), "sparse_bsr": ("crow_indices", "col_indices"),
                 "sparse_csc": ("ccol_indices", "row_indices"), "sparse_bsc": ("ccol_indices", "row_indices")}[lay]
        parts = [(names[0], t._compressed), (names[1], t._plain), ("values", t._values_t)]
    indent = len("tensor(")
    body = ""
    for k, (name, comp) in enumerate(parts):
        lead = "tensor(" if k == 0 else ",\n" + " " * indent
        body += lead + name + "=" + _component(comp, indent + len(name) + 1)
    suffix = [f"size={tuple(t.shape)}", f"nnz={t._nnz()}"]
    if t.device.type != "cpu":
        suffix.insert(0, f"device='{t.device}'")
    if t.dtype not in (D.get_default_dtype(), D.int64, D.bool):
        suffix.append(f"dtype={t.dtype}")
    suffix.append(f"layout=torch.{lay}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    # COO starts its suffixes on a new line; each suffix wraps when the line would pass the width
    newline = lay == "sparse_coo"
    line = len(body) - body.rfind("\n") + 1
    for s in suffix:
        if newline or line + len(s) + 2 > PRINT["linewidth"]:
            body += ",\n" + " " * indent + s
            line = indent + len(s)
            newline = False
        else:
            body += ", " + s
            line += len(s) + 2
    return body + ")"
