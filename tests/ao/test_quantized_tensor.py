"""Quantized tensors against torch: integer values (exact), dequantized values, parameters, repr, views, errors."""
import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import jtorch

warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")

QD = [("qint8", 0), ("quint8", 17), ("qint32", -5)]


def _x(rng, shape, ties=True, scale=0.1):
    x = (rng.standard_normal(shape) * rng.uniform(0.3, 3)).astype(np.float32)
    if ties:  # exact halfway points of the float32 grid: torch's rounding of ties is checked too
        flat = x.reshape(-1)
        k = rng.integers(-60, 60, flat.size // 3)
        flat[:k.size] = ((k + 0.5) * np.float32(scale)).astype(np.float32)
    return x


def _same_q(j, t):
    assert str(j.dtype) == str(t.dtype)
    assert tuple(j.shape) == tuple(t.shape)
    np.testing.assert_array_equal(j.int_repr().numpy(), t.int_repr().numpy())
    np.testing.assert_array_equal(j.dequantize().numpy(), t.dequantize().numpy())
    assert str(j.qscheme()) == str(t.qscheme())
    if t.qscheme() == torch.per_tensor_affine:
        assert j.q_scale() == t.q_scale() and j.q_zero_point() == t.q_zero_point()
        assert type(j.q_scale()) is float and type(j.q_zero_point()) is int
    else:
        np.testing.assert_array_equal(j.q_per_channel_scales().numpy(), t.q_per_channel_scales().numpy())
        np.testing.assert_array_equal(j.q_per_channel_zero_points().numpy(), t.q_per_channel_zero_points().numpy())
        assert j.q_per_channel_axis() == t.q_per_channel_axis()


@pytest.mark.parametrize("name,zp", QD)
def test_quantize_per_tensor(rng, name, zp):
    for n in (7, 64, 1003):
        scale = float(rng.uniform(0.01, 0.4))
        x = _x(rng, (n,), scale=scale)
        t = torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, name))
        j = jtorch.quantize_per_tensor(jtorch.tensor(x), scale, zp, getattr(jtorch, name))
        _same_q(j, t)
        assert j.is_quantized and not jtorch.tensor(x).is_quantized


