"""More differences between jtorch and torch from the differential fuzzer (tests/fuzz_programs.py): the ones its
README section listed as known, and what fresh seeds found since. Each program runs through both on the same seeded
inputs and ``fuzz_programs.check`` compares every line's exception type and the values, strides, storage offsets,
``_version`` and gradients of its tensors."""
import numpy as np
import pytest
import torch

import jtorch
from tests import fuzz_programs as fp


def _literal(rng, shape, low=-3, high=3):
    return np.round(rng.uniform(low, high, size=shape), 2).tolist()


def _same(src, **values):
    """The program (``{name}`` filled with ``values``) gives the same records in both; its lines."""
    lines = [ln.strip() for ln in src.format(**values).strip().splitlines() if ln.strip()]
    res = fp.check(lines, eager=True)
    assert res is None, (res, lines[res[0]])
    return lines


def _errors(lines, lib=torch):
    return [r["error"] for r in fp.run(lines, lib)]


def _raises_in_both(lines, i, kind):
    assert _errors(lines)[i] == kind and _errors(lines, jtorch)[i] == kind


# ---- no derivative: number % tensor, in-place inverse hyperbolic functions --------------------------
def test_number_remainder_tensor_has_no_derivative(rng):
    lines = _same("""
x = torch.tensor({x}, requires_grad=True)
y = 2.5 % x
z = torch.remainder(3, x)
w = torch.remainder(x, 1.5) + torch.remainder(x.detach(), x) + torch.fmod(x.detach(), x)
w.sum().backward()
y.sum().backward()
z.sum().backward()
""", x=_literal(rng, 4, 0.5, 3))
    _raises_in_both(lines, 5, "RuntimeError")
    _raises_in_both(lines, 6, "RuntimeError")
    x = jtorch.tensor([1.5, 2.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::remainder is not implemented"):
        (4 % x).sum().backward()


def test_inplace_inverse_hyperbolic_have_no_derivative(rng):
    x = _literal(rng, 4, 0.1, 0.9)
    for op, shift in (("asinh_", 0), ("arcsinh_", 0), ("acosh_", 1.5), ("arccosh_", 1.5), ("atanh_", 0),
                      ("arctanh_", 0)):
        lines = _same(f"""
x = torch.tensor({x}, requires_grad=True)
y = x + {shift}
z = y.{op[:-1]}()
z.sum().backward()
y.{op}()
y.sum().backward()
u = x.detach().{op}()
""")
        _raises_in_both(lines, 5, "NotImplementedError")
    y = jtorch.tensor([0.5], requires_grad=True) * 1
    y.atanh_()
    with pytest.raises(NotImplementedError, match="the derivative for 'inplace version of atanh' is not implemented"):
        y.backward()


# ---- what an op saves: writing its input (or result) in place before backward raises as in torch -----
_SAVES = [  # (the call on y (and s); a line that writes something in place afterwards)
    ("torch.linalg.matrix_norm(y, ord=2)", "y.mul_(2)"),
    ("torch.linalg.matrix_norm(y, ord=2)", "o.mul_(2)"),
    ("torch.linalg.matrix_norm(y, ord=-2)", "y.mul_(2)"),
    ("torch.linalg.matrix_norm(y, ord='nuc')", "y.mul_(2)"),
    ("torch.linalg.matrix_norm(y, ord='nuc')", "o.mul_(2)"),
    ("torch.linalg.matrix_norm(y)", "y.mul_(2)"),
    ("torch.linalg.matrix_norm(y, ord=1)", "o.mul_(2)"),
    ("torch.norm(y, p='nuc')", "y.mul_(2)"),
    ("torch.linalg.norm(y, ord=2)", "y.mul_(2)"),
    ("torch.linalg.eigvals(y).real", "y.mul_(2)"),
    ("torch.linalg.eig(y)[1].real.sum(0)", "y.mul_(2)"),  # (.sum: torch's vectors are column-major)
    ("torch.gather(y, 1, torch.tensor([[0, 2], [1, 1]]))", "y.mul_(2)"),
    ("torch.take_along_dim(y, torch.tensor([[0, 2, 1]]), 1)", "y.mul_(2)"),
    ("torch.take(y, torch.tensor([0, 4]))", "y.mul_(2)"),
    ("torch.masked_select(y, y > 0)", "y.mul_(2)"),
    ("y[y > 0]", "y.mul_(2)"),
    ("y.index_add(0, torch.tensor([0, 2]), s[:2])", "s.mul_(2)"),
    ("y.index_copy(0, torch.tensor([0, 2]), s[:2])", "s.mul_(2)"),
    ("y.index_add(0, torch.tensor([0, 2]), s[:2])", "y.mul_(2)"),
    ("y.put(torch.tensor([0, 4]), s[0, :2])", "s.mul_(2)"),
    ("y.scatter_reduce(1, torch.tensor([[0, 2], [1, 1]]), s, 'sum')", "o.mul_(2)"),
    ("y.scatter_reduce(1, torch.tensor([[0, 2], [1, 1]]), s, 'amax', include_self=False)", "o.mul_(2)"),
    ("torch.nn.functional.embedding(torch.tensor([0, 2]), y)", "y.mul_(2)"),
    ("torch.einsum('ij,jk->ik', y, s)", "y.mul_(2)"),
    ("torch.einsum('ij,jk->ik', y, s)", "s.mul_(2)"),
    ("torch.einsum('ij,jk->ik', y, s.detach())", "y.mul_(2)"),
    ("torch.einsum('ij,jk->ik', y, t)", "t.mul_(2)"),
    ("torch.einsum('ij->j', y)", "y.mul_(2)"),
    ("torch.einsum('ii->i', y)", "y.mul_(2)"),  # (a view)
    ("torch.einsum('ji', y)", "o.mul_(2)"),
    ("torch.einsum('ij,ij->i', y, y)", "y.mul_(2)"),
    ("torch.linalg.multi_dot([y, s, y])", "s.mul_(2)"),
    ("torch.cat([y, s])", "y.mul_(2)"),
    ("torch.dist(y, s, 3)", "s.mul_(2)"),
    ("torch.dist(y, s)", "o.mul_(2)"),
    ("torch.std_mean(y, 1)[1]", "y.mul_(2)"),
    ("torch.var_mean(y, 1)[1]", "y.mul_(2)"),
    ("torch.std_mean(y, 1)[0]", "o.mul_(2)"),
    ("torch.std_mean(y, 1)[1]", "o.mul_(2)"),
    ("y[i]", "i.fill_(1)"),
    ("y.index_put((i,), s[:2])", "i.fill_(1)"),
]


def test_saved_tensors_follow_torch(rng):
    a, b = _literal(rng, (3, 3)), _literal(rng, (3, 3))
    outcomes = set()
    for call, write in _SAVES:
        lines = _same(f"""
x = torch.tensor({a}, dtype=torch.float64, requires_grad=True)
y = x * 1
s = torch.tensor({b}, dtype=torch.float64, requires_grad=True) * 1
t = torch.tensor({b}, dtype=torch.float64)
i = torch.tensor([0, 2])
o = {call}
{write}
o.sum().backward()
""")
        outcomes.add(_errors(lines)[-1])  # (compared above: the backward raises in both or in neither)
    assert outcomes == {None, "RuntimeError"}


def _rnn_backward_error(lib, kind, dtype, param, x):
    """Whether backward raises after the module's ``param`` was written in place since the forward."""
    m = getattr(lib.nn, kind)(3, 4).to(getattr(lib, dtype))
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(np.linspace(-0.5, 0.5, p.numel()).reshape(tuple(p.shape)), dtype=p.dtype))
    out, _ = m(lib.tensor(x, dtype=getattr(lib, dtype)))
    with lib.no_grad():
        getattr(m, param).add_(1)
    try:
        out.sum().backward()
    except RuntimeError:
        return "RuntimeError"
    return None


def test_rnn_keeps_weights_as_torch(rng):
    # torch's composite cells keep their weight matrices, not their biases; its oneDNN LSTM (float32) keeps all
    x = _literal(rng, (2, 1, 3))
    outcomes = set()
    for param in ("weight_hh_l0", "bias_hh_l0", "bias_ih_l0"):
        for kind in ("LSTM", "GRU"):
            for dtype in ("float32", "float64"):
                want = _rnn_backward_error(torch, kind, dtype, param, x)
                assert _rnn_backward_error(jtorch, kind, dtype, param, x) == want, (kind, param, dtype)
                outcomes.add(want)
    assert outcomes == {None, "RuntimeError"}


# ---- advanced indexing keeps the input's layout (TensorIterator's order) ----------------------------
def test_advanced_indexing_result_strides(rng):
    _same("""
x = torch.tensor({x}).reshape(2, 3, 4, 5)
p = x.permute(2, 0, 3, 1)
i = torch.tensor([0, 3, 1])
j = torch.tensor([[0], [1]])
k = torch.tensor([[0, 1], [2, 1]])
a = p[i]
b = p[:, j]
c = p[..., torch.tensor([1, 0, 2])]
d = p[i, :, torch.tensor([1, 0, 2])]
e = p[:, :, k.t()]
f = p[p > 0]
g = p[1:, None, j]
h = x.transpose(0, 3)[:, k, :, i[:1]]
u = p[0, :, torch.tensor([2, 0])]
v = x[:, :, k]
""", x=_literal(rng, 120))


# ---- an empty view's storage_offset is where its geometry puts it -----------------------------------
def test_empty_view_storage_offset(rng):
    _same("""
x = torch.tensor({x}).reshape(4, 6)
a = x[2:2]
b = x[:, 3:3]
c = x[10:]
d = x[2:2, 1]
e = x.t()[2:2]
f = x.split([4, 0])[1]
g = x[:, 6:].diagonal()
h = x[2:2].select(1, 3)
u = x.narrow(0, 4, 0)
v = x[1:1].view(torch.int32)
w = x[:, None][3:3].unsqueeze(0)
k = x[1:].diagonal(5)
m = x.unfold(0, 1, 1).permute(1, 0, 2)[:, 2:].diagonal(-1)
""", x=_literal(rng, 24))


# ---- view_as_complex: a size-1 dim's stride may be odd -----------------------------------------------
def test_view_as_complex_odd_stride_of_size_one_dim(rng):
    _same("""
t = torch.tensor({x}, dtype=torch.float64)
a = torch.view_as_complex(t[:2].reshape(1, 2, 1).mT)
b = torch.view_as_complex(t.as_strided((1, 2), (3, 1), 2))
c = torch.view_as_complex(t.unfold(0, 2, 2))
d = torch.view_as_complex(t.as_strided((2, 2), (3, 1), 0))
a.mul_(2)
b.add_(1)
""", x=_literal(rng, 12))


# ---- complex division by zero: torch's infinities and NaNs -------------------------------------------
def test_complex_division_by_zero_like_torch(rng):
    parts = [0., -0., 1., -1.5, float("inf"), float("-inf"), float("nan")]
    nums = [complex(a, b) for a in parts for b in parts]
    dens = [complex(a, b) for a in parts for b in parts] + [complex(*rng.uniform(-2, 2, 2))]
    num = np.array([n for n in nums for d in dens])
    den = np.array([d for n in nums for d in dens])
    for dt in ("complex64", "complex128"):
        got = []
        for lib in (torch, jtorch):
            a, b = lib.tensor(num, dtype=getattr(lib, dt)), lib.tensor(den, dtype=getattr(lib, dt))
            got.append([np.asarray(r.numpy()) for r in (a / b, b.reciprocal(), 1 / b, a / b[7], a / 0j)])
        for t, j in zip(*got):
            for pt, pj in ((t.real, j.real), (t.imag, j.imag)):  # where the NaNs are, the signs of infinities, zeros
                nan = np.isnan(pt)
                assert np.array_equal(nan, np.isnan(pj))
                exact = (pt == 0) | np.isinf(pt)  # (finite quotients may differ in the last bit: torch's vector loop)
                assert np.array_equal(pt[exact], pj[exact]) and np.array_equal(np.signbit(pt[exact]), np.signbit(pj[exact]))
                np.testing.assert_allclose(pj[~nan], pt[~nan], rtol=1e-6, atol=1e-6)


def test_complex_division_gradient(rng):
    a = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    b = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    g = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    out = []
    for lib in (torch, jtorch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        gx, gy = lib.autograd.grad(x / y, (x, y), lib.tensor(g))
        gr, = lib.autograd.grad(y.reciprocal(), y, lib.tensor(g))
        out.append([t.numpy() for t in (gx, gy, gr)])
    for t, j in zip(*out):
        np.testing.assert_allclose(j, t, rtol=1e-10)


# ---- an in-place write through a view with a stride-0 dim: torch's backward raises ------------------
def test_write_through_expanded_view_then_backward(rng):
    x = _literal(rng, (1, 3))
    outcomes = set()
    for write in ("e.zero_()", "e.fill_(2.0)", "e[:, 1].zero_()", "e.masked_fill_(torch.tensor([True, False, True]), 1.0)",
                  "e.index_fill_(1, torch.tensor([0]), 1.0)", "e.copy_(t.expand(2, 3))", "e[0].fill_(1.0)",
                  "t.t().expand(3, 2).zero_()"):
        lines = _same(f"""
x = torch.tensor({x}, requires_grad=True)
t = x * 2
e = t.expand(2, 3)
{write}
(t * 3).sum().backward()
""")
        outcomes.add(_errors(lines)[4])  # (the backward: compared above)
    assert outcomes == {None, "RuntimeError"}


# ---- float to integer conversion as torch's CPU kernels (x86): NaN and out of range -----------------
def test_float_to_integer_out_of_range(rng):
    values = [float("inf"), float("-inf"), float("nan"), 1e30, -1e30, 3e9, -3e9, 7e4, 300.0, -300.0] + \
        _literal(rng, 4, -200, 200)
    for dt in ("float32", "float64"):
        _same(f"""
x = torch.tensor({values}, dtype=torch.{dt})
a = x.to(torch.int64)
b = x.to(torch.int32)
c = x.to(torch.int16)
d = x.to(torch.int8)
e = x.to(torch.uint8)
f = torch.zeros(14, dtype=torch.int64)
f.copy_(x)
g = torch.zeros(14, dtype=torch.int32)
g[:] = x
h = (x * (1 + 1j)).to(torch.int64)
""")


# ---- in-place unary ops torch rejects on complex tensors, and their out-of-place forms ---------------
def test_complex_rejections_of_real_only_ops(rng):
    z = (np.array(_literal(rng, 3)) + 1j * np.array(_literal(rng, 3))).tolist()
    for call, kind in (("z.abs_()", "RuntimeError"), ("torch.abs_(z)", "RuntimeError"), ("z.absolute_()", "RuntimeError"),
                       ("z.sign()", "NotImplementedError"), ("z.sign_()", "NotImplementedError"),
                       ("z.round()", "NotImplementedError"), ("z.round(decimals=2)", "NotImplementedError"),
                       ("z.deg2rad()", "RuntimeError"), ("z.rad2deg_()", "RuntimeError"),
                       ("z.bernoulli_(0.5)", "NotImplementedError"), ("torch.bernoulli(z)", "NotImplementedError"),
                       ("z.real.mvlgamma_()", "TypeError"), ("torch.mvlgamma(z.real + 3, 0)", "RuntimeError")):
        lines = _same(f"""
z = torch.tensor({z})
w = {call}
y = z.abs()
""")
        _raises_in_both(lines, 1, kind)


def test_take_along_dim_shape_mismatch_raises_runtime_error(rng):
    lines = _same("""
x = torch.tensor({x})
a = torch.take_along_dim(x, torch.tensor([[0, 2, 1], [1, 1, 0]]), 1)
b = torch.take_along_dim(x, torch.tensor([[0, 2, 1, 1, 0]]), 1)
""", x=_literal(rng, (3, 3)))
    _raises_in_both(lines, 1, "RuntimeError")


# ---- an op that keeps its result: its backward does not see later writes to a numpy-shared input ------
def test_saved_result_op_of_numpy_shared_input(rng):
    _same("""
t = torch.tensor({x})
n = t.numpy()
t.requires_grad_()
r = -1 / t
e = t.exp()
with torch.no_grad(): t.fill_(3)
n[0] = 1.5
(r.sum() + e.sum()).backward()
""", x=_literal(rng, 4, 0.5, 3))


def test_number_first_argument_where_torch_takes_none(rng):
    x = _literal(rng, 3)
    for f in ("maximum", "fmin", "heaviside", "ldexp", "logaddexp", "nextafter", "atan2", "hypot", "fmod"):
        lines = _same(f"""
x = torch.tensor({x})
y = torch.{f}(3, x)
z = torch.{f}(x, x)
""")
        _raises_in_both(lines, 1, "TypeError")
