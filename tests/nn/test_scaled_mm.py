"""Scaled float8 matmuls against torch: torch._scaled_mm, F.scaled_mm (TensorWise and RowWise run on torch's
CPU build, so values and errors are torch's own), F.scaled_grouped_mm / torch._scaled_grouped_mm (no CPU
kernel in torch: values against torch's grouped_mm on the dequantized operands, errors against its meta
kernel), and torch._grouped_mm."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn.functional as JF
from helpers import assert_close

M, K, N = 16, 32, 24
# one rounding of the output format apart (the float32 sums may round differently first)
_ULP = {"float32": 1e-5, "bfloat16": 2 ** -7, "float16": 2 ** -10, "float8_e4m3fn": 2 ** -3, "float8_e5m2": 2 ** -2}


def _pair(arr, dtype):
    return torch.from_numpy(arr).to(getattr(torch, dtype)), jtorch.tensor(arr).to(getattr(jtorch, dtype))


def _close(j, t):
    name = str(t.dtype).split(".")[-1]
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    np.testing.assert_allclose(j.double().numpy(), t.double().numpy(), rtol=_ULP.get(name, 1e-5), atol=1e-5)


def _operands(rng, a_dtype="float8_e4m3fn", b_dtype="float8_e4m3fn"):
    ta, ja = _pair((rng.standard_normal((M, K)) * 2).astype(np.float32), a_dtype)
    tbt, jbt = _pair((rng.standard_normal((N, K)) * 2).astype(np.float32), b_dtype)
    return ta, ja, tbt.t(), jbt.t()  # b column-major, as cuBLAS wants it


def _scales(rng, shape_a=(), shape_b=()):
    sa = (rng.random(shape_a) + 0.5).astype(np.float32)
    sb = (rng.random(shape_b) + 0.5).astype(np.float32)
    return torch.tensor(sa), jtorch.tensor(sa), torch.tensor(sb), jtorch.tensor(sb)


@pytest.mark.parametrize("out_dtype", [None, "float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("dtypes", [("float8_e4m3fn", "float8_e4m3fn"), ("float8_e5m2", "float8_e4m3fn")])
def test_scaled_mm_tensorwise(rng, out_dtype, dtypes):
    ta, ja, tb, jb = _operands(rng, *dtypes)
    tsa, jsa, tsb, jsb = _scales(rng)
    td = None if out_dtype is None else getattr(torch, out_dtype)
    jd = None if out_dtype is None else getattr(jtorch, out_dtype)
    _close(jtorch._scaled_mm(ja, jb, jsa, jsb, out_dtype=jd), torch._scaled_mm(ta, tb, tsa, tsb, out_dtype=td))
    # scale_result divides the result only for an explicit float8 out_dtype; None leaves it out
    sr = np.float32(rng.random() + 0.1)
    _close(jtorch._scaled_mm(ja, jb, jsa, jsb, scale_result=jtorch.tensor(sr), out_dtype=jd),
           torch._scaled_mm(ta, tb, tsa, tsb, scale_result=torch.tensor(sr), out_dtype=td))
    bias = rng.standard_normal(N).astype(np.float32)
    for bdt in ("float32", "bfloat16"):
        tbias, jbias = _pair(bias, bdt)
        _close(jtorch._scaled_mm(ja, jb, jsa, jsb, bias=jbias, out_dtype=jd),
               torch._scaled_mm(ta, tb, tsa, tsb, bias=tbias, out_dtype=td))


def test_scaled_mm_saturates_and_out(rng):
    ta, ja, tb, jb = _operands(rng)
    big_t, big_j = torch.tensor(60.0), jtorch.tensor(60.0)  # products past float8_e4m3fn's 448
    _close(jtorch._scaled_mm(ja, jb, big_j, big_j), torch._scaled_mm(ta, tb, big_t, big_t))
    _close(jtorch._scaled_mm(ja, jb, big_j, big_j, out_dtype=jtorch.float8_e5m2),
           torch._scaled_mm(ta, tb, big_t, big_t, out_dtype=torch.float8_e5m2))
    tsa, jsa, tsb, jsb = _scales(rng, (1,), (1, 1))  # any one-element float32 scales are tensorwise
    tout, jout = torch.empty(M, N, dtype=torch.bfloat16), jtorch.empty(M, N, dtype=jtorch.bfloat16)
    rt = torch._scaled_mm(ta, tb, tsa, tsb, out=tout)
    rj = jtorch._scaled_mm(ja, jb, jsa, jsb, out=jout)
    assert rj is jout and rt is tout
    _close(jout, tout)


@pytest.mark.parametrize("out_dtype", ["float32", "bfloat16", "float8_e4m3fn"])
def test_scaled_mm_rowwise(rng, out_dtype):
    ta, ja, tb, jb = _operands(rng)
    tsa, jsa, tsb, jsb = _scales(rng, (M, 1), (1, N))
    td, jd = getattr(torch, out_dtype), getattr(jtorch, out_dtype)
    bias = rng.standard_normal(N).astype(np.float32)
    _close(jtorch._scaled_mm(ja, jb, jsa, jsb, bias=jtorch.tensor(bias), out_dtype=jd),
           torch._scaled_mm(ta, tb, tsa, tsb, bias=torch.tensor(bias), out_dtype=td))


def test_functional_scaled_mm(rng):
    ta, ja, tb, jb = _operands(rng)
    TS, JS = TF.ScalingType, JF.ScalingType
    assert [(m.name, m.value) for m in JS] == [(m, v.value) for m, v in TS.__members__.items()]
    assert [(m.name, m.value) for m in JF.SwizzleType] == [(m, v.value) for m, v in TF.SwizzleType.__members__.items()]
    assert repr(JS.RowWise) == repr(TS.RowWise) and int(JS.BlockWise1x32) == int(TS.BlockWise1x32)
    tsa, jsa, tsb, jsb = _scales(rng)
    # output_dtype defaults to bfloat16; None means mat_a's dtype; scales and recipes also as lists
    _close(JF.scaled_mm(ja, jb, jsa, JS.TensorWise, jsb, JS.TensorWise),
           TF.scaled_mm(ta, tb, tsa, TS.TensorWise, tsb, TS.TensorWise))
    _close(JF.scaled_mm(ja, jb, [jsa], [JS.TensorWise], [jsb], [JS.TensorWise], output_dtype=None,
                        swizzle_a=JF.SwizzleType.NO_SWIZZLE, contraction_dim=(1, 0)),
           TF.scaled_mm(ta, tb, [tsa], [TS.TensorWise], [tsb], [TS.TensorWise], output_dtype=None,
                        swizzle_a=TF.SwizzleType.NO_SWIZZLE, contraction_dim=(1, 0)))
    tra, jra, trb, jrb = _scales(rng, (M, 1), (1, N))
    bias = rng.standard_normal(N).astype(np.float32)
    _close(JF.scaled_mm(ja, jb, jra, JS.RowWise, jrb, JS.RowWise, bias=jtorch.tensor(bias),
                        output_dtype=jtorch.float32),
           TF.scaled_mm(ta, tb, tra, TS.RowWise, trb, TS.RowWise, bias=torch.tensor(bias),
                        output_dtype=torch.float32))


def _f8(m, *shape):
    return m.ones(*shape).to(m.float8_e4m3fn)


@pytest.mark.parametrize("call", [
    lambda m, F: m._scaled_mm(_f8(m, M, K).bfloat16(), _f8(m, K, N).bfloat16(), m.tensor(1.), m.tensor(1.)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1., dtype=m.float64), m.tensor(1.)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.ones(M, 1), m.tensor(1.)),  # mixed recipes
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.ones(M + 1, 1), m.ones(1, N)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.ones(1, M).t(), m.ones(1, N)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.ones(M, 1), m.ones(N, 2)[:, :1].t()),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, 16, N), m.tensor(1.), m.tensor(1.)),
    lambda m, F: m._scaled_mm(_f8(m, 2, M, K), _f8(m, K, N), m.tensor(1.), m.tensor(1.)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, 2, K, N), m.tensor(1.), m.tensor(1.)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), m.tensor(1.), bias=m.ones(M)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), m.tensor(1.), scale_result=m.ones(2)),
    lambda m, F: m._scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), m.tensor(1.), out_dtype=m.float32,
                              out=m.empty(M, N, dtype=m.bfloat16)),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.RowWise, m.tensor(1.),
                             F.ScalingType.TensorWise),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.ones(M, 1), F.ScalingType.TensorWise, m.ones(1, N),
                             F.ScalingType.TensorWise),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.RowWise, m.tensor(1.),
                             F.ScalingType.RowWise),
    lambda m, F: F.scaled_mm(_f8(m, M, 128), _f8(m, 128, N), m.ones(M, 1), F.ScalingType.BlockWise1x128,
                             m.ones(1, N), F.ScalingType.BlockWise1x128),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.ones(512).to(m.float8_e8m0fnu), F.ScalingType.BlockWise1x32,
                             m.ones(512).to(m.float8_e8m0fnu), F.ScalingType.BlockWise1x32,
                             swizzle_a=F.SwizzleType.SWIZZLE_32_4_4, swizzle_b=F.SwizzleType.SWIZZLE_32_4_4),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), [], [], m.tensor(1.), F.ScalingType.TensorWise),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), [m.tensor(1.)] * 2, [F.ScalingType.TensorWise] * 2,
                             m.tensor(1.), F.ScalingType.TensorWise),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, 16, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise),
    lambda m, F: F.scaled_mm(_f8(m, 2, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise, contraction_dim=(0, 1)),
    lambda m, F: F.scaled_mm(_f8(m, K, M), _f8(m, K, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise, contraction_dim=(0, 0)),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise, contraction_dim=(1,)),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise, contraction_dim=(2, 0)),
    lambda m, F: F.scaled_mm(_f8(m, M, K), _f8(m, K, N), m.tensor(1.), F.ScalingType.TensorWise, m.tensor(1.),
                             F.ScalingType.TensorWise, bias=m.ones(M).bfloat16()),
])
def test_scaled_mm_errors(call):
    with pytest.raises(Exception) as te:
        call(torch, TF)
    with pytest.raises(Exception) as je:
        call(jtorch, JF)
    assert je.type is te.type and str(je.value) == str(te.value), (je.value, te.value)


# ---------------------------------------------------------------- grouped
def _grouped_case(rng, a_shape, b_shape, offs):
    """fp8 operands (b column-major), RowWise scales and offsets, for torch and jtorch."""
    a = (rng.standard_normal(a_shape) * 2).astype(np.float32)
    bt = (rng.standard_normal(b_shape[:-2] + (b_shape[-1], b_shape[-2])) * 2).astype(np.float32)
    g = len(offs) if offs is not None else a_shape[0]
    both2d = len(a_shape) == len(b_shape) == 2
    sa_shape = (a_shape[0] * (g if both2d else 1),) if len(a_shape) == 2 else (g, a_shape[1])
    sb_shape = (b_shape[1] * (g if both2d else 1),) if len(b_shape) == 2 else (g, b_shape[2])
    sa = (rng.random(sa_shape) + 0.5).astype(np.float32)
    sb = (rng.random(sb_shape) + 0.5).astype(np.float32)
    out = []
    for m in (torch, jtorch):
        o = None if offs is None else m.tensor(offs, dtype=m.int32)
        out.append((m.tensor(a).to(m.float8_e4m3fn), m.tensor(bt).to(m.float8_e4m3fn).transpose(-1, -2),
                    m.tensor(sa), m.tensor(sb), o))
    return out


def _grouped_reference(a, b, sa, sb, offs):
    """Each group's (a_g * sa_g[:, None]) @ (b_g * sb_g[None, :]) in float32 with torch, then bfloat16."""
    a, b = a.float(), b.float()
    if offs is None:
        return ((a * sa[:, :, None]) @ (b * sb[:, None, :])).bfloat16()
    ends = offs.tolist()
    starts = [0] + ends[:-1]
    if a.dim() == 2 and b.dim() == 3:
        out = torch.zeros(a.shape[0], b.shape[2])
        for g, (s, e) in enumerate(zip(starts, ends)):
            out[s:e] = (a[s:e] * sa[s:e, None]) @ (b[g] * sb[g][None, :])
    elif a.dim() == 3:
        out = torch.zeros(a.shape[1], b.shape[1])
        for g, (s, e) in enumerate(zip(starts, ends)):
            out[:, s:e] = (a[g] * sa[g][:, None]) @ (b[:, s:e] * sb[s:e][None, :])
    else:
        out = torch.zeros(len(ends), a.shape[0], b.shape[1])
        sa, sb = sa.reshape(len(ends), -1), sb.reshape(len(ends), -1)
        for g, (s, e) in enumerate(zip(starts, ends)):
            out[g] = (a[:, s:e] * sa[g][:, None]) @ (b[s:e] * sb[g][None, :])
    return out.bfloat16()