def test_quantize_per_tensor_tensor_params_and_lists(rng):
    x, y = _x(rng, (3, 4)), _x(rng, (5,))
    t = torch.quantize_per_tensor(torch.tensor(x), torch.tensor(0.05), torch.tensor(3), torch.qint8)
    j = jtorch.quantize_per_tensor(jtorch.tensor(x), jtorch.tensor(0.05), jtorch.tensor(3), jtorch.qint8)
    _same_q(j, t)
    ts = torch.quantize_per_tensor([torch.tensor(x), torch.tensor(y)], torch.tensor([0.1, 0.02]),
                                   torch.tensor([4, 200]), torch.quint8)
    js = jtorch.quantize_per_tensor([jtorch.tensor(x), jtorch.tensor(y)], jtorch.tensor([0.1, 0.02]),
                                    jtorch.tensor([4, 200]), jtorch.quint8)
    for a, b in zip(js, ts):
        _same_q(a, b)
    for a, b in zip(jtorch.dequantize(js), torch.dequantize(ts)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("name", ["qint8", "quint8", "qint32"])
def test_quantize_per_channel(rng, axis, name):
    shape = (3, 4, 5)
    x = _x(rng, shape, ties=False)
    c = shape[axis]
    sc = rng.uniform(0.01, 0.4, c)
    zp = rng.integers(0, 30, c)
    t = torch.quantize_per_channel(torch.tensor(x), torch.tensor(sc), torch.tensor(zp), axis, getattr(torch, name))
    j = jtorch.quantize_per_channel(jtorch.tensor(x), jtorch.tensor(sc), jtorch.tensor(zp), axis,
                                    getattr(jtorch, name))
    _same_q(j, t)
    assert j.q_per_channel_scales().dtype is jtorch.float64 and j.q_per_channel_zero_points().dtype is jtorch.int64


@pytest.mark.parametrize("name,reduce_range", [("quint8", False), ("quint8", True), ("qint8", True),
                                               ("qint8", False)])
def test_quantize_per_tensor_dynamic(rng, name, reduce_range):
    for shape in [(4, 6), (1,), (50,)]:
        x = _x(rng, shape, ties=False) + np.float32(rng.uniform(-1, 1))
        t = torch.quantize_per_tensor_dynamic(torch.tensor(x), getattr(torch, name), reduce_range)
        j = jtorch.quantize_per_tensor_dynamic(jtorch.tensor(x), getattr(jtorch, name), reduce_range)
        _same_q(j, t)
    pos = np.abs(_x(rng, (8,))) + 1
    assert jtorch._choose_qparams_per_tensor(jtorch.tensor(pos), False) == \
        torch._choose_qparams_per_tensor(torch.tensor(pos), False)


def test_quint4x2_and_quint2x4(rng):
    x = rng.random((2, 5)).astype(np.float32)
    for name in ("quint4x2", "quint2x4"):
        t = torch.quantize_per_tensor(torch.tensor(x), 0.1, 2, getattr(torch, name))
        j = jtorch.quantize_per_tensor(jtorch.tensor(x), 0.1, 2, getattr(jtorch, name))
        _same_q(j, t)
        assert repr(j) == repr(t)


def test_dtypes():
    for name in ("qint8", "quint8", "qint32", "quint4x2", "quint2x4"):
        a, b = getattr(jtorch, name), getattr(torch, name)
        assert repr(a) == repr(b) and a.itemsize == b.itemsize
        assert a.is_floating_point == b.is_floating_point and a.is_complex == b.is_complex
        with pytest.raises(RuntimeError):
            a.is_signed
        assert pickle.loads(pickle.dumps(a)) is a
    for name in ("per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
                 "per_channel_affine_float_qparams"):
        assert repr(getattr(jtorch, name)) == repr(getattr(torch, name))
    assert isinstance(jtorch.per_tensor_affine, jtorch.qscheme)


def test_repr(rng):
    x = _x(rng, (2, 3), ties=False)
    for mk in (lambda m, a: m.quantize_per_tensor(a, 0.1, 10, m.quint8),
               lambda m, a: m.quantize_per_tensor(a, 0.013, -3, m.qint8)[0, 1],
               lambda m, a: m.quantize_per_channel(a, m.tensor([0.1, 0.2, 0.3]), m.tensor([1, 2, 3]), 1, m.qint8),
               lambda m, a: m.quantize_per_tensor(a.reshape(-1).repeat(3), 0.2, 0, m.qint32)):
        assert repr(mk(jtorch, jtorch.tensor(x))) == repr(mk(torch, torch.tensor(x)))


def test_views_and_moves(rng):
    x = _x(rng, (4, 6), ties=False)
    t = torch.quantize_per_tensor(torch.tensor(x), 0.05, 7, torch.quint8)
    j = jtorch.quantize_per_tensor(jtorch.tensor(x), 0.05, 7, jtorch.quint8)
    ops = [lambda a: a[1], lambda a: a[:, 2:5], lambda a: a.t(), lambda a: a.view(3, 8), lambda a: a.reshape(-1),
           lambda a: a.transpose(0, 1).contiguous(), lambda a: a.unsqueeze(0), lambda a: a.permute(1, 0),
           lambda a: a.narrow(1, 1, 3), lambda a: a.select(0, 2), lambda a: a.flatten(), lambda a: a.clone(),
           lambda a: a.detach(), lambda a: a[[0, 2, 3]], lambda a: a.flip(0), lambda a: a.expand(2, 4, 6),
           lambda a: a.relu(), lambda a: a.max(), lambda a: a.unbind(1)[3], lambda a: a.split(2)[1],
           lambda a: torch.cat([a, a]) if isinstance(a, torch.Tensor) else jtorch.cat([a, a]),
           lambda a: torch.stack([a, a], 1) if isinstance(a, torch.Tensor) else jtorch.stack([a, a], 1)]
    for op in ops:
        _same_q(op(j), op(t))
    # a view shares the integers: an in-place op through the base shows in it
    tv, jv = t[1:3], j[1:3]
    t.relu_()
    j.relu_()
    _same_q(jv, tv)
    _same_q(j, t)


def test_cat_requantizes(rng):
    x, y = _x(rng, (2, 3), ties=False), _x(rng, (1, 3), ties=False)
    t = torch.cat([torch.quantize_per_tensor(torch.tensor(x), 0.1, 2, torch.qint8),
                   torch.quantize_per_tensor(torch.tensor(y), 0.03, -4, torch.qint8)])
    j = jtorch.cat([jtorch.quantize_per_tensor(jtorch.tensor(x), 0.1, 2, jtorch.qint8),
                    jtorch.quantize_per_tensor(jtorch.tensor(y), 0.03, -4, jtorch.qint8)])
    _same_q(j, t)


def test_max_pool2d(rng):
    x = _x(rng, (2, 3, 7, 7), ties=False)
    t = torch.quantize_per_tensor(torch.tensor(x), 0.02, 5, torch.quint8)
    j = jtorch.quantize_per_tensor(jtorch.tensor(x), 0.02, 5, jtorch.quint8)
    _same_q(jtorch.nn.functional.max_pool2d(j, 3, 2, 1), torch.nn.functional.max_pool2d(t, 3, 2, 1))


def test_copy_compare_pickle(rng):
    x, y = _x(rng, (3, 4), ties=False), _x(rng, (3, 4), ties=False)
    t = torch.quantize_per_tensor(torch.tensor(x), 0.05, 3, torch.qint8)
    j = jtorch.quantize_per_tensor(jtorch.tensor(x), 0.05, 3, jtorch.qint8)
    t.copy_(torch.tensor(y))
    j.copy_(jtorch.tensor(y))
    _same_q(j, t)
    np.testing.assert_array_equal((j == j[0]).numpy(), (t == t[0]).numpy())
    _same_q(copy.deepcopy(j), t)
    _same_q(pickle.loads(pickle.dumps(j)), t)
    _same_q(j.to("cpu"), t.to("cpu"))
    assert j[1, 2].item() == t[1, 2].item()


def _err(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001
        return type(e)
    return None


def test_errors(rng):
    x = _x(rng, (2, 3), ties=False)
    for m in (torch, jtorch):
        a = m.tensor(x)
        q = m.quantize_per_tensor(a, 0.1, 1, m.qint8)
        qc = m.quantize_per_channel(a, m.tensor([0.1, 0.2, 0.3]), m.tensor([1, 2, 3]), 1, m.qint8)
        cases = [lambda: m.quantize_per_tensor(a, 0.1, 300, m.quint8),
                 lambda: m.quantize_per_tensor(a, 0.1, -1, m.quint8),
                 lambda: m.quantize_per_tensor(a, 0.1, 1, m.float32),
                 lambda: m.quantize_per_tensor(a.double(), 0.1, 1, m.qint8),
                 lambda: m.quantize_per_tensor(a.int(), 0.1, 1, m.qint8),
                 lambda: m.quantize_per_channel(a, m.tensor([0.1, 0.2]), m.tensor([1, 2]), 1, m.qint8),
                 lambda: m.quantize_per_channel(a, m.tensor([0.1, 0.2, .3]), m.tensor([1, 2, 3]), 2, m.qint8),
                 lambda: q + 1, lambda: q.sum(), lambda: q.log(), lambda: q.abs(), lambda: q * q,
                 lambda: q.requires_grad_(), lambda: q.numpy(), lambda: q.tolist(), lambda: q.to(m.float32),
                 lambda: q.q_per_channel_scales(), lambda: qc.q_scale(),
                 lambda: qc.transpose(0, 1),
                 lambda: a.q_scale(), lambda: a.int_repr(), lambda: a.qscheme()]
        errs = [_err(c) for c in cases]
        if m is torch:
            expected = errs
        else:
            assert errs == expected
    assert expected[0] is RuntimeError and expected[7] is RuntimeError and expected[8] is NotImplementedError
    assert jtorch.tensor(x).dequantize() is not None


def test_save_load_both_ways(rng, tmp_path):
    x = _x(rng, (3, 4), ties=False)
    sc, zp = rng.uniform(0.01, 0.1, 4), rng.integers(-5, 5, 4)
    mk = [lambda m, a: m.quantize_per_tensor(a, 0.05, 3, m.quint8),
          lambda m, a: m.quantize_per_tensor(a, 0.02, -7, m.qint8)[1:, ::2],
          lambda m, a: m.quantize_per_tensor(a, 0.001, 11, m.qint32),
          lambda m, a: m.quantize_per_channel(a, m.tensor(sc), m.tensor(zp), 1, m.qint8)]
    ts = {f"k{i}": f(torch, torch.tensor(x)) for i, f in enumerate(mk)}
    js = {f"k{i}": f(jtorch, jtorch.tensor(x)) for i, f in enumerate(mk)}
    jtorch.save({**js, "scheme": jtorch.per_channel_affine, "dt": jtorch.quint8}, tmp_path / "j.pt")
    back = torch.load(tmp_path / "j.pt")
    assert back["scheme"] is torch.per_channel_affine and back["dt"] is torch.quint8
    for k in ts:
        _same_q(js[k], back[k])
    torch.save(ts, tmp_path / "t.pt")
    back = jtorch.load(tmp_path / "t.pt")
    for k in ts:
        _same_q(back[k], ts[k])


def test_toplevel_functions(rng):
    x = _x(rng, (2, 3, 6, 6), ties=False)
    t = torch.quantize_per_tensor(torch.tensor(x), 0.05, 3, torch.quint8)
    j = jtorch.quantize_per_tensor(jtorch.tensor(x), 0.05, 3, jtorch.quint8)
    _same_q(jtorch.quantized_max_pool2d(j, [2, 2]), torch.quantized_max_pool2d(t, [2, 2]))
    _same_q(jtorch.quantized_max_pool2d(j, [3, 3], [2, 2], [1, 1]),
            torch.quantized_max_pool2d(t, [3, 3], [2, 2], [1, 1]))
    t1, j1 = t.reshape(2, 3, 36), j.reshape(2, 3, 36)
    _same_q(jtorch.quantized_max_pool1d(j1, [4]), torch.quantized_max_pool1d(t1, [4]))
    assert jtorch.q_scale(j) == torch.q_scale(t) and jtorch.q_zero_point(j) == torch.q_zero_point(t)
    np.testing.assert_array_equal(jtorch.int_repr(j).numpy(), torch.int_repr(t).numpy())
    e = jtorch.empty_quantized([2, 2], j)
    assert tuple(e.shape) == (2, 2) and e.q_scale() == 0.05 and e.dtype is jtorch.quint8
    w, b, m, v = (rng.standard_normal(3).astype(np.float32) for _ in range(4))
    v = np.abs(v) + 0.5
    _same_q(jtorch.quantized_batch_norm(j, *(jtorch.tensor(a) for a in (w, b, m, v)), 1e-5, 0.1, 40),
            torch.quantized_batch_norm(t, *(torch.tensor(a) for a in (w, b, m, v)), 1e-5, 0.1, 40))
