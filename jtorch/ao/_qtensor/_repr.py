"""torch's repr of a quantized tensor: its dequantized values, then size, dtype, quantization scheme and
parameters as suffixes wrapped at the print width."""
from ..._tensor_str import _with_suffixes, tensor_repr
from ._tensor import per_channel_affine, per_channel_affine_float_qparams, per_channel_symmetric

_INDENT = len("tensor(")


def qtensor_repr(t):
    body = tensor_repr(t.dequantize())
    body = body[:body.index("(") + 1] + _values_only(body)
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    suffix += [f"size={tuple(t.shape)}", f"dtype={t.dtype}", f"quantization_scheme={t.qscheme()}"]
    if t.qscheme() in (per_channel_affine, per_channel_symmetric, per_channel_affine_float_qparams):
        suffix += [f"scale={t.q_per_channel_scales()!r}", f"zero_point={t.q_per_channel_zero_points()!r}",
                   f"axis={t.q_per_channel_axis()}"]
    else:
        suffix += [f"scale={t.q_scale()}", f"zero_point={t.q_zero_point()}"]
    return _with_suffixes(body, suffix, _INDENT)


def _values_only(r):
    """The values part of a float tensor's repr ``tensor(VALUES[, suffixes])``: up to the bracket closing
    the values (a 0-dim tensor has no bracket: up to the first suffix or the end)."""
    inner = r[r.index("(") + 1:-1]
    if inner.startswith("["):
        depth = 0
        for i, c in enumerate(inner):
            depth += c == "["
            depth -= c == "]"
            if depth == 0:
                return inner[:i + 1]
    return inner.split(",")[0]
