"""Tensor attributes, operators, conversions and repr against torch."""
import math
import operator

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both, to_np


def test_attributes(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t, j = both(a)
    assert j.shape == t.shape and isinstance(j.shape, jtorch.Size)
    assert j.size() == t.size() and j.size(1) == t.size(1) and j.size(-1) == t.size(-1)
    assert j.dim() == t.dim() == j.ndim and j.numel() == t.numel() == j.nelement()
    assert j.stride() == t.stride() and j.is_contiguous()
    assert str(j.dtype) == str(t.dtype) and str(j.device) == "cpu" and j.is_leaf and j.grad_fn is None
    assert j.element_size() == 4 and j.nbytes == t.nbytes
    assert_close(j.T, t.permute(2, 1, 0))
    assert_close(j.mT, t.mT)
    assert len(j) == 2
    assert repr(j.shape) == repr(t.shape) and j.shape.numel() == 24
    with pytest.raises(IndexError):
        j.size(3)


REPR_CASES = [
    lambda m: m.tensor([1, 2, 3]),
    lambda m: m.tensor([1.0, 2.5, -3.0]),
    lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]),
    lambda m: m.tensor([1e-5, 2.0, 3e5]),
    lambda m: m.tensor(3.5),
    lambda m: m.tensor([True, False]),
    lambda m: m.tensor([1, 2], dtype=m.int32),
    lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
    lambda m: m.zeros(0),
    lambda m: m.zeros(2, 0),
    lambda m: m.tensor([1.0, float("nan"), float("inf")]),
    lambda m: m.tensor([0.1234567, 10.5]),
    lambda m: m.arange(2000).float(),
    lambda m: m.arange(24).reshape(2, 3, 4),
    lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    lambda m: m.tensor([123456789.0, 1.0]),
    # columns are as wide as the nonzero finite values: -0. and nan may stick out
    lambda m: m.tensor([1.0, -0.0, 0.5]),
    lambda m: m.tensor([0.0, -0.0, 0.0]),
    lambda m: m.tensor([float("nan"), -0.0, 2.0]),
    # complex: real and imaginary parts formatted separately; complex64 is the default complex dtype
    lambda m: m.tensor([1 + 2j, 3.5 - 1j, -1.25 + 0.5j]),
    lambda m: m.tensor([1 + 2j], dtype=m.complex128),
    lambda m: m.tensor([1e-6 + 1j]),
    lambda m: m.arange(40.0).view(2, 20) * (1 + 1j),
    # torch.return_types print one field per line
    lambda m: m.tensor([[1.0, 5.0], [3.0, 4.0]]).max(1),
    lambda m: m.sort(m.tensor([3.0, 1.0, 2.0])),
    lambda m: m.linalg.slogdet(m.tensor([[1.0, 5.0], [3.0, 4.0]])),
    lambda m: m.histogram(m.tensor([1.0, 2.0]), bins=2),
]


@pytest.mark.parametrize("k", range(len(REPR_CASES)))
def test_repr_matches_torch(k):
    assert repr(REPR_CASES[k](jtorch)) == repr(REPR_CASES[k](torch))


def test_repr_grad_fn():
    x = jtorch.tensor([1.0, 2.0], requires_grad=True)
    assert "grad_fn=<" in repr(x * 2)
    # print(y.grad_fn) in the autograd tutorial: torch's "<AddBackward0 object at 0x...>"
    y = x + 2
    assert repr(y.grad_fn) == f"<AddBackward0 object at {id(y.grad_fn):#x}>"


BIN = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod, operator.pow,
       operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", BIN, ids=lambda o: o.__name__)
def test_binary_operators(op, rng):
    a = rng.uniform(0.5, 3, (3, 4)).astype(np.float32)
    b = rng.uniform(0.5, 3, (4,)).astype(np.float32)
    (ta, ja), (tb, jb) = both(a), both(b)
    assert_close(op(ja, jb), op(ta, tb), rtol=1e-5)
    assert_close(op(ja, 2), op(ta, 2), rtol=1e-5)
    assert_close(op(2.5, ja), op(2.5, ta), rtol=1e-5)
    ia, ib = rng.integers(1, 9, (3, 4)), rng.integers(1, 5, (4,))
    (tia, jia), (tib, jib) = both(ia), both(ib)
    assert_close(op(jia, jib), op(tia, tib))
    assert_close(op(jia, 1.5), op(tia, 1.5), rtol=1e-5)
    assert_close(op(ja, jib), op(ta, tib), rtol=1e-5)


