"""complex32 (torch.chalf) as a dtype of its own: values rounded to float16 parts, torch's promotion, views,
factories, repr, and torch's NotImplementedError for ops its CPU build has no ComplexHalf kernel for.
Seeded inputs through torch and jtorch."""
import warnings

import numpy as np
import pytest
import torch

import jtorch

warnings.filterwarnings("ignore", "ComplexHalf support is experimental")


def pair(rng, shape=(3, 4), scale=3.0):
    a = (rng.normal(size=shape) * scale + 1j * rng.normal(size=shape) * scale).astype(np.complex64)
    return torch.tensor(a).to(torch.chalf), jtorch.tensor(a).to(jtorch.chalf)


def check(j, t):
    assert str(j.dtype) == str(t.dtype), (j.dtype, t.dtype)
    assert tuple(j.shape) == tuple(t.shape)
    if t.dtype == torch.chalf:
        want, got = t.to(torch.complex64).numpy(), j.to(jtorch.complex64).numpy()
    elif t.dtype == torch.bfloat16:
        want, got = t.float().numpy(), j.float().numpy()
    else:
        want, got = t.numpy(), j.numpy()
    np.testing.assert_array_equal(got, want)  # one rounding of the same float32 value: the same bits


def test_dtype_object():
    assert jtorch.chalf is jtorch.complex32 and jtorch.complex32 is not jtorch.complex64
    assert repr(jtorch.chalf) == repr(torch.chalf)
    assert jtorch.chalf.itemsize == torch.chalf.itemsize == 4
    assert jtorch.chalf.is_complex and not jtorch.chalf.is_floating_point
    assert jtorch.chalf.to_real() is jtorch.float16
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
             "complex32", "complex64", "complex128"]
    for a in names:
        for b in names:
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert repr(jtorch.promote_types(getattr(jtorch, a), getattr(jtorch, b))) == repr(want), (a, b)


def test_conversions_and_rounding(rng):
    t, j = pair(rng)
    check(j, t)
    assert j.element_size() == t.element_size() == 4 and j.nbytes == t.nbytes
    check(jtorch.view_as_real(j), torch.view_as_real(t))
    check(j.real, t.real)
    check(j.imag, t.imag)
    x = rng.normal(size=5).astype(np.float32) * 100
    check(jtorch.tensor(x).chalf(), torch.tensor(x).chalf())
    check(jtorch.tensor(x).to(jtorch.complex32), torch.tensor(x).to(torch.complex32))
    for d in ("float32", "float16", "complex64", "complex128", "int64", "bool"):
        check(j.to(getattr(jtorch, d)), t.to(getattr(torch, d)))
    assert j.tolist() == t.tolist()
    assert j[1, 2].item() == t[1, 2].item()
    assert repr(j[:2, :2]) == repr(t[:2, :2])
    assert repr(j[0, :2]) == repr(t[0, :2])
    with pytest.raises(TypeError):
        t.numpy()
    with pytest.raises(TypeError):
        j.numpy()


def test_factories(rng):
    for name, args in (("zeros", ((2, 3),)), ("ones", ((2, 3),)), ("full", ((2,), 1.5 - 2.25j))):
        check(getattr(jtorch, name)(*args, dtype=jtorch.chalf), getattr(torch, name)(*args, dtype=torch.chalf))
    check(jtorch.tensor([1 + 2j, 0.1 - 3.3j], dtype=jtorch.chalf), torch.tensor([1 + 2j, 0.1 - 3.3j], dtype=torch.chalf))
    t, j = pair(rng)
    check(jtorch.zeros_like(j), torch.zeros_like(t))
    check(j.new_ones(2), t.new_ones(2))
    r = jtorch.randn(3, 2, dtype=jtorch.chalf)
    assert r.dtype is jtorch.chalf and r.shape == (3, 2)


def test_promotion_and_arithmetic(rng):
    t, j = pair(rng)
    t2, j2 = pair(rng)
    h = rng.normal(size=(3, 4)).astype(np.float16)
    f = rng.normal(size=(3, 4)).astype(np.float32)
    for op in (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b):
        check(op(j, j2), op(t, t2))
        check(op(j, jtorch.tensor(h)), op(t, torch.tensor(h)))        # with float16: complex32
        check(op(j, jtorch.tensor(f)), op(t, torch.tensor(f)))        # with float32: complex64
        check(op(j, jtorch.tensor(3)), op(t, torch.tensor(3)))        # with an int: complex32
        check(op(j, jtorch.tensor(1.5)), op(t, torch.tensor(1.5)))    # 0-dim float32: complex32
        check(op(j, 2.5 - 1j), op(t, 2.5 - 1j))
    check(jtorch.tensor(h) * 1j, torch.tensor(h) * 1j)                # float16 and a complex number
    check(jtorch.tensor(h) + jtorch.tensor(2j), torch.tensor(h) + torch.tensor(2j))  # and a 0-dim complex64
    with pytest.raises(NotImplementedError, match="div_cpu"):
        torch.tensor(h) / 1j
    with pytest.raises(NotImplementedError, match="div_cpu"):
        jtorch.tensor(h) / 1j
    check(j.add(j2, alpha=2), t.add(t2, alpha=2))
    check(-j, -t)
    check(j.conj(), t.conj())
    check(j.abs(), t.abs())
    check(j.sgn(), t.sgn())
    check(j == j2, t == t2)
    check(jtorch.isfinite(j), torch.isfinite(t))


