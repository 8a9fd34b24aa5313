"""numpy memory sharing, __array__, DLPack, JAX bridges and real torch tensors, against torch's behaviour."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jtorch
from jtorch import interop
from jtorch.utils import dlpack as jdlpack


def _unaligned(a):
    """A copy of ``a`` whose data does not start on a 64-byte boundary (XLA can't alias it)."""
    raw = np.empty(a.nbytes + 64 + a.itemsize, np.uint8)
    off = (-raw.ctypes.data) % 64 + a.itemsize
    out = raw[off:off + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.ctypes.data % 64
    return out


def _aligned(a):
    raw = np.empty(a.nbytes + 64, np.uint8)
    off = (-raw.ctypes.data) % 64
    out = raw[off:off + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _values(rng, dtype, shape):
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _script(lib, a):
    """The same sequence of writes on both sides of a from_numpy pair, for torch and jtorch."""
    t = lib.from_numpy(a)
    seen = []
    a[0, 0] = a[1, 1]                # numpy write -> tensor
    seen.append(t.clone())
    t[1, 2] = t[0, 1]                # tensor write -> numpy
    seen.append(a.copy())
    col = t[:, 1]                    # a view of the tensor sees numpy writes
    a[2, 1] = a[0, 2]
    seen.append(col.clone())
    col.copy_(t[:, 0])               # writes through a view reach numpy
    seen.append(a.copy())
    if a.dtype != np.bool_:
        t.mul_(2) if a.dtype.kind != "b" else None
        seen.append(a.copy())
        np.add(a, a, out=a)
        seen.append(t.clone())
    return seen


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.float16, np.complex64, np.uint8])
@pytest.mark.parametrize("layout", ["aligned", "unaligned", "strided"])
def test_from_numpy_shares_memory_both_ways(rng, dtype, layout):
    base = _values(rng, dtype, (4, 6))
    make = {"aligned": lambda: _aligned(base[:, :3]), "unaligned": lambda: _unaligned(base[:, :3]),
            "strided": lambda: _aligned(base)[:, ::2]}[layout]
    want = _script(torch, make())
    got = _script(jtorch, make())
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_numpy_shares_memory_both_ways(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for lib in (torch, jtorch):
        t = lib.tensor(x)
        a = t.numpy()
        a[0, 0] = 100.0
        assert t[0, 0].item() == 100.0
        t[1].add_(5)
        np.testing.assert_array_equal(a[1], x[1] + 5)
        v = t.t()
        va = v.numpy()
        assert np.shares_memory(va, a) and va.strides == a.T.strides
        va[3, 2] = -1.0
        assert t[2, 3].item() == -1.0
        row = t[2].numpy()
        t.zero_()
        assert not row.any() and not a.any()
        assert t.numpy() is not None and np.shares_memory(t.numpy(), a)
    b = jtorch.tensor([True, False, True])
    bn = b.numpy()
    bn[0] = False
    assert b.tolist() == [False, False, True]


def test_numpy_of_views_of_a_scalar():
    """reshape/expand views of a 0-d tensor: .numpy() shares the one element, as torch's."""
    for lib in (torch, jtorch):
        s = lib.tensor(3.0)
        r, e = s.reshape(1, 1), s.expand(2, 3)
        ra, ea = r.numpy(), e.numpy()
        assert ra.shape == (1, 1) and ea.shape == (2, 3) and ea.strides == (0, 0)
        ra[0, 0] = 7.0
        assert s.item() == 7.0 and ea[1, 2] == 7.0
        s.fill_(-2.0)
        assert ra[0, 0] == -2.0 and (e.numpy() == -2.0).all()


def test_numpy_errors_like_torch(rng):
    x = rng.standard_normal(3).astype(np.float32)
    for lib in (torch, jtorch):
        with pytest.raises(RuntimeError, match="requires grad"):
            lib.tensor(x, requires_grad=True).numpy()
        with pytest.raises(ValueError, match="negative"):
            lib.from_numpy(x[::-1])
        with pytest.raises(TypeError):
            lib.from_numpy(np.array(["a"], dtype=object))
        with pytest.raises(TypeError):
            lib.from_numpy([1.0, 2.0])
        with pytest.raises(ValueError, match="byte order"):
            lib.from_numpy(x.astype(">f4"))
        with pytest.warns(UserWarning, match="not writable"):
            ro = x.copy()
            ro.flags.writeable = False
            lib.from_numpy(ro)


def test_array_protocol(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t, j = torch.tensor(x), jtorch.tensor(x)
    for dt in (None, np.float64, np.int32):
        np.testing.assert_array_equal(np.asarray(j, dtype=dt), np.asarray(t, dtype=dt))
        assert np.asarray(j, dtype=dt).dtype == np.asarray(t, dtype=dt).dtype
    np.testing.assert_array_equal(np.asarray(j.t()), x.T)
    np.testing.assert_allclose(np.add(j, 1.0), x + 1.0)


def test_dlpack_both_ways(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    j = jtorch.tensor(x)
    # jtorch -> torch, via the protocol and via capsules
    t1 = torch.from_dlpack(j)
    t2 = torch.utils.dlpack.from_dlpack(jdlpack.to_dlpack(j))
    np.testing.assert_array_equal(t1.numpy(), x)
    np.testing.assert_array_equal(t2.numpy(), x)
    assert j.__dlpack_device__() == t1.__dlpack_device__()
    # torch -> jtorch shares torch's memory (torch allocates 64-byte aligned CPU buffers)
    t = torch.from_numpy(x.copy())
    for j2 in (jtorch.from_dlpack(t), jdlpack.from_dlpack(torch.utils.dlpack.to_dlpack(t)),
               jtorch.utils.dlpack.from_dlpack(t)):
        np.testing.assert_array_equal(np.asarray(j2), x)
        assert j2.dtype == jtorch.float32 and tuple(j2.shape) == (3, 4)
    shared = jtorch.from_dlpack(t)
    t[0, 0] = 7.0
    assert shared[0, 0].item() == 7.0
    # numpy arrays through dlpack share like from_numpy
    a = x.copy()
    ja = jtorch.from_dlpack(a)
    ja[1, 1] = 3.0
    assert a[1, 1] == 3.0
    with pytest.raises(TypeError):
        jtorch.from_dlpack([1, 2])


def test_jax_bridges_are_zero_copy(rng):
    x = jnp.asarray(rng.standard_normal((2, 5)).astype(np.float32))
    t = jtorch.from_jax(x)
    assert t.jax() is x and t.dtype == jtorch.float32
    assert interop.to_jax(t) is x
    y = (t * 2).jax()
    np.testing.assert_allclose(np.asarray(y), np.asarray(x) * 2)
    tree = {"a": t, "b": [jtorch.arange(3), 4], "c": (None, "s")}
    jt = interop.to_jax(tree)
    assert jt["a"] is x and isinstance(jt["b"][0], jax.Array) and jt["b"][1] == 4 and jt["c"] == (None, "s")
    back = interop.from_jax(jt)
    assert isinstance(back["a"], jtorch.Tensor) and back["a"].jax() is x and back["b"][1] == 4
    # a jtorch function as a jax function of arrays
    f = jax.jit(lambda a: interop.to_jax(jtorch.from_jax(a).sin().sum()))
    np.testing.assert_allclose(float(f(x)), float(np.sin(np.asarray(x, np.float64)).sum()), rtol=1e-5, atol=1e-5)
    assert interop.from_jax_tree(jt)["b"][0].tolist() == [0, 1, 2]
    with pytest.raises(TypeError):
        jtorch.from_jax(np.ones(3))


def test_real_torch_tensors_convert(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t = torch.from_numpy(x.copy())
    a = jtorch.as_tensor(t)
    np.testing.assert_array_equal(np.asarray(a), x)
    t[0, 0] = 9.0                 # as_tensor shares CPU memory, as torch.as_tensor does
    assert a[0, 0].item() == 9.0
    a[1, 1] = -9.0
    assert t[1, 1].item() == -9.0
    c = jtorch.tensor(t)          # tensor() copies
    t[0, 1] = 123.0
    assert c[0, 1].item() != 123.0
    g = torch.tensor(x, requires_grad=True) * 2
    assert jtorch.tensor(g).tolist() == g.tolist() and not jtorch.tensor(g).requires_grad
    bf = torch.from_numpy(x).bfloat16()
    jb = jtorch.as_tensor(bf)
    assert jb.dtype == jtorch.bfloat16 and jb.float().tolist() == bf.float().tolist()
    assert jtorch.as_tensor(t, dtype=jtorch.float64).dtype == jtorch.float64
    i = jtorch.tensor(torch.arange(4))
    assert i.dtype == jtorch.int64 and i.tolist() == [0, 1, 2, 3]


def test_numpy_sharing_survives_compiled_writes(rng):
    x = rng.standard_normal(8).astype(np.float32)
    for make in (_aligned, _unaligned):
        a = make(x)
        t = jtorch.from_numpy(a)

        def step():
            t.mul_(2)
        fast = jtorch.compile(step)
        for _ in range(3):
            fast()
        np.testing.assert_allclose(a, x * 8)       # compiled writes reach numpy
        a[0] = 5.0
        assert t[0].item() == 5.0                   # and numpy writes still reach the tensor
