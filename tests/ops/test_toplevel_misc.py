"""torch.gradient, the deprecated ATen norms, binomial, segment_reduce, frombuffer, to_dlpack,
set_default_tensor_type and sym_* against real torch."""
import array
import math
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def _f(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_uniform_and_dims(rng, edge_order):
    t, j = both(_f(rng, 5, 6, 4), requires_grad=True)
    for kw in ({}, {"spacing": 0.5}, {"spacing": [2.0, 0.5, 3.0]}, {"dim": 1}, {"dim": [0, -1], "spacing": 1.5},
               {"dim": (2,), "spacing": [0.25]}):
        t.grad = j.grad = None
        rt = torch.gradient(t, edge_order=edge_order, **kw)
        rj = jtorch.gradient(j, edge_order=edge_order, **kw)
        assert isinstance(rj, tuple)
        assert_close(list(rj), list(rt), rtol=1e-5, atol=1e-5)
        w = rng.standard_normal(t.shape).astype(np.float32)
        sum((r * torch.from_numpy(w)).sum() for r in rt).backward()
        sum((r * jtorch.tensor(w)).sum() for r in rj).backward()
        assert_close(j.grad, t.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_coordinates(rng, edge_order, dtype):
    t, j = both(_f(rng, 6, 5, dtype=dtype))
    c0 = np.sort(rng.uniform(0, 10, 6)).astype(dtype)
    c1 = np.cumsum(rng.uniform(0.5, 2, 5)).astype(dtype)
    rt = torch.gradient(t, spacing=(torch.from_numpy(c0), torch.from_numpy(c1)), edge_order=edge_order)
    rj = jtorch.gradient(j, spacing=(jtorch.tensor(c0), jtorch.tensor(c1)), edge_order=edge_order)
    assert_close(list(rj), list(rt), rtol=1e-4, atol=1e-4)
    # integer samples and integer coordinates give the default float dtype
    ti, ji = both(rng.integers(-5, 5, (7,)))
    ci = np.array([0, 1, 3, 4, 7, 8, 11])
    assert_close(list(jtorch.gradient(ji, spacing=(jtorch.tensor(ci),))),
                 list(torch.gradient(ti, spacing=(torch.from_numpy(ci),))), rtol=1e-5, atol=1e-5)
    assert_close(list(jtorch.gradient(ji)), list(torch.gradient(ti)))


def test_gradient_errors():
    x, y = torch.randn(2, 3), jtorch.randn(2, 3)
    for kw, exc in (({"edge_order": 3}, RuntimeError), ({"edge_order": 2}, RuntimeError),
                    ({"spacing": [1.0, 2.0, 3.0]}, RuntimeError), ({"dim": 5}, IndexError),
                    ({"dim": (0, 0)}, RuntimeError), ({"dim": 0, "spacing": [1.0, 2.0]}, RuntimeError)):
        with pytest.raises(exc):
            torch.gradient(x, **kw)
        with pytest.raises(exc):
            jtorch.gradient(y, **kw)


def test_deprecated_norms(rng):
    t, j = both(_f(rng, 3, 4, 5), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [lambda m, x: m.nuclear_norm(x[0]), lambda m, x: m.nuclear_norm(x), lambda m, x: m.nuclear_norm(x[0], True),
                 lambda m, x: m.nuclear_norm(x, [0, 2]), lambda m, x: m.nuclear_norm(x, (1, 2), True),
                 lambda m, x: m.frobenius_norm(x, [0, 1]), lambda m, x: m.frobenius_norm(x, [2], True),
                 lambda m, x: m.frobenius_norm(x, 1)]
        for case in cases:
            t.grad = j.grad = None
            rt, rj = case(torch, t), case(jtorch, j)
            assert_close(rj, rt, rtol=1e-4, atol=1e-5)
            rt.sum().backward()
            rj.sum().backward()
            assert_close(j.grad, t.grad, rtol=1e-4, atol=1e-4)
        for m, x in ((torch, t), (jtorch, j)):
            with pytest.raises(RuntimeError):
                m.nuclear_norm(x[0, 0])
            with pytest.raises(RuntimeError):
                m.nuclear_norm(x, [0])
            with pytest.raises(RuntimeError):
                m.frobenius_norm(x, [0, 1, 2])


def test_binomial(rng):
    count = jtorch.tensor(rng.integers(0, 40, (4000,)).astype(np.float32))
    prob = jtorch.tensor(rng.uniform(0, 1, (4000,)).astype(np.float32))
    jtorch.manual_seed(0)
    s = jtorch.binomial(count, prob)
    ts = torch.binomial(torch.tensor([3.0]), torch.tensor([0.5]))
    assert s.dtype == jtorch.float32 and ts.dtype == torch.float32 and s.shape == count.shape
    sv, c, p = s.numpy(), count.numpy(), prob.numpy()
    assert np.all((sv >= 0) & (sv <= c)) and np.all(sv == np.round(sv))
    z = (sv - c * p).sum() / math.sqrt((c * p * (1 - p)).sum())
    assert abs(z) < 4
    assert jtorch.binomial(count.double(), prob.double()).dtype == jtorch.float64
    for m in (torch, jtorch):
        with pytest.raises(ValueError):
            m.binomial(m.tensor([3, 4]), m.tensor([0.5, 0.5]))
        with pytest.raises(RuntimeError):
            m.binomial(m.tensor([3.0]), m.tensor([0.5], dtype=m.float64))
        with pytest.raises(RuntimeError):
            m.binomial(m.tensor([2.0, 3.0]), m.tensor([0.5, 0.5, 0.5]))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 1.5])
def test_segment_reduce(rng, reduce, initial):
    data = rng.standard_normal((7, 3)).astype(np.float32)
    data[2, 1] = data[3, 1]  # a tie inside a segment
    data[4, 0] = 0.0
    t, j = both(data, requires_grad=True)
    for kw in ({"lengths": [2, 0, 4, 1]}, {"offsets": [0, 3, 3, 7]}):
        t.grad = j.grad = None
        k = {key: v for key, v in kw.items()}
        rt = torch.segment_reduce(t, reduce, **{key: torch.tensor(v) for key, v in k.items()}, initial=initial)
        rj = jtorch.segment_reduce(j, reduce, **{key: jtorch.tensor(v) for key, v in k.items()}, initial=initial)
        assert_close(rj, rt, rtol=1e-5, atol=1e-5)
        w = rng.standard_normal(rt.shape).astype(np.float32)
        (rt.nan_to_num(0, 0, 0) * torch.from_numpy(w)).sum().backward()
        (rj.nan_to_num(0, 0, 0) * jtorch.tensor(w)).sum().backward()
        assert_close(j.grad, t.grad, rtol=1e-4, atol=1e-5)
    t2, j2 = both(_f(rng, 3, 5))
    assert_close(jtorch.segment_reduce(j2, reduce, lengths=jtorch.tensor([1, 2]), axis=-2, initial=initial),
                 torch.segment_reduce(t2, reduce, lengths=torch.tensor([1, 2]), axis=-2, initial=initial))
    for m, x in ((torch, t2), (jtorch, j2)):  # 1-D lengths run along axis 0 only
        with pytest.raises(RuntimeError):
            m.segment_reduce(x, reduce, lengths=m.tensor([1, 4]), axis=1)


def test_segment_reduce_errors():
    for m in (torch, jtorch):
        d = m.arange(12.0).reshape(6, 2)
        with pytest.raises(RuntimeError):
            m.segment_reduce(d, "sum", lengths=m.tensor([2, 2]))
        with pytest.raises(RuntimeError):
            m.segment_reduce(d, "foo", lengths=m.tensor([6]))
        with pytest.raises(RuntimeError):
            m.segment_reduce(d, "sum")
        with pytest.raises(NotImplementedError):
            m.segment_reduce(m.arange(6), "sum", lengths=m.tensor([3, 3]))


def test_frombuffer_shares_memory():
    a = array.array("i", [1, 2, 3, 4])
    b = array.array("i", [1, 2, 3, 4])
    t, j = torch.frombuffer(a, dtype=torch.int32), jtorch.frombuffer(b, dtype=jtorch.int32)
    assert_close(j, t)
    t[0] = 9
    j[0] = 9
    assert a == b == array.array("i", [9, 2, 3, 4])
    raw = bytearray(np.arange(6, dtype=np.float32).tobytes())
    for kw in ({}, {"offset": 4}, {"offset": 8, "count": 2}, {"count": 3}):
        assert_close(jtorch.frombuffer(bytearray(raw), dtype=jtorch.float32, **kw),
                     torch.frombuffer(bytearray(raw), dtype=torch.float32, **kw))
    assert jtorch.frombuffer(bytearray(raw), dtype=jtorch.float32, requires_grad=True).requires_grad
    for kw in ({"offset": 24}, {"offset": -1}, {"count": 7}, {"offset": 2}):
        with pytest.raises(ValueError):
            torch.frombuffer(bytearray(raw), dtype=torch.float32, **kw)
        with pytest.raises(ValueError):
            jtorch.frombuffer(bytearray(raw), dtype=jtorch.float32, **kw)
    for m in (torch, jtorch):
        with pytest.raises(ValueError):
            m.frombuffer(b"", dtype=m.float32)


def test_to_dlpack_roundtrip(rng):
    j = jtorch.tensor(_f(rng, 3, 4))
    back = jtorch.from_dlpack(jtorch.to_dlpack(j))
    assert_close(back, torch.from_numpy(j.numpy()))


def test_set_default_tensor_type():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jtorch.set_default_tensor_type(jtorch.DoubleTensor)
            assert jtorch.tensor([1.5]).dtype == jtorch.float64
            jtorch.set_default_tensor_type("torch.FloatTensor")
            assert jtorch.tensor([1.5]).dtype == jtorch.float32
            for m in (torch, jtorch):
                with pytest.raises(TypeError):
                    m.set_default_tensor_type(m.LongTensor)
    finally:
        jtorch.set_default_dtype(jtorch.float32)


def test_sym_helpers():
    for m in (torch, jtorch):
        vals = (m.sym_int(3.7), m.sym_int(-3.7), m.sym_float(3), m.sym_max(2, 3.5), m.sym_min(2, 3.5),
                m.sym_max(2, 3.0), m.sym_max(4, 3), m.sym_not(True), m.sym_sqrt(4), m.sym_sum([1, 2, 3.0]),
                m.sym_sum([]), m.sym_ite(True, 1, 2), m.sym_ite(False, 1, 2))
        if m is torch:
            expected = vals
        else:
            assert vals == expected
            assert [type(v) for v in vals] == [type(v) for v in expected]
        with pytest.raises(AssertionError):
            m.sym_ite(1, 2, 3)
        with pytest.raises(AssertionError):
            m.sym_max(m.tensor(2), 3)


def test_deterministic_debug_mode():
    try:
        for m in (torch, jtorch):
            for mode, want in (("warn", (1, True, True)), (2, (2, True, False)), ("default", (0, False, False)),
                               (1, (1, True, True))):
                m.set_deterministic_debug_mode(mode)
                assert (m.get_deterministic_debug_mode(), m.are_deterministic_algorithms_enabled(),
                        m.is_deterministic_algorithms_warn_only_enabled()) == want
            m.use_deterministic_algorithms(False)
            assert m.get_deterministic_debug_mode() == 0
            for bad, exc in (("foo", RuntimeError), (3, RuntimeError), (1.5, TypeError)):
                with pytest.raises(exc):
                    m.set_deterministic_debug_mode(bad)
    finally:
        torch.use_deterministic_algorithms(False)
        jtorch.use_deterministic_algorithms(False)


def test_small_aliases_and_types():
    for m in (torch, jtorch):
        assert issubclass(m.AcceleratorError, RuntimeError) and issubclass(m.OutOfMemoryError, RuntimeError)
        assert not isinstance(3, m.SymInt) and not isinstance(1.5, m.SymFloat) and not isinstance(True, m.SymBool)
        assert m.GradScaler is m.amp.GradScaler
        fut = m.jit.fork(lambda a: a * 2, m.tensor([1.0, 2.0]))
        assert m.wait(fut).tolist() == [2.0, 4.0]


def test_from_file(tmp_path, rng):
    vals = rng.standard_normal(6).astype(np.float32)
    path = str(tmp_path / "f.bin")
    vals.tofile(path)
    for kw in ({"size": 4, "dtype": "float32"}, {"size": 6}, {"size": 6, "shared": True}, {}):
        tk = {k: (getattr(torch, v) if k == "dtype" else v) for k, v in kw.items()}
        jk = {k: (getattr(jtorch, v) if k == "dtype" else v) for k, v in kw.items()}
        assert_close(jtorch.from_file(path, **jk), torch.from_file(path, **tk))
    for m in (torch, jtorch):
        with pytest.raises(RuntimeError):
            m.from_file(path, size=7)


def test_norm_except_dim_and_renorm(rng):
    t, j = both(_f(rng, 2, 3, 4), requires_grad=True)
    for p, d in ((2, 0), (2, 1), (3, 2), (2, -1)):
        t.grad = j.grad = None
        rt, rj = torch.norm_except_dim(t, p, d), jtorch.norm_except_dim(j, p, d)
        assert_close(rj, rt, rtol=1e-5, atol=1e-6)
        rt.sum().backward()
        rj.sum().backward()
        assert_close(j.grad, t.grad, rtol=1e-5, atol=1e-6)
    wt, wj = both(_f(rng, 6, 3) * 3)
    it, ij = both(np.array([0, 2, 2, 5]))
    assert torch.embedding_renorm_(wt, it, 1.0, 2.0) is wt
    assert jtorch.embedding_renorm_(wj, ij, 1.0, 2.0) is wj
    assert_close(wj, wt, rtol=1e-5, atol=1e-6)
    th_t, th_j = both(_f(rng, 2, 2, 3))
    for ac in (False, True):
        assert_close(jtorch.affine_grid_generator(th_j, [2, 1, 3, 4], ac),
                     torch.affine_grid_generator(th_t, [2, 1, 3, 4], ac), rtol=1e-5, atol=1e-6)


def test_get_device_module_and_cpu():
    for m in (torch, jtorch):
        cpu = m.get_device_module("cpu")
        assert cpu is m.cpu and m.get_device_module(m.device("cpu")) is m.cpu
        assert m.get_device_module("cuda") is m.cuda
        if not m.cuda.is_available():
            assert m.get_device_module() is m.cpu
        assert cpu.is_available() and cpu.device_count() == 1 and cpu.current_device() == "cpu"
        cpu.synchronize()
        s = cpu.Stream()
        with cpu.stream(s):
            assert cpu.current_stream() is s
        assert cpu.current_stream() is not s
        with pytest.raises(RuntimeError):
            m.get_device_module(3)
        with pytest.raises(RuntimeError):
            m.get_device_module("foo")
