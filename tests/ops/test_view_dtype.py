"""Tensor.view(dtype), against torch: the bits read as another dtype (values, shapes, errors), and a view
sharing the storage (writes both ways, views of views and chains with complex views, strides and offsets,
untyped storage, numpy, save/load, as_strided, compile, lazy batching; no autograd view, as torch's)."""
import numpy as np
import pytest
import torch as T

import jtorch as torch

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _bits(t, torch_mod):
    return t.numpy() if t.dtype == torch_mod.bool else t.view(torch_mod.uint8).numpy()


@pytest.mark.parametrize("src", ["float32", "int16", "uint8", "float64"])
@pytest.mark.parametrize("dst", DTYPES)
@pytest.mark.parametrize("cols", [slice(None), slice(2, None)])
def test_view_dtype_matches_torch(rng, src, dst, cols):
    x = (rng.standard_normal((3, 8)) * 50).astype(src)
    a, b = T.from_numpy(x.copy())[:, cols], torch.from_numpy(x.copy())[:, cols]
    try:
        want = a.view(getattr(T, dst))
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as got:
            b.view(getattr(torch, dst))
        assert str(got.value) == str(e)
        return
    got = b.view(getattr(torch, dst))
    assert got.shape == want.shape and str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(_bits(got, torch), _bits(want, T))


@pytest.mark.parametrize("make", [lambda m: m.randn(4, 3).t(), lambda m: m.randn(4, 3), lambda m: m.randn(())])
@pytest.mark.parametrize("dst", ["float64", "int16"])
def test_view_dtype_errors(make, dst):
    T.manual_seed(0)
    a, b = make(T), make(torch)
    try:
        a.view(getattr(T, dst))
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as got:
            b.view(getattr(torch, dst))
        assert str(got.value) == str(e)
    else:
        assert b.view(getattr(torch, dst)).shape == a.view(getattr(T, dst)).shape


# ---------------------------------------------------------------- aliasing: view(dtype) is a view
LIBS = (T, torch)
INTS = {"int64", "int32", "int16", "int8", "uint8"}


