"""Scaled (float8) matrix products: nn.functional.scaled_mm / scaled_grouped_mm with their ScalingType and
SwizzleType enums, and the ATen entry points torch._scaled_mm(_v2) and torch._scaled_grouped_mm(_v2).

torch's CPU build runs scaled_mm for two recipes, and jtorch matches it value for value:
TensorWise (one float32 scale per operand) and RowWise (float32 scales of shape (M, 1) for ``mat_a`` and
(1, N) for ``mat_b``). It dequantizes each operand into float32 (``a.float() * scale_a``), multiplies in
float32, adds ``bias``, divides by ``scale_result`` only when ``out_dtype`` is explicitly float8_e4m3fn or
float8_e5m2, and converts to ``out_dtype`` (by default ``mat_a``'s dtype). The block recipes raise the CPU
build's ValueError. torch's CPU build has no scaled_grouped_mm at all; jtorch runs the CUDA kernel's
recipe, float8_e4m3fn operands with float32 row/column scales per group, into bfloat16.
"""
import enum

import jtorch as torch
from jtorch._dtype import float8_e4m3fn, float8_e5m2, scalar_type_name  # (bound on jtorch after nn is imported)
from .linear import grouped_mm

__all__ = ["ScalingType", "SwizzleType", "scaled_mm", "scaled_grouped_mm"]


class _IntEnum(enum.Enum):
    def __int__(self):
        return self.value

    __index__ = __int__


class _ScalingType(_IntEnum):
    TensorWise = 0
    RowWise = 1
    BlockWise1x16 = 2
    BlockWise1x32 = 3
    BlockWise1x128 = 4
    BlockWise128x128 = 5


class _SwizzleType(_IntEnum):
    NO_SWIZZLE = 0
    SWIZZLE_32_4_4 = 1


_ScalingType.__module__ = _SwizzleType.__module__ = "torch.nn.functional"
ScalingType, SwizzleType = _ScalingType, _SwizzleType

_FP8_RESULT = (float8_e4m3fn, float8_e5m2)  # the outputs scale_result applies to
def _is_float8(t):
    return t.dtype.is_floating_point and t.element_size() == 1


def _recipe(a, b, scale_a, scale_b):
    """'tensorwise' / 'rowwise' for a configuration torch's CPU kernel accepts, else its ValueError."""
    kind = _kind(a, b, scale_a, scale_b)
    if kind is None:
        raise _config_error(a, b, scale_a, scale_b)
    return kind


def _kind(a, b, scale_a, scale_b):
    if (scale_a is not None and scale_b is not None and _is_float8(a) and _is_float8(b)
            and scale_a.dtype == scale_b.dtype == torch.float32):
        if scale_a.numel() == 1 and scale_b.numel() == 1:
            return "tensorwise"
        if (tuple(scale_a.shape) == (a.shape[0], 1) and tuple(scale_b.shape) == (1, b.shape[1])
                and scale_a.is_contiguous() and scale_b.is_contiguous()):
            for name, s in (("scale_a", scale_a), ("scale_b", scale_b)):
                if s.stride(1) != 1:
                    raise ValueError(f"expected {name}.stride(1) to be 1, but got {s.stride(1)}")
            return "rowwise"
    return None


def _config_error(a, b, scale_a, scale_b):
    def got(name, s):
        return f"{name}=None" if s is None else (f"{name}.dtype()={scalar_type_name(s.dtype)}, {name}.size()={list(s.shape)}"
                                                 f"{' and' if name == 'scale_b' else ','} {name}.stride()="
                                                 f"{list(s.stride())}")
    return ValueError(
        "Invalid scaling configuration.\n"
        "- For TensorWise scaling, a and b should be float8, scales should be float and singletons.\n"
        f"- For RowWise scaling, a and b should be float8, scales should be float, scale_a should be ({a.shape[0]}, "
        f"1) and scale_b should be (1, {b.shape[1]}), and both should be contiguous.\n"
        f"Got mat_a.dtype()={scalar_type_name(a.dtype)}, {got('scale_a', scale_a)}, mat_b.dtype()={scalar_type_name(b.dtype)}"
        f"{' and ' if scale_b is None else ', '}{got('scale_b', scale_b)}")


def _check_bias(b, bias, error):
    if bias is not None and bias.numel() != b.shape[1]:
        raise error(f"Bias must be size {b.shape[1]} but got {bias.numel()}")