@pytest.mark.parametrize("a_shape,b_shape,offs", [((32, 16), (3, 16, 32), [8, 24, 32]),
                                                  ((32, 16), (3, 16, 32), [0, 16, 24]),
                                                  ((3, 32, 16), (16, 48), [16, 32, 48]),
                                                  ((32, 48), (48, 16), [16, 32, 48]),
                                                  ((3, 32, 16), (3, 16, 32), None)])
def test_scaled_grouped_mm_rowwise(rng, a_shape, b_shape, offs):
    (ta, tb, tsa, tsb, to), (ja, jb, jsa, jsb, jo) = _grouped_case(rng, a_shape, b_shape, offs)
    ref = _grouped_reference(ta, tb, tsa, tsb, to)
    _close(jtorch._scaled_grouped_mm(ja, jb, jsa, jsb, offs=jo), ref)
    # the shape and dtype torch's own (meta) kernel gives
    meta = torch._scaled_grouped_mm(*(x.to("meta") for x in (ta, tb, tsa, tsb)),
                                    offs=None if to is None else to.to("meta"))
    assert tuple(meta.shape) == tuple(ref.shape) and meta.dtype == ref.dtype
    RW = JF.ScalingType.RowWise
    _close(JF.scaled_grouped_mm(ja, jb, jsa, RW, jsb, RW, offs=jo), ref)