def test_views_and_indexing(rng):
    t, j = pair(rng)
    check(j[1:], t[1:])
    check(j.T, t.T)
    check(j.reshape(4, 3), t.reshape(4, 3))
    check(j[:, 1].unsqueeze(0), t[:, 1].unsqueeze(0))
    check(jtorch.cat([j, j[:1]]), torch.cat([t, t[:1]]))
    check(jtorch.stack([j, j]), torch.stack([t, t]))
    m = rng.random((3, 4)) < 0.5
    check(jtorch.where(jtorch.tensor(m), j, jtorch.zeros_like(j)), torch.where(torch.tensor(m), t, torch.zeros_like(t)))
    check(j.masked_fill(jtorch.tensor(m), 2 + 1j), t.masked_fill(torch.tensor(m), 2 + 1j))
    check(j.tril(), t.tril())
    check(j.roll(1, 0), t.roll(1, 0))
    check(jtorch.nonzero(j * jtorch.tensor(m)), torch.nonzero(t * torch.tensor(m)))
    v, tv = j[1], t[1]  # a write through a view reaches the base
    v[2] = 0.3 + 7j
    tv[2] = 0.3 + 7j
    check(j, t)
    j[0] = 5
    t[0] = 5
    check(j, t)
    j.fill_(1 - 1j)
    t.fill_(1 - 1j)
    check(j, t)


@pytest.mark.parametrize("name", ["exp", "sum", "mean", "prod", "sin", "sqrt", "reciprocal", "cumsum"])
def test_not_implemented_for_complexhalf(rng, name):
    t, j = pair(rng)
    args = (0,) if name == "cumsum" else ()
    with pytest.raises(NotImplementedError, match="ComplexHalf"):
        getattr(t, name)(*args)
    with pytest.raises(NotImplementedError, match="ComplexHalf"):
        getattr(j, name)(*args)


def test_binary_not_implemented(rng):
    t, j = pair(rng, (3, 3))
    for f in (lambda a: a / a, lambda a: a @ a, lambda a: a ** 2):
        with pytest.raises(NotImplementedError):
            f(t)
        with pytest.raises(NotImplementedError):
            f(j)


def leaf_pair(rng, shape=(3, 4)):
    t, j = pair(rng, shape)
    return t.requires_grad_(), j.requires_grad_()


def cotangent(rng, out, lib):
    shape = tuple(out.shape)
    if out.is_complex():
        a = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
        return lib.tensor(a).to(out.dtype)
    return lib.tensor(rng.normal(size=shape).astype(np.float32)).to(out.dtype)


AUTOGRAD_CASES = {
    "mul": lambda L, a, b: a * b,
    "add_alpha": lambda L, a, b: L.add(a, b, alpha=2),
    "sub": lambda L, a, b: a - b,
    "neg_conj": lambda L, a, b: (-a).conj() * b,
    "abs": lambda L, a, b: a.abs(),
    "real_imag": lambda L, a, b: a.real * b.imag,
    "view_as_real": lambda L, a, b: L.view_as_real(a * b),
    "views": lambda L, a, b: a.T[1:].reshape(-1)[::2] * b.T[1:].reshape(-1)[::2],
    "cat_stack": lambda L, a, b: L.stack([L.cat([a, b]), L.cat([b, a])]),
    "where": lambda L, a, b: L.where(a.real > 0, a, b),
    "to_complex64": lambda L, a, b: a.to(L.complex64) * 3 + b,
    "mul_float16": lambda L, a, b: a * b.real,
    "unbind_select": lambda L, a, b: a.unbind(0)[1] * b[2],
    "addcmul": lambda L, a, b: L.addcmul(a, b, L.ones_like(b) * (1.5 - 2j), value=2),
    "addcmul_value": lambda L, a, b: L.addcmul(a, b, L.ones_like(b) * (0.3 + 1j), value=3.14),
    "addcmul_complex_value": lambda L, a, b: L.addcmul(b, a, b.conj().detach(), value=-0.7 + 0.2j),
}