def _dequantized_product(a, b, scale_a, scale_b, bias):
    """(a * scale_a) @ (b * scale_b) + bias in float32, as torch's CPU kernel computes it."""
    out = torch.matmul(a.float() * scale_a, b.float() * scale_b)
    if bias is not None:
        out = (out + bias).float()  # in place in torch: float32 whatever the bias's dtype
    return out


def _cannot_multiply(a, b):
    return f"mat_a and mat_b shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})"


def _check_matrices(a, b, error):
    if a.dim() != 2:
        raise error("mat_a must be a matrix" if error is ValueError else "mat1 must be a matrix")
    if b.dim() != 2:
        if error is RuntimeError:  # torch's CPU kernel transposes mat2 first
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {b.dim()}D")
        raise ValueError("mat_b must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise error(_cannot_multiply(a, b))


def _scaled_mm(self, mat2, scale_a, scale_b, bias=None, scale_result=None, out_dtype=None, use_fast_accum=False,
               *, out=None):
    """torch._scaled_mm: TensorWise or RowWise scaled float8 product (``use_fast_accum`` is a GPU hint)."""
    _check_matrices(self, mat2, RuntimeError)
    if out is not None and out_dtype is not None and out.dtype != out_dtype:
        raise ValueError("out_dtype must match output matrix type")
    if scale_result is not None and (scale_result.dtype != torch.float32 or scale_result.numel() != 1):
        raise RuntimeError("scale_result must be a float scalar")
    dtype = out_dtype if out_dtype is not None else out.dtype if out is not None else self.dtype
    _check_bias(mat2, bias, RuntimeError)
    _recipe(self, mat2, scale_a, scale_b)
    res = _dequantized_product(self, mat2, scale_a, scale_b, bias)
    if scale_result is not None and out_dtype in _FP8_RESULT:  # (an explicit out_dtype only, as in torch)
        res = res * (1 / scale_result.reshape(()))
    res = res.to(dtype)
    if out is None:
        return res
    return out.resize_(res.shape).copy_(res)


def _as_list(v):
    return [] if v is None else list(v) if isinstance(v, (list, tuple)) else [v]


def _scaled_mm_v2(self, mat2, scale_a, recipe_a, swizzle_a, scale_b, recipe_b, swizzle_b, bias, out_dtype,
                  contraction_dim=(), use_fast_accum=False, *, out=None):
    """torch._scaled_mm_v2: scales, recipes and swizzles as lists (the recipes as ScalingType values)."""
    error = ValueError
    if len(contraction_dim):
        if len(contraction_dim) != 2:
            raise ValueError("contraction_dim must have exactly 2 elements")
        ka, kb = contraction_dim
        if self.size(ka) != mat2.size(kb):
            raise ValueError(f"{_cannot_multiply(self, mat2)} with contraction dims mat_a: {ka}, mat_b: {kb}")
        # torch multiplies the usual layout whatever the dims: others reach its matmul's RuntimeError
        error = RuntimeError
    _check_matrices(self, mat2, error)
    recipe_a, recipe_b = [int(r) for r in recipe_a], [int(r) for r in recipe_b]
    if any(int(w) for w in list(swizzle_a) + list(swizzle_b)) and {2, 3, 4, 5} & set(recipe_a + recipe_b):
        raise ValueError("CPU does not support swizzle.")
    sa, sb = (scale_a[0] if len(scale_a) else None), (scale_b[0] if len(scale_b) else None)
    single = len(scale_a) == len(scale_b) == len(recipe_a) == len(recipe_b) == 1
    if not single or recipe_a != recipe_b or recipe_a[0] not in (0, 1):
        raise _config_error(self, mat2, sa, sb)
    kind = _recipe(self, mat2, sa, sb)
    if recipe_a[0] == 0 and kind == "rowwise":
        raise ValueError("scale_a must have 1 Float element")
    if recipe_a[0] == 1 and kind == "tensorwise":
        if sa.dim() == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        raise _config_error(self, mat2, sa, sb)
    _check_bias(mat2, bias, ValueError)
    res = _dequantized_product(self, mat2, sa, sb, bias)
    res = res.to(out_dtype if out_dtype is not None else self.dtype)
    if out is None:
        return res
    return out.resize_(res.shape).copy_(res)


def scaled_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b, swizzle_a=None, swizzle_b=None,
              bias=None, output_dtype=torch.bfloat16, contraction_dim=(), use_fast_accum=False):
    """mat_a @ mat_b for float8 operands stored with scales described by ``scale_recipe_a``/``scale_recipe_b``
    (ScalingType); the result in ``output_dtype`` (``None``: mat_a's dtype)."""
    return torch._scaled_mm_v2(mat_a, mat_b, _as_list(scale_a), _as_list(scale_recipe_a), _as_list(swizzle_a),
                               _as_list(scale_b), _as_list(scale_recipe_b), _as_list(swizzle_b), bias, output_dtype,
                               list(contraction_dim), use_fast_accum)


