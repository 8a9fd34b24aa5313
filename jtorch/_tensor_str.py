"""torch's tensor repr: tensor([...], dtype=..., requires_grad=True / grad_fn=<...>)."""
import numpy as np

from . import _chalf, _dtype as D

PRINT = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    if profile == "default":
        PRINT.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        PRINT.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        PRINT.update(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)
    for k, v in dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth).items():
        if v is not None:
            PRINT[k] = v
    PRINT["sci_mode"] = sci_mode


def _float_formatter(vals):
    finite = vals[np.isfinite(vals)]
    p = PRINT["precision"]
    if finite.size == 0:
        return lambda x: _nonfinite(x) or f"{x:.{p}f}", False
    absf = np.abs(finite)
    ints = np.all(finite == np.round(finite))
    mx, mn = absf.max(), absf[absf > 0].min() if (absf > 0).any() else 0.0
    sci = PRINT["sci_mode"]
    if sci is None and not ints:
        sci = mx >= 1e8 or (mn != 0 and mn < 1e-4) or (mn != 0 and mx / mn > 1000.0 and not ints)
    if sci is None and ints:
        sci = mx > 1e8 or (mn != 0 and mx / mn > 1000.0)
    if ints and not sci:
        return lambda x: _nonfinite(x) or f"{x:.0f}.", False
    if sci:
        return lambda x: _nonfinite(x) or f"{x:.{p}e}", True
    return lambda x: _nonfinite(x) or f"{x:.{p}f}", False


def _nonfinite(x):
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return None


def _fmt_array(a, dtype):
    if a.dtype == np.bool_:
        f = lambda x: "True" if x else "False"  # noqa: E731
    elif dtype.is_complex:
        # torch formats the real and imaginary parts each with its own formatter; the real part is
        # padded to its column width, the imaginary part is not, and elements are not padded further
        re, im = a.real.ravel().astype(np.float64), a.imag.ravel().astype(np.float64)
        rstrs, rwidth = _fmt_array(re, D.float64)
        istrs, iwidth = _fmt_array(im, D.float64)
        flat = []
        for r, i in zip(rstrs, istrs):
            i = i + "j"
            flat.append(r.rjust(rwidth) + ("" if i[0] in "+-" else "+") + i)
        return flat, -(rwidth + iwidth + 1)  # negative: the line-wrapping width, elements unpadded
    elif dtype.is_floating_point:
        f, _ = _float_formatter(a.astype(np.float64).ravel())
    else:
        f = str
    vals = a.astype(np.float64).ravel() if dtype.is_floating_point else a.ravel()
    flat = [f(x) for x in vals]
    if dtype.is_floating_point:
        # torch sizes columns by the nonzero finite values only (a -0. or a nan may stick out), at least 1
        width = max((len(s) for s, v in zip(flat, vals) if np.isfinite(v) and v != 0), default=1)
    else:
        width = max((len(s) for s in flat), default=1)
    return flat, width


def _summarize(a):
    return a.size > PRINT["threshold"]


def _render(shown, real_shape, strs, width, indent):
    """Nested-bracket layout like torch's: rows wrapped at linewidth, ' ...' where summarized."""
    e = PRINT["edgeitems"]
    if shown.ndim == 0:
        return strs[0]

    def rec(shape, real, level, sub):
        if len(shape) == 1:
            items = list(sub) if width < 0 else [s.rjust(width) for s in sub]
            if real[0] > len(sub):
                items = items[:e] + [" ..."] + items[e:]
            per_line = max(1, (PRINT["linewidth"] - indent - level) // (abs(width) + 2))
            lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
            return "[" + (",\n" + " " * (indent + level + 1)).join(lines) + "]"
        n = shape[0]
        step = len(sub) // n if n else 0
        parts = [rec(shape[1:], real[1:], level + 1, sub[i * step:(i + 1) * step]) for i in range(n)]
        if real[0] > n:
            parts = parts[:e] + ["..."] + parts[e:]
        sep = "," + "\n" * (len(shape) - 1) + " " * (indent + level + 1)
        return "[" + sep.join(parts) + "]"
    return rec(shown.shape, real_shape, 0, strs)


def _summarized_values(a):
    e = PRINT["edgeitems"]
    for ax in range(a.ndim):
        if a.shape[ax] > 2 * e:
            a = np.concatenate([np.take(a, range(e), ax), np.take(a, range(a.shape[ax] - e, a.shape[ax]), ax)], ax)
    return a


def tensor_repr(t, tensor_contents=None):
    from .tensor import Tensor
    if tensor_contents is not None:
        return _contents_repr(t, tensor_contents)
    if t.is_meta:
        return _meta_repr(t)
    a = np.asarray(_chalf.value(t) if _chalf.is_chalf_backed(t) else t._value)
    dtype = t.dtype
    summarize = _summarize(a)
    shown = _summarized_values(a) if summarize else a
    name = _prefix_name(t)
    if shown.size == 0 and a.ndim:
        body = "[]"
    else:
        strs, width = _fmt_array(shown, dtype)
        body = _render(shown, a.shape, strs, width, len(name) + 1)
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    default_types = (D.get_default_dtype(), D.get_default_dtype().to_complex(), D.int64, D.bool)
    if a.size == 0 and a.ndim and a.shape != (0,):
        suffix.append(f"size={tuple(a.shape)}")
    if dtype not in default_types or (a.size == 0 and dtype is not D.get_default_dtype()):
        suffix.append(f"dtype={dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    prefix = "Parameter containing:\n" if type(t).__name__ == "Parameter" else ""
    return prefix + _with_suffixes(name + "(" + body, suffix, len(name) + 1)


def _contents_repr(t, contents):
    """``Tensor.__repr__(tensor_contents=s)`` (a wrapper subclass's own ``__repr__`` calls it with its inner
    tensor's text): the class name around ``s``, with the suffixes read from the metadata alone."""
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if t.dtype not in (D.get_default_dtype(), D.get_default_dtype().to_complex(), D.int64, D.bool):
        suffix.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    name = _prefix_name(t)
    return _with_suffixes(name + "(" + contents, suffix, len(name) + 1)


def _with_suffixes(text, suffixes, indent):
    """``text`` (``tensor([...``) closed with its suffixes (dtype=..., grad_fn=...): as torch, a suffix that
    would take the last line past the line width starts a line of its own."""
    used = len(text) - text.rfind("\n") + 1  # (torch's count: the last line's length plus 2)
    for s in suffixes:
        if used + len(s) + 2 > PRINT["linewidth"]:
            text += ",\n" + " " * indent + s
            used = indent + len(s)
        else:
            text += ", " + s
            used += len(s) + 2
    return text + ")"


def _prefix_name(t):
    """A user's Tensor subclass prints under its class name (``MyTensor([1., 2.])``), as in torch;
    plain tensors and jtorch's own kinds (Parameter, ...) print as ``tensor(...)``."""
    cls = type(t)
    return "tensor" if cls.__module__.split(".")[0] == "jtorch" else cls.__name__


def _meta_repr(t):
    """A meta tensor has no values: torch prints its size instead (and any dtype but the default)."""
    suffix = ["device='meta'", f"size={tuple(t.shape)}"]
    if t.dtype is not D.get_default_dtype():
        suffix.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    prefix = "Parameter containing:\n" if type(t).__name__ == "Parameter" else ""
    return prefix + _prefix_name(t) + "(..., " + ", ".join(suffix) + ")"