def _make(rng, dtype, shape):
    if dtype == "bool":
        return rng.standard_normal(shape) > 0
    if dtype in INTS:
        return rng.integers(-100 if dtype != "uint8" else 0, 100, shape).astype(dtype)
    if dtype.startswith("complex"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return (rng.standard_normal(shape) * 50).astype("float32").astype(dtype if dtype != "bfloat16" else "float32")


def _tensor(m, arr, dtype):
    t = m.from_numpy(arr.copy())
    return t.to(getattr(m, dtype)) if dtype == "bfloat16" else t


def _raw(t, m):
    """A tensor's bytes as numpy (a copy; bool as its bytes)."""
    t = t.detach().clone(memory_format=m.contiguous_format)
    if t.dtype == m.bool:
        return t.numpy().view(np.uint8)
    return t.view(m.uint8).numpy() if t.dim() else t.reshape(1).view(m.uint8).numpy()


def _geometry(t):
    return (tuple(t.shape), str(t.dtype).split(".")[-1], t.stride(), t.storage_offset(), t.is_contiguous(),
            t.data_ptr() - t.untyped_storage().data_ptr(), t.untyped_storage().nbytes(), t._base is None,
            t._is_view())


def _value_for(dtype):
    return True if dtype == "bool" else 5


PAIRS = [("float32", "int32"), ("float32", "int16"), ("float32", "uint8"), ("int8", "int32"), ("int8", "float32"),
         ("bool", "uint8"), ("uint8", "bool"), ("bfloat16", "int16"), ("int16", "bfloat16"), ("float16", "int16"),
         ("int16", "float16"), ("complex64", "float64"), ("float64", "complex64"), ("complex64", "float32"),
         ("float32", "complex64"), ("complex128", "int64"), ("int16", "int64"), ("float64", "uint8")]


def _writes_both_ways(m, arr, src, dst):
    """Writes through ``x.view(dst)`` seen in ``x`` and the other way round; bytes and geometry after each."""
    x = _tensor(m, arr, src)
    y = x.view(getattr(m, dst))
    out = [_geometry(y), _raw(y, m)]
    y[0] = 1 if src == "bool" else _value_for(dst)  # (a bool root holds 0 or 1 in each byte, see README)
    out += [_raw(x, m), x._version, y._version]
    y[-1].zero_()
    out += [_raw(x, m), x._version]
    if src == "bool":
        y.bitwise_xor_(1)
        out.append(_raw(x, m))
    elif dst in INTS:
        y.add_(3)
        out.append(_raw(x, m))
    x[1] = _value_for(src)  # and the other way: a write into x reaches y
    out += [_raw(y, m), y._version]
    x.zero_()
    out.append(_raw(y, m))
    return out


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        if isinstance(u, np.ndarray):
            np.testing.assert_array_equal(u, v)
        else:
            assert u == v


@pytest.mark.parametrize("src,dst", PAIRS)
def test_writes_alias_both_ways(rng, src, dst):
    arr = _make(rng, src, (4, 8))
    _same(*(_writes_both_ways(m, arr, src, dst) for m in LIBS))


def _through_views(m, arr):
    """view(dtype) of views (offset, transposed) and chains of view(dtype)s, with writes through each."""
    x = m.from_numpy(arr.copy())  # float32 (6, 8)
    out = []
    for make in (lambda: x[1:, 2:].view(m.int16), lambda: x[2:].view(m.float64), lambda: x.t().view(m.int32),
                 lambda: x[::2, 4:].view(m.uint8), lambda: x.view(m.int32)[1:].view(m.float32),
                 lambda: x.view(m.uint8)[:, 4:].view(m.int16).view(m.float16)[1:3],
                 lambda: x.view(m.float64)[:, 1:].view(m.int32).t(),
                 lambda: m.view_as_complex(x.view(m.int32)[1:].view(m.float32).reshape(5, 4, 2)),
                 lambda: m.view_as_real(x.view(m.complex64)[:, 1:]).view(m.int16),
                 lambda: x.view(m.complex64).imag.view(m.int32)):
        v = make()
        out.append(_geometry(v))
        out.append(_raw(v, m))
        v[0] = 7
        v[..., -1] = 0
        out.append(_raw(x, m))
    y = x.view(m.int32)
    z = y[1:]
    out.append((z._base is y, y._base is None))
    return out


def test_views_of_views_and_chains(rng):
    arr = _make(rng, "float32", (6, 8))
    _same(*(_through_views(m, arr) for m in LIBS))


def test_errors_on_views(rng):
    """torch's conditions checked on views: offsets and strides in elements of the source."""
    arr = _make(rng, "int8", (4, 8))
    for make in (lambda m, x: x[:, 1:].view(m.int16), lambda m, x: x[:, 2:].view(m.int32),
                 lambda m, x: x[:, ::2].view(m.int16), lambda m, x: x.t().view(m.int16),
                 lambda m, x: x[:, :6].view(m.int32), lambda m, x: x[1].view(m.int64)):
        try:
            want = make(T, T.from_numpy(arr.copy()))
        except RuntimeError as e:
            with pytest.raises(RuntimeError) as got:
                make(torch, torch.from_numpy(arr.copy()))
            assert str(got.value) == str(e)
        else:
            got = make(torch, torch.from_numpy(arr.copy()))
            assert _geometry(got) == _geometry(want)
            np.testing.assert_array_equal(got.numpy(), want.numpy())


def _autograd(m, arr):
    out = []
    x = m.from_numpy(arr.copy()).requires_grad_()
    for dt in (m.float32, m.int32, m.float16, m.float64, m.uint8):
        y = x.view(dt)
        out.append((y.requires_grad, y.grad_fn is None, y.is_leaf, y._base is None, y is x))
    x.view(m.int32)[0].add_(1)  # no leaf error: view(dtype) is no autograd view
    x.view(m.float32)[1] = 2
    out += [x._version, _raw(x, m)]
    h = x * 2
    h.view(m.float32).mul_(3)  # invisible to autograd, as torch's
    h.sum().backward()
    out.append(x.grad.numpy())
    h = x * 1
    s = h.sin()
    h.view(m.int32).add_(0)  # a saved tensor modified through the view
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
    return out


def test_autograd_as_torch(rng):
    arr = _make(rng, "float32", (3, 4))
    _same(*(_autograd(m, arr) for m in LIBS))


def test_untyped_storage_shared(rng):
    x = torch.from_numpy(_make(rng, "float32", (3, 4)))
    y = x[1:].view(torch.uint8)
    assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert y.untyped_storage().nbytes() == 48
    s = y.untyped_storage()
    s[0] = 1  # a byte written through the storage: seen by every alias
    ref = T.from_numpy(x.numpy().copy())
    ref.untyped_storage()[0] = 1
    np.testing.assert_array_equal(x.view(torch.int32).numpy(), ref.view(T.int32).numpy())


def _numpy(m, arr):
    x = m.from_numpy(arr.copy())
    b = x[1:].view(m.int32).numpy()
    b[0, 1] = 123  # numpy-side write: seen by x
    out = [_raw(x, m)]
    x[2, 0] = 0.5  # jtorch-side write: seen by the array
    out.append(b.copy())
    c = x.view(m.uint8).numpy()
    out.append((c.shape, c.strides))
    return out


def test_numpy_sharing(rng):
    arr = _make(rng, "float32", (3, 4))
    _same(*(_numpy(m, arr) for m in LIBS))


def test_save_as_torch(rng, tmp_path):
    """torch refuses to save one storage viewed as two dtypes; a view alone saves its storage read as its
    dtype (files cross both ways)."""
    import io
    arr = _make(rng, "float32", (3, 8))
    for m in LIBS:
        x = m.from_numpy(arr.copy())
        with pytest.raises(RuntimeError, match="view the same data as different types"):
            m.save({"a": x, "b": x.view(m.int32)}, io.BytesIO())
    views = {m: {"a": m.from_numpy(arr.copy())[1:, 2:].view(m.int16),
                 "b": m.from_numpy(arr.copy()).view(m.float64)[1:]} for m in LIBS}
    for writer in LIBS:
        buf = io.BytesIO()
        writer.save(views[writer], buf)
        for reader in LIBS:
            buf.seek(0)
            got = reader.load(buf)
            for k, want in views[T].items():
                assert _geometry(got[k])[:4] == _geometry(want)[:4]
                np.testing.assert_array_equal(_raw(got[k], reader), _raw(want, T))


def test_as_strided_of_dtype_view(rng):
    arr, carr, barr = _make(rng, "float32", (4, 6)), _make(rng, "complex64", (6,)), _make(rng, "int8", (10,))
    out = []
    for m in LIBS:
        x = m.from_numpy(arr.copy())
        s = x.view(m.int16).as_strided((2, 3), (1, 4), 3)
        s.fill_(9)
        out.append([_geometry(s)[:4], _raw(x, m)])
        z = m.from_numpy(carr.copy())
        s = z.view(m.int32).as_strided((3,), (2,), 1)  # (storage of complex elements read as int32)
        s.fill_(0)
        out[-1] += [_geometry(s)[:4], _raw(z, m)]
        b = m.from_numpy(barr.copy())
        s = b[2:].view(m.int16).as_strided((2,), (2,), 1)
        s.fill_(-1)
        out[-1] += [_geometry(s)[:4], _raw(b, m)]
    _same(*out)


def test_compiled_write_through(rng):
    arr = _make(rng, "float32", (3, 4))

    def step(m, x):
        x.view(m.int32)[1:].add_(1)
        return x * 2

    want = T.from_numpy(arr.copy())
    want_out = step(T, want)
    step(T, want)
    got = torch.from_numpy(arr.copy())
    f = torch.compile(lambda x: step(torch, x))
    got_out = f(got)
    f(got)
    np.testing.assert_array_equal(_raw(got, torch), _raw(want, T))
    np.testing.assert_array_equal(got_out.numpy(), want_out.numpy())


@pytest.mark.parametrize("dst", ["float32", "int32", "float16", "int16", "uint8", "float64", "complex64"])
def test_complex32_bits(rng, dst):
    """view(dtype) from and to complex32 (a copy in jtorch: its storage holds complex64 values): torch's bits,
    shapes and errors."""
    z = (rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4))).astype(np.complex64)
    x = _make(rng, dst, (2, 8))
    for make in (lambda m: m.from_numpy(z).to(m.complex32).view(getattr(m, dst)),
                 lambda m: m.from_numpy(z).to(m.complex32)[0, 1].view(getattr(m, dst)),
                 lambda m: _tensor(m, x, dst).view(m.complex32).view(m.int16)):
        try:
            want = make(T)
        except RuntimeError as e:
            with pytest.raises(RuntimeError) as got:
                make(torch)
            assert str(got.value) == str(e)
            continue
        got = make(torch)
        assert got.shape == want.shape and str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(_raw(got, torch), _raw(want, T))