# ---------------------------------------------------------------- grouped
def _check_grouped(mat_a, mat_b, scale_a, scale_b, offs, bias, scale_result, out_dtype):
    """The checks of torch's _scaled_grouped_mm (its meta function's, in its order and words)."""
    if not (mat_a.dtype == mat_b.dtype == float8_e4m3fn):
        raise RuntimeError(f"Expected inputs of E4M3 FP8 type but got mat_a.dtype={mat_a.dtype} and "
                           f"mat_b.dtype={mat_b.dtype}.")
    if mat_a.dim() not in (2, 3) or mat_b.dim() not in (2, 3):
        raise RuntimeError(f"Multiplicands must be 2D or 3D but got mat_a.dim()={mat_a.dim()} and "
                           f"mat_b.dim()={mat_b.dim()}")
    both2d = mat_a.dim() == 2 and mat_b.dim() == 2
    if not both2d and mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    sa, sb = mat_a.stride()[-2:], mat_b.stride()[-2:]
    if not (sa[0] > 1 and sa[1] == 1):
        raise RuntimeError(f"Expected mat_a tensor to be row major in the last two dimensions, got strides {sa}")
    if not (sb[0] == 1 and sb[1] > 1):
        raise RuntimeError(f"Expected mat_b tensor to be column major in the last two dimensions, got strides {sb}")
    for name, m in (("mat_a", mat_a), ("mat_b", mat_b)):  # 16-byte aligned leading strides
        end, st = m.dim() - 1, m.stride()
        lead = end if st[end - 1] == 1 else end - 1
        if st[lead] % 16:
            raise RuntimeError(f"Expected {name} stride along {lead} dim to be multiple of 16 bytes, got {st[lead]}.")
    if scale_a.dtype != torch.float32 or scale_b.dtype != torch.float32:
        raise RuntimeError("For FP8 scales must both be float32, or for MXFP8 both scales must be float8_e8m0fnu. "
                           f"Got scale_a.dtype={scale_a.dtype} and scale_b.dtype={scale_b.dtype}.")
    mult = offs.shape[0] if offs is not None and both2d else 1
    for name, s, m, dim in (("scale_a", scale_a, mat_a, 0), ("scale_b", scale_b, mat_b, 1)):
        if m.dim() == 2:
            if not s.is_contiguous():
                raise RuntimeError(f"Expected {name} to be contiguous.")
            if s.dim() != 1:
                raise RuntimeError(f"Expected {name} to be 1D tensor, but got {s.dim()}D tensor.")
            if s.shape[0] != m.shape[dim] * mult:
                raise RuntimeError(f"Expected {name} to have {m.shape[dim] * mult} elements, got {s.shape[0]} "
                                   "elements.")
        else:
            if s.stride(-1) != 1:
                raise RuntimeError(f"Expected {name} to be contiguous in the last dimension.")
            if s.shape[0] != m.shape[0]:
                raise RuntimeError(f"Expected {name} batch dimension to be {m.shape[0]}, got {s.shape[0]}.")
            if s.dim() != 2:
                raise RuntimeError(f"Expected {name} to be 2D tensor, but got {s.dim()}D tensor.")
            if s.shape[1] != m.shape[1 + dim]:
                raise RuntimeError(f"Expected {name} non-batch dimension to be {m.shape[1 + dim]}, got {s.shape[1]}.")
    if scale_result is not None:
        raise RuntimeError("Scale result tensor provided, but it is not supported yet.")
    if mat_a.dim() == 2 or mat_b.dim() == 2:
        if offs is None:
            raise RuntimeError(f"Offsets tensor not provided, but is needed for {mat_a.dim()}D/{mat_b.dim()}D "
                               "multiplicand layouts.")
        if offs.dim() != 1:
            raise RuntimeError(f"Offsets tensor must be 1D, but got offs.dim()={offs.dim()}.")
        if offs.dtype != torch.int32:
            raise RuntimeError(f"Offsets tensor must be integer (int32) tensor, but got {offs.dtype}.")
    elif offs is not None:
        raise RuntimeError("Offsets tensor provided, but is not needed for 3D/3D multiplicand layouts.")
    if bias is not None:
        raise RuntimeError("Bias tensor provided, but it is not supported yet.")
    if out_dtype is not None and out_dtype != torch.bfloat16:
        raise RuntimeError("If output dtype provided, it must be torch.bfloat16.")