@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift])
def test_bitwise_operators(op, rng):
    a, b = rng.integers(0, 16, (5,)), rng.integers(0, 3, (5,))
    (ta, ja), (tb, jb) = both(a), both(b)
    assert_close(op(ja, jb), op(ta, tb))
    tb_, jb_ = both(a > 7)
    if op in (operator.and_, operator.or_, operator.xor):
        assert_close(op(jb_, jb_), op(tb_, tb_))
    assert_close(~ja, ~ta)
    with pytest.raises(RuntimeError):
        jtorch.ones(2) & jtorch.ones(2)


def test_unary_operators(rng):
    t, j = both(rng.standard_normal(5).astype(np.float32))
    assert_close(-j, -t)
    assert_close(abs(j), abs(t))
    assert_close(+j, +t)


@pytest.mark.parametrize("name", ["add_", "sub_", "mul_", "div_"])
def test_inplace_methods(name, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    (ta, ja), (tb, jb) = both(a), both(b)
    r = getattr(ja, name)(jb)
    getattr(ta, name)(tb)
    assert r is ja
    assert_close(ja, ta)


def test_inplace_operators_and_dtype_errors(rng):
    t, j = both(rng.standard_normal(4).astype(np.float32))
    ident = id(j)
    j += 1
    j *= 2
    j -= 0.5
    j /= 3
    t += 1
    t *= 2
    t -= 0.5
    t /= 3
    assert id(j) == ident
    assert_close(j, t)
    ti, ji = both(np.arange(4))
    with pytest.raises(RuntimeError):
        ji += 1.5
    with pytest.raises(RuntimeError):
        ti += 1.5
    ji += 2
    assert ji.dtype == jtorch.int64
    with pytest.raises(RuntimeError):
        jtorch.ones(2, 3).add_(jtorch.ones(3, 3))


def test_shape_mismatch_is_runtime_error():
    with pytest.raises(RuntimeError, match="must match the size"):
        jtorch.ones(3) + jtorch.ones(4)
    with pytest.raises(RuntimeError):
        jtorch.ones(2, 3) @ jtorch.ones(2, 3)
    with pytest.raises(RuntimeError):
        jtorch.ones(2, 3).view(4, 2)


def test_item_tolist_numpy_scalars(rng):
    a = rng.standard_normal((2, 2)).astype(np.float32)
    t, j = both(a)
    assert j.tolist() == t.tolist()
    assert j[0, 1].item() == t[0, 1].item()
    assert isinstance(jtorch.tensor(3).item(), int) and isinstance(jtorch.tensor(3.0).item(), float)
    assert float(j[0, 0]) == float(t[0, 0]) and int(jtorch.tensor(7)) == 7
    assert [10, 20, 30][jtorch.tensor(1)] == 20
    np.testing.assert_array_equal(np.asarray(j), a)
    np.testing.assert_array_equal(j.numpy(), a)
    with pytest.raises(RuntimeError):
        j.item()
    with pytest.raises(RuntimeError):
        bool(j)
    assert bool(jtorch.tensor([1.0])) and not bool(jtorch.tensor(0))
    with pytest.raises(RuntimeError):
        jtorch.ones(2, requires_grad=True).numpy()
    with pytest.raises(TypeError):
        len(jtorch.tensor(1.0))
    with pytest.raises(TypeError):
        [1, 2][jtorch.tensor(1.0)]


def test_iteration_and_contains(rng):
    t, j = both(rng.standard_normal((3, 2)).astype(np.float32))
    for a, b in zip(j, t):
        assert_close(a, b)
    assert 5 in jtorch.tensor([1, 5])


def test_conversions(rng):
    t, j = both(rng.standard_normal(5).astype(np.float32) * 10)
    for name in ["float", "double", "half", "long", "int", "short", "bool", "byte", "char", "bfloat16"]:
        assert_close(getattr(j, name)(), getattr(t, name)(), rtol=1e-2, atol=1e-2)
    assert_close(j.to(jtorch.float64), t.to(torch.float64))
    assert_close(j.to("cpu", jtorch.int32), t.to("cpu", torch.int32))
    assert_close(j.to(jtorch.zeros(1, dtype=jtorch.int16)), t.to(torch.zeros(1, dtype=torch.int16)))
    assert j.type() == t.type() == "torch.FloatTensor"
    assert j.long().type() == "torch.LongTensor"
    assert_close(j.type(jtorch.float64), t.type(torch.float64))
    assert_close(j.type("torch.DoubleTensor"), t.type("torch.DoubleTensor"))
    # the legacy type classes name a dtype too (was ignored: the tensor stayed float32)
    assert_close(j.type(jtorch.IntTensor), t.type(torch.IntTensor))
    assert_close(j.type(jtorch.LongTensor), t.type(torch.LongTensor))
    assert j.to(jtorch.float32) is j
    assert j.to(jtorch.float32, copy=True) is not j
    assert_close(j.type_as(jtorch.ones(1, dtype=jtorch.int32)), t.type_as(torch.ones(1, dtype=torch.int32)))


def test_new_constructors_and_fills(rng):
    t, j = both(rng.standard_normal((2, 3)).astype(np.float64))
    assert_close(j.new_zeros(2, 2), t.new_zeros(2, 2))
    assert_close(j.new_ones((3,)), t.new_ones((3,)))
    assert_close(j.new_full((2,), 7), t.new_full((2,), 7))
    assert_close(j.new_tensor([1, 2]), t.new_tensor([1, 2]))
    assert j.new_empty(4).shape == (4,) and j.new_empty(4).dtype == jtorch.float64
    j2, t2 = j.clone(), t.clone()
    assert_close(j2.fill_(3.5), t2.fill_(3.5))
    assert_close(j2.zero_(), t2.zero_())
    src = rng.standard_normal(3)
    assert_close(j2.copy_(jtorch.tensor(src)), t2.copy_(torch.tensor(src)))
    assert_close(jtorch.zeros(2, 3, dtype=jtorch.int32).copy_(j), torch.zeros(2, 3, dtype=torch.int32).copy_(t))


def test_clone_detach_contiguous(rng):
    t, j = both(rng.standard_normal((3, 4)).astype(np.float32))
    c = j.clone()
    c.add_(1)
    assert not jtorch.equal(c, j)
    d = j.detach()
    d.add_(1)
    t.detach().add_(1)
    assert jtorch.equal(d, j)  # detach shares storage
    v = j.t()
    assert not v.is_contiguous() and v.contiguous().is_contiguous()
    assert v.stride() == t.t().stride()
    assert_close(v.contiguous(), t.t().contiguous())


def test_cuda_without_gpu():
    assert not jtorch.cuda.is_available() or jtorch.cuda.device_count() > 0
    if not jtorch.cuda.is_available():
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            jtorch.ones(2).cuda()
        with pytest.raises(AssertionError):
            jtorch.ones(2).to("cuda")
        with pytest.raises(AssertionError):
            jtorch.ones(2, device="cuda")
        assert jtorch.cuda.device_count() == 0
        assert not jtorch.backends.mps.is_available()
        assert jtorch.accelerator.current_accelerator() is None


def test_device_and_size():
    d = jtorch.device("cuda:1")
    assert d.type == "cuda" and d.index == 1 and str(d) == "cuda:1" and repr(d) == repr(torch.device("cuda:1"))
    assert jtorch.device("cpu") == "cpu" and jtorch.device("cuda", 0) == jtorch.device("cuda:0")
    assert repr(jtorch.device("cpu")) == repr(torch.device("cpu"))
    with pytest.raises(RuntimeError):
        jtorch.device("gpu")
    s = jtorch.Size([2, 3])
    assert s == (2, 3) and s.numel() == 6 and repr(s) == "torch.Size([2, 3])" and isinstance(s[0:1], jtorch.Size)


def test_non_tensor_argument_is_a_type_error():
    """A forward hook returning o.shape hands a torch.Size to the next layer: torch's TypeError."""
    for m in (torch, jtorch):
        with pytest.raises(TypeError, match=r"relu\(\): argument 'input' \(position 1\) must be Tensor, not torch.Size"):
            m.relu(m.ones(2).shape)
        with pytest.raises(TypeError):
            m.nn.functional.relu(m.Size([2]))


def test_new_constructors_take_size_by_keyword():
    t, j = torch.ones(2, dtype=torch.float64), jtorch.ones(2, dtype=jtorch.float64)
    for name in ("new_zeros", "new_ones", "new_empty"):
        for kw in ({"size": (2, 3)}, {"size": ()}, {"size": [4]}):
            a, b = getattr(t, name)(**kw), getattr(j, name)(**kw)
            assert tuple(b.shape) == tuple(a.shape) and str(b.dtype) == str(a.dtype)
            if name != "new_empty":
                np.testing.assert_array_equal(b.numpy(), a.numpy())
        a, b = getattr(t, name)(size=(), dtype=torch.bool), getattr(j, name)(size=(), dtype=jtorch.bool)
        assert b.dtype == jtorch.bool and b.shape == () and (name == "new_empty" or b.item() == a.item())
        for lib_t in (t, j):
            with pytest.raises(TypeError, match="multiple values for argument 'size'"):
                getattr(lib_t, name)((2,), size=(3,))
            with pytest.raises(TypeError, match="must be tuple of ints"):
                getattr(lib_t, name)(size=4)