def _readers(m, arr):
    x = m.from_numpy(arr.copy())
    a = np.asarray(x[:, 2:].view(m.int16))  # a strided view's array: torch's strides over the same bytes
    meta = m.empty(4, 6, device="meta")[1:].view(m.int16)
    laid = m.from_numpy(arr.copy()).reshape(1, 2, 2, 6).to(memory_format=m.channels_last).view(m.int32)
    y = x.view(m.int32)
    cl = m.from_numpy(arr.copy()).reshape(2, 3, 2, 2).to(memory_format=m.channels_last)
    cl_views = []
    for v in (cl[:, :, :, 1:].view(m.int32), cl[1].view(m.int32), cl[:, 1:].view(m.float32)):
        v.fill_(7)  # offsets count in the storage's order, not the logical one
        cl_views += [(v.stride(), v.storage_offset()), _raw(cl, m)]
    return [*cl_views, a.shape, a.strides, a.copy(), (tuple(meta.shape), meta.stride(), meta.storage_offset()),
            (laid.stride(), laid.is_contiguous(memory_format=m.channels_last)),
            (y.is_set_to(x), x.view(m.float32).is_set_to(x)),
            tuple(m.view_as_real(x.view(m.complex64)).view(m.int64).shape)]


def test_metadata_readers(rng):
    arr = _make(rng, "float32", (4, 6))
    _same(*(_readers(m, arr) for m in LIBS))


def test_lazy_batching_writes(rng):
    """With lazy batching on, writes through dtype views are recorded lazily and still alias."""
    from jtorch import _lazy
    arr = _make(rng, "float32", (4, 8))
    was = _lazy.enabled()
    assert _lazy.set_enabled(True)
    try:
        got = _writes_both_ways(torch, arr, "float32", "int16")
    finally:
        _lazy.set_enabled(was)
    _same(_writes_both_ways(T, arr, "float32", "int16"), got)