def _group_of(offs, n):
    """For each of n positions the index of the group (cumulative ends ``offs``) it falls in; past the last
    end, the last group (those rows/columns of the product are zero anyway)."""
    i = torch.arange(n, device=offs.device)
    return torch.clamp((i[:, None] >= offs.to(torch.int64)[None, :]).sum(1), max=offs.shape[0] - 1)


def _scaled_grouped_mm(self, mat2, scale_a, scale_b, offs=None, bias=None, scale_result=None, out_dtype=None,
                       use_fast_accum=False):
    """torch._scaled_grouped_mm: grouped_mm of float8_e4m3fn operands with float32 row scales for ``self``
    and column scales for ``mat2`` per group; the product of group g is scale_a_g[:, None] * (a_g @ b_g) *
    scale_b_g[None, :], accumulated in float32 and given in bfloat16."""
    _check_grouped(self, mat2, scale_a, scale_b, offs, bias, scale_result, out_dtype)
    prod = grouped_mm(self.float(), mat2.float(), offs=offs)
    a3, b3 = self.dim() == 3, mat2.dim() == 3
    if a3 and b3:  # (G, M, N)
        prod = prod * scale_a[:, :, None] * scale_b[:, None, :]
    elif not a3 and b3:  # rows of a grouped: (M, N)
        prod = prod * scale_a[:, None] * scale_b[_group_of(offs, self.shape[0])]
    elif a3:  # columns of b grouped: (M, N)
        prod = prod * scale_a[_group_of(offs, mat2.shape[1])].t() * scale_b[None, :]
    else:  # the shared dimension grouped: (G, M, N), one scale vector per group
        g = offs.shape[0]
        prod = prod * scale_a.reshape(g, -1)[:, :, None] * scale_b.reshape(g, -1)[:, None, :]
    return prod.to(torch.bfloat16)


def _scaled_grouped_mm_v2(self, mat2, scale_a, recipe_a, swizzle_a, scale_b, recipe_b, swizzle_b, offs=None,
                          bias=None, out_dtype=None, contraction_dim=(), use_fast_accum=False):
    """torch._scaled_grouped_mm_v2: the RowWise recipe (float32 scales) of _scaled_grouped_mm."""
    recipes = [int(r) for r in list(recipe_a) + list(recipe_b)]
    if len(scale_a) != 1 or len(scale_b) != 1 or recipes != [1, 1]:
        raise NotImplementedError("scaled_grouped_mm: jtorch runs the RowWise recipe (one float32 scale tensor "
                                  f"per operand) only, got recipes {list(recipe_a)} and {list(recipe_b)}")
    if any(int(s) for s in list(swizzle_a) + list(swizzle_b)):
        raise ValueError("RowWise scales are not swizzled")
    if len(contraction_dim) and [d % 2 for d in contraction_dim] != [1, 0]:
        raise ValueError("scaled_grouped_mm contracts mat_a's last and mat_b's second-to-last dimension")
    return _scaled_grouped_mm(self, mat2, scale_a[0], scale_b[0], offs=offs, bias=bias,
                              out_dtype=torch.bfloat16 if out_dtype is None else out_dtype,
                              use_fast_accum=use_fast_accum)


def scaled_grouped_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b, swizzle_a=None,
                      swizzle_b=None, bias=None, offs=None, output_dtype=torch.bfloat16, contraction_dim=(),
                      use_fast_accum=False):
    """grouped_mm (groups of rows/columns at the cumulative ends ``offs``, or a batch) of float8 operands with
    RowWise scales: ``scale_a`` per row of mat_a, ``scale_b`` per column of mat_b, per group."""
    return torch._scaled_grouped_mm_v2(mat_a, mat_b, _as_list(scale_a), _as_list(scale_recipe_a),
                                       _as_list(swizzle_a), _as_list(scale_b), _as_list(scale_recipe_b),
                                       _as_list(swizzle_b), offs, bias, output_dtype, list(contraction_dim),
                                       use_fast_accum)