def _meta(m, *xs):
    return [x.to("meta") if m is torch and x is not None else x for x in xs]


@pytest.mark.parametrize("case", [
    dict(a=lambda m: m.ones(32, 16).bfloat16()),
    dict(b=lambda m: _f8(m, 3, 16, 32)),  # row-major b
    dict(a=lambda m: _f8(m, 16, 32).t()),  # column-major a
    dict(sa=lambda m: m.ones(32, dtype=m.float64)),
    dict(sa=lambda m: m.ones(31)),
    dict(sb=lambda m: m.ones(3, 31)),
    dict(sb=lambda m: m.ones(2, 32)),
    dict(offs=lambda m: None),
    dict(offs=lambda m: m.tensor([8, 24, 32])),
    dict(extra=lambda m: {"bias": m.ones(32)}),
    dict(extra=lambda m: {"out_dtype": m.float32}),
    dict(extra=lambda m: {"scale_result": m.tensor(1.)}),
])
def test_scaled_grouped_mm_errors(case):
    def call(m):
        a = case.get("a", lambda m: _f8(m, 32, 16))(m)
        b = case.get("b", lambda m: _f8(m, 3, 32, 16).transpose(-1, -2))(m)
        sa = case.get("sa", lambda m: m.ones(32))(m)
        sb = case.get("sb", lambda m: m.ones(3, 32))(m)
        offs = case.get("offs", lambda m: m.tensor([8, 24, 32], dtype=m.int32))(m)
        extra = case.get("extra", lambda m: {})(m)
        a, b, sa, sb, offs = _meta(m, a, b, sa, sb, offs)
        extra = {k: v.to("meta") if m is torch and hasattr(v, "to") and k != "out_dtype" else v
                 for k, v in extra.items()}
        return m._scaled_grouped_mm(a, b, sa, sb, offs=offs, **extra)
    with pytest.raises(Exception) as te:
        call(torch)
    with pytest.raises(Exception) as je:
        call(jtorch)
    assert je.type is te.type and str(je.value) == str(te.value), (je.value, te.value)


def test_toplevel_grouped_mm(rng):
    a = rng.standard_normal((8, 16)).astype(np.float32)
    b = rng.standard_normal((3, 16, 8)).astype(np.float32)
    assert_close(jtorch._grouped_mm(jtorch.tensor(a), jtorch.tensor(b), jtorch.tensor([2, 6, 8], dtype=jtorch.int32)),
                 torch._grouped_mm(torch.tensor(a), torch.tensor(b), torch.tensor([2, 6, 8], dtype=torch.int32)),
                 atol=1e-4)
