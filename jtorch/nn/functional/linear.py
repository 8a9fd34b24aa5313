"""Linear maps (torch.nn.functional.linear / bilinear / grouped_mm)."""
import jtorch as torch
from jtorch._dispatch import wants_tensors
from jtorch._ops import nn_ops as _k
from jtorch.amp import casts_together
from jtorch._dtype import scalar_type_name

__all__ = ["linear", "bilinear", "grouped_mm"]


@wants_tensors("input", "weight", "bias")
def linear(input, weight, bias=None):
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        last = input.shape[-1] if input.ndim else 1
        rows = input.numel() // last if last else 0
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{last} and "
                           f"{weight.shape[-1]}x{weight.shape[0]})")
    if input.dtype != weight.dtype and not casts_together(input, weight):
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {scalar_type_name(input.dtype)} and "
                           f"{scalar_type_name(weight.dtype)}")
    if weight.ndim == 2 and input.ndim >= 1:
        return _k._linear(input, weight, bias)
    out = torch.matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


@wants_tensors("input1", "input2", "weight", "bias")
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


def _check_grouped_operand(m, name):
    if m.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                           f"{str(m.dtype).split('.')[-1].capitalize().replace('Int64', 'Long')}")
    if m.dim() not in (2, 3):
        raise RuntimeError(f"{name} must be 2d or 3d")
    # torch's kernels need one unit stride among the matrix dims and the other a multiple of 16 bytes
    s = m.stride()[-2:]
    lead = s[0] if s[1] == 1 else s[1] if s[0] == 1 else None
    if lead is None or (lead * m.element_size()) % 16:
        raise RuntimeError("strides should be multiple of 16 bytes")


def grouped_mm(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    """Matrix products of groups at once. 2d x 3d: the rows of ``mat_a`` are split into groups at the cumulative
    ends ``offs`` and group g multiplies ``mat_b[g]``; 3d x 2d: the columns of ``mat_b`` are grouped, multiplied by
    ``mat_a[g]``; 2d x 2d: the shared dimension is grouped, giving one product per group; 3d x 3d (no offs):
    batched. Rows/columns past the last offset are zero."""
    for m, name in ((mat_a, "mat_a"), (mat_b, "mat_b")):
        _check_grouped_operand(m, name)
    if mat_a.dtype != mat_b.dtype:
        raise RuntimeError("Expected mat_a and mat_b to have the same dtype")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and out_dtype != mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    both3d = mat_a.dim() == 3 and mat_b.dim() == 3
    if (offs is None) != both3d:
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d")
    if offs is not None:
        if offs.dtype != torch.int32:
            raise RuntimeError("Offsets have to be int32")
        if offs.dim() != 1:
            raise RuntimeError("Offsets have to be 1D")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError(f"contraction dimension of mat_a and mat_b must match, got {mat_a.shape[-1]} and "
                           f"{mat_b.shape[-2]}")
    if both3d:
        if mat_a.shape[0] != mat_b.shape[0]:
            raise RuntimeError("batch sizes of mat_a and mat_b must match")
        return torch.bmm(mat_a, mat_b)

    def member(n):
        """(G, n) mask: position i belongs to group g when offs[g-1] <= i < offs[g]."""
        ends = offs.to(torch.int64)
        starts = torch.cat([ends.new_zeros(1), ends[:-1]])
        i = torch.arange(n, device=ends.device)
        return ((i >= starts[:, None]) & (i < ends[:, None])).to(mat_a.dtype)
    if mat_a.dim() == 2 and mat_b.dim() == 3:  # group rows of a
        if offs.shape[0] != mat_b.shape[0]:
            raise RuntimeError("matrix batch sizes have to match the number of offsets")
        mask = member(mat_a.shape[0])  # (G, M)
        return (torch.matmul(mat_a, mat_b) * mask[:, :, None]).sum(0)
    if mat_a.dim() == 3:  # group columns of b
        if offs.shape[0] != mat_a.shape[0]:
            raise RuntimeError("matrix batch sizes have to match the number of offsets")
        mask = member(mat_b.shape[1])  # (G, N)
        return (torch.matmul(mat_a, mat_b) * mask[:, None, :]).sum(0)
    mask = member(mat_a.shape[1])  # 2d x 2d: group the shared dimension, (G, K)
    return torch.matmul(mat_a[None] * mask[:, None, :], mat_b)
