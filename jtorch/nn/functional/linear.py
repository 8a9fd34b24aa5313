"""Linear maps (torch.nn.functional.linear / bilinear)."""
import jtorch as torch
from jtorch._ops import nn_ops as _k
from jtorch.amp import casts_together

__all__ = ["linear", "bilinear"]


def linear(input, weight, bias=None):
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        last = input.shape[-1] if input.ndim else 1
        rows = input.numel() // last if last else 0
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{last} and "
                           f"{weight.shape[-1]}x{weight.shape[0]})")
    if input.dtype != weight.dtype and not casts_together(input, weight):
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_name(input.dtype)} and "
                           f"{_name(weight.dtype)}")
    if weight.ndim == 2 and input.ndim >= 1:
        return _k._linear(input, weight, bias)
    out = torch.matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


def _name(dt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}.get(
        str(dt).split(".")[-1], str(dt).split(".")[-1])


def bilinear(input1, input2, weight, bias=None):
    if input1.ndim != input2.ndim:
        raise RuntimeError("bilinear(): input dimensions do not match: got " f"{input1.ndim} and {input2.ndim}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input size does not match weight size: got {input1.shape[-1]} and "
                           f"{input2.shape[-1]} but expected {weight.shape[1]} and {weight.shape[2]}")
    # y_k = x1^T W_k x2 + b_k
    # (..., 1, 1, i) @ (o, i, j) -> (..., o, 1, j) @ (..., 1, j, 1) -> (..., o, 1, 1)
    out = torch.matmul(torch.matmul(input1.unsqueeze(-2).unsqueeze(-3), weight), input2.unsqueeze(-2).unsqueeze(-1))
    out = out.squeeze(-1).squeeze(-1)
    if bias is not None:
        out = out + bias
    return out
