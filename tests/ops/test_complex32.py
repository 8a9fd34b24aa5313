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


def test_autograd_through_complex32_raises_not_silently_detached():
    # torch differentiates complex32 ops; jtorch does not yet and must say so rather than drop the graph
    x = jtorch.tensor([1 + 1j, 2 - 1j], dtype=jtorch.chalf, requires_grad=True)
    with pytest.raises(NotImplementedError, match="complex32"):
        x * x
    with jtorch.no_grad():
        assert (x * x).dtype is jtorch.complex32