@pytest.mark.parametrize("case", sorted(AUTOGRAD_CASES))
def test_autograd_matches_torch(rng, case):
    # torch differentiates these ops in complex32: its backward formulas run in complex32 kernels (float32
    # opmath, one rounding); jtorch runs the complex64 VJP and rounds the gradient once: the same bits
    f = AUTOGRAD_CASES[case]
    ta, ja = leaf_pair(rng)
    tb, jb = leaf_pair(rng)
    t_out, j_out = f(torch, ta, tb), f(jtorch, ja, jb)
    check(j_out.detach(), t_out.detach())
    ct = cotangent(rng, t_out, torch)
    jct = jtorch.tensor(ct.to(torch.complex64).numpy()).to(j_out.dtype) if ct.is_complex() else \
        jtorch.tensor(ct.numpy())
    tg = torch.autograd.grad(t_out, [ta, tb], ct, allow_unused=True)
    jg = jtorch.autograd.grad(j_out, [ja, jb], jct, allow_unused=True)
    for x, y in zip(jg, tg):
        assert (x is None) == (y is None)
        if y is not None:
            check(x, y)


def test_autograd_leaf_grad_accumulates_and_cast_from_float(rng):
    ta, ja = leaf_pair(rng)
    for _ in range(2):
        (ta * ta).backward(torch.ones_like(ta))
        (ja * ja).backward(jtorch.ones_like(ja))
    check(ja.grad, ta.grad)
    x = rng.normal(size=(5,)).astype(np.float32)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    tc, jc = tx.to(torch.chalf), jx.to(jtorch.chalf)
    assert jc.requires_grad
    w = (rng.normal(size=5) + 1j * rng.normal(size=5)).astype(np.complex64)
    (tc * torch.tensor(w).to(torch.chalf)).backward(torch.ones(5, dtype=torch.chalf))
    (jc * jtorch.tensor(w).to(jtorch.chalf)).backward(jtorch.ones(5, dtype=jtorch.chalf))
    check(jx.grad, tx.grad)


def test_autograd_backward_raises_where_torch_does(rng):
    # sgn's forward exists for ComplexHalf, its backward divides (no ComplexHalf div kernel in torch)
    ta, ja = leaf_pair(rng)
    for L, a in ((torch, ta), (jtorch, ja)):
        out = a.sgn()
        with pytest.raises(NotImplementedError, match="div_cpu"):
            out.backward(L.ones_like(out))
        out = L.kron(a, a[:2])  # its gradient sums products in complex32
        with pytest.raises(NotImplementedError, match="sum_cpu"):
            out.backward(L.ones_like(out))
    with jtorch.no_grad():
        assert (ja * ja).dtype is jtorch.complex32 and not (ja * ja).requires_grad


def test_save_load_both_ways(rng, tmp_path):
    t, j = pair(rng, (3, 4))
    obj_t = {"x": t, "rows": t[1:], "T": t.T, "strided": t[::2, 1::2]}
    torch.save(obj_t, tmp_path / "t.pt")
    got = jtorch.load(tmp_path / "t.pt")
    for k in obj_t:
        check(got[k], obj_t[k])
    got["rows"][0, 0] = 7 - 1j  # views saved over one storage load sharing it, as in torch
    assert got["x"][1, 0].item() == 7 - 1j
    obj_j = {"x": j, "rows": j[1:], "T": j.T, "strided": j[::2, 1::2]}
    jtorch.save(obj_j, tmp_path / "j.pt")
    back = torch.load(tmp_path / "j.pt")
    for k in obj_j:
        check(obj_j[k], back[k])
    assert back["rows"].untyped_storage().data_ptr() == back["x"].untyped_storage().data_ptr()
    jtorch.save(j.real, tmp_path / "r.pt")  # a float16 view of complex32 data: its own float16 storage
    check(jtorch.real(j), torch.load(tmp_path / "r.pt"))
    with open(tmp_path / "j.pt", "rb") as f:  # the same bytes as torch writes for the same tensors
        assert f.read(2) == b"PK"


def test_autograd_broadcast_backward_raises_as_torch(rng):
    # a broadcast operand's gradient is summed over the broadcast dims: torch has no ComplexHalf sum kernel
    ta, ja = leaf_pair(rng, (3, 4))
    tb, jb = leaf_pair(rng, (4,))
    for L, a, b in ((torch, ta, tb), (jtorch, ja, jb)):
        for f in (lambda: a * b, lambda: a + b, lambda: b - a):
            out = f()
            with pytest.raises(NotImplementedError, match="sum_cpu"):
                out.backward(L.ones_like(out))
    for L, a in ((torch, ta), (jtorch, ja)):  # a 0-dim value filled in at several places: summed too
        v = L.tensor(1.5 - 2j, dtype=L.chalf, requires_grad=True)
        out = a.index_fill(1, L.tensor([0, 2]), v)
        with pytest.raises(NotImplementedError, match="sum_cpu"):
            out.backward(L.ones_like(out))
    tc, jc = pair(rng, (4,))  # broadcast, but needs no grad: the gradient of the other operand is fine
    tg = torch.autograd.grad(ta * tc, [ta], torch.ones(3, 4, dtype=torch.chalf))[0]
    jg = jtorch.autograd.grad(ja * jc, [ja], jtorch.ones(3, 4, dtype=jtorch.chalf))[0]
    check(jg, tg)
