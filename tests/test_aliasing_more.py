"""Aliasing corners, each run through torch and jtorch on the same seeded inputs and compared: deepcopy and
save/load of several views of one storage keep the sharing; complex32 dtype views (``view(torch.complex32)``,
``view_as_real``, ``real``/``imag``, ``view_as_complex`` of half) are views; a bool view of other bytes keeps
them for later dtype views; ``_base`` chains, ``data_ptr`` patterns, ``is_set_to``, ``set_``, ``resize_`` of
views, storage offsets of view chains and version counters shared across dtype views."""
import copy
import io
import pickle
import warnings

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import to_np

LIBS = (torch, jtorch)

pytestmark = pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else jtorch


def _snap(t):
    """dtype, shape, strides, storage offset and the values' exact bits, as plain Python values."""
    m = _lib(t)
    v = t.detach()
    if v.dtype == m.complex32:
        v = m.view_as_real(v)
    a = np.ascontiguousarray(to_np(v))
    return str(t.dtype).split(".")[-1], tuple(t.shape), tuple(t.stride()), t.storage_offset(), a.tobytes()


def _ptrs(ts):
    """data_ptr offsets from the first tensor's, and which share the first one's storage."""
    p0, s0 = ts[0].data_ptr(), ts[0].untyped_storage().data_ptr()
    return [t.data_ptr() - p0 for t in ts], [t.untyped_storage().data_ptr() == s0 for t in ts]


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (the type and message are what is compared)
        return type(e).__name__, str(e)
    return None


def _same(fn, *arrays):
    """``fn(lib, *tensors)`` for torch and jtorch on copies of ``arrays``: equal records."""
    out = []
    for m in LIBS:
        out.append(fn(m, *[m.tensor(a.copy()) if isinstance(a, np.ndarray) else a for a in arrays]))
    _assert_same(out[1], out[0])
    return out[0]


def _assert_same(j, t, where="record"):
    """Equal nested records; the first difference named by its path."""
    if isinstance(t, (list, tuple)) and isinstance(j, (list, tuple)) and len(j) == len(t):
        for i, (a, b) in enumerate(zip(j, t)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(t, dict) and isinstance(j, dict) and j.keys() == t.keys():
        for k in t:
            _assert_same(j[k], t[k], f"{where}[{k!r}]")
    else:
        assert j == t, f"{where}: jtorch {j!r} != torch {t!r}"


# ---------------------------------------------------------------- deepcopy
def test_deepcopy_keeps_views_of_one_storage(rng):
    def run(m, base):
        views = {"base": base, "rows": base[1:], "t": base.t(), "bits": base.view(m.int32),
                 "strided": base[:, ::2], "flat": base.view(-1)[3:9]}
        c = copy.deepcopy(views)
        rec = [{k: _snap(v) for k, v in c.items()}, _ptrs(list(c.values())),
               [v._base is None for v in c.values()],
               c["base"].untyped_storage().data_ptr() != base.untyped_storage().data_ptr()]
        c["base"][1, 2] = 100.0
        c["bits"][0, 1] = 0x3F800000  # (1.0: a normal float, as XLA flushes denormals)
        c["t"].mul_(2)
        rec.append({k: _snap(v) for k, v in c.items()})
        rec.append(_snap(base))  # the original untouched
        return rec
    _same(run, rng.standard_normal((3, 4)).astype(np.float32))


def test_deepcopy_keeps_complex_part_views_and_bool_byte_views(rng):
    z = (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(np.complex64)
    u = rng.integers(0, 256, (2, 2)).astype(np.uint8)

    def run(m, z, u):
        c = copy.deepcopy([z, z.real, z.imag, m.view_as_real(z), z[1:].imag])
        c[0][2] = -1 - 1j
        cu, cb = copy.deepcopy([u, u.view(m.bool)])
        cu[0, 0] = 3
        return [_snap(x) for x in c] + [_snap(cb.view(m.uint8)), _ptrs(c)]
    _same(run, z, u)


def test_deepcopy_of_a_lone_view_copies_its_whole_storage(rng):
    def run(m, base):
        c = copy.deepcopy(base[1:, 1:3])
        return _snap(c), c.untyped_storage().nbytes(), c._base is None
    _same(run, rng.standard_normal((3, 4)).astype(np.float32))


def test_deepcopy_grads_requires_grad_and_detached_views(rng):
    def run(m, a, g):
        w = a.clone().requires_grad_()
        w.grad = g.clone()
        h = m.zeros(2, 4, requires_grad=True)
        h.grad = w.grad[1:]
        leaf_view = w.detach()[1:].requires_grad_()  # a view made a leaf: deep-copied with its sharing
        cw, ch, cl, cd = copy.deepcopy([w, h, leaf_view, w.detach()])
        rec = [(t.requires_grad, t.is_leaf, t.grad is None) for t in (cw, ch, cl, cd)]
        cw.grad[1, 0] = -5.0
        cd[2, 3] = 9.0
        rec += [_snap(ch.grad), _snap(cl), _snap(cw), _snap(w.grad)]
        return rec
    _same(run, rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32))


def test_deepcopy_of_a_non_leaf_or_a_view_of_a_leaf_that_requires_grad_raises(rng):
    def run(m, a):
        x = a.clone().requires_grad_()
        return [_error(lambda: copy.deepcopy(x * 2)), _error(lambda: copy.deepcopy([x, x[1:]])),
                _error(lambda: copy.deepcopy({"k": x.t()}))]
    rec = _same(run, rng.standard_normal((2, 3)).astype(np.float32))
    assert all(r is not None and r[0] == "RuntimeError" for r in rec)


def _module(m, a):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = m.nn.Linear(3, 3)
            self.dec = m.nn.Linear(3, 3)
            self.dec.weight = self.enc.weight  # tied
            self.register_buffer("table", a.clone())
            self.register_buffer("rows", self.table[1:])  # a buffer that is a view of another
            self.register_buffer("wview", self.enc.weight.detach()[0])  # a view of a parameter's data
    return Net()


def test_deepcopy_module_with_tied_weights_and_view_buffers(rng):
    def run(m, a):
        net = _module(m, a)
        c = copy.deepcopy(net)
        rec = [c.enc.weight is c.dec.weight, c.enc.weight is not net.enc.weight, _snap(c.rows)]
        c.table[2, 1] = 42.0
        with m.no_grad():
            c.enc.weight[0, 0] = 3.0
        rec += [_snap(c.rows), _snap(c.wview)[4] == _snap(net.wview)[4], _snap(net.rows)]
        rec.append(_ptrs([c.table, c.rows])[1])
        return rec
    _same(run, rng.standard_normal((3, 4)).astype(np.float32))


def test_deepcopy_keeps_a_tensor_and_its_storage_object_together(rng):
    def run(m, a):
        t, s = copy.deepcopy([a, a.untyped_storage()])
        s[0] = 0
        s[3] = 0  # the first element's bytes zeroed through the copied storage
        return _snap(t), _snap(a)
    _same(run, rng.standard_normal(4).astype(np.float32))


def test_deepcopy_of_subclasses(rng):
    def run(m, a):
        class WithNewEmpty(m.Tensor):
            __slots__ = "note"

            def new_empty(self, *args, **kwargs):
                return super().new_empty(*args, **kwargs).as_subclass(WithNewEmpty)

        class Plain(m.Tensor):
            pass
        x = a.clone().as_subclass(WithNewEmpty)
        x.tags = ["a"]
        x.note = {"k": 1}
        v = x[1:]
        cx, cv = copy.deepcopy([x, v])
        rec = [type(cx).__name__, type(cv).__name__, cx.tags, cx.tags is x.tags, cv.storage_offset(),
               cx.note, cx.note is x.note, hasattr(cv, "note")]
        cx[1] = 5.0
        rec.append(float(cv[0]))
        rec.append(_error(lambda: copy.deepcopy(a.clone().as_subclass(Plain))))
        return rec
    _same(run, rng.standard_normal(4).astype(np.float32))


def test_save_load_keeps_sharing_and_pickle_does_not(rng):
    def run(m, base):
        buf = io.BytesIO()
        m.save({"a": base, "b": base[1:], "c": base.t(), "d": base[:, 1]}, buf)
        buf.seek(0)
        loaded = m.load(buf)
        loaded["a"][2, 1] = -1.0
        rec = [{k: _snap(v) for k, v in loaded.items()}, _ptrs(list(loaded.values()))[1]]
        p = pickle.loads(pickle.dumps({"a": base, "b": base[1:]}))  # torch's pickle: each tensor by itself
        p["a"][2, 1] = -2.0
        rec.append((to_np(p["b"]).tolist(), p["a"].untyped_storage().data_ptr() == p["b"].untyped_storage().data_ptr()))
        return rec
    _same(run, rng.standard_normal((3, 4)).astype(np.float32))


# ---------------------------------------------------------------- complex32 views
def test_complex32_view_of_half_pairs_is_a_view(rng):
    def run(m, h):
        c = h.view(m.complex32)
        back = c.view(m.float16)
        r = m.view_as_real(c)
        rec = [_snap(c), _snap(back), _snap(r), _snap(c.real), _snap(c.imag), c._base is None]
        c[0, 0] = 5 + 6j
        rec.append(_snap(h))
        h[1, 2] = 9.0
        rec.append(_snap(c))
        back[0, 5] = -3.0
        r[1, 0, 1] = 7.0
        c.real[0, 1] = 11.0
        c.imag[1, 2] = 12.0
        c[:, 1:].mul_(2)
        rec += [_snap(h), _snap(c), _snap(back)]
        rec.append(_ptrs([h, c, back, r, c[1:], c.imag]))
        rec.append([t._version for t in (h, c, back, r)])
        return rec
    _same(run, rng.standard_normal((2, 6)).astype(np.float16))


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint8", "float32", "int64"])
def test_complex32_views_of_other_dtypes(rng, dtype):
    # (float32 built from float16 pairs: a complex32 storage holds complex64 values here, so a signalling-NaN
    # half, which random float32 bits could hold, would read back quieted; see _byte_views.py)
    n = 16 // np.dtype(dtype).itemsize
    src = rng.integers(0, 100, (2, n)).astype(dtype) if dtype != "float32" else \
        rng.standard_normal((2, 2 * n)).astype(np.float16).view(np.float32)

    def run(m, x):
        c = x.view(m.complex32)
        rec = [_snap(c)]
        c[1, 0] = 1.5 - 2j
        c[0].zero_()
        rec += [_snap(x), _snap(c), _ptrs([x, c, c[1]]), [x._version, c._version]]
        x[1, -1] = 3
        rec.append(_snap(c))
        rec.append(_snap(c.view(getattr(m, dtype))))  # back to the source's dtype
        return rec
    _same(run, src)


def test_complex32_view_of_a_strided_view_and_of_a_view_of_it(rng):
    def run(m, h):
        hs = h[:, 2:6]
        cs = hs.view(m.complex32)
        rec = [_snap(cs)]
        cs[2, 1] = 3j
        cv = h.view(m.complex32)[:, 1:]
        f = cv.view(m.float16)
        f[0, 0] = 42.0
        rec += [_snap(h), _snap(f), _snap(cv)]
        return rec
    _same(run, rng.standard_normal((4, 8)).astype(np.float16))


def test_complex32_storage_viewed_as_other_dtypes(rng):
    z = (rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4))).astype(np.complex64)

    def run(m, z):
        c = z.to(m.complex32)
        u8, i32, f32 = c.view(m.uint8), c.view(m.int32), c.view(m.float32)
        rec = [_snap(u8), _snap(i32), _snap(f32)]
        i32[0, 1] = 0x3C00BC00  # (1 - 1j as float16 halves, little-endian)
        u8[1, :2] = 0
        rec += [_snap(c), _snap(f32), [c._version, u8._version], _ptrs([c, u8, i32, f32])]
        return rec
    _same(run, z)


def test_view_as_complex_of_half_is_a_view_and_differentiable(rng):
    def run(m, h):
        v = m.view_as_complex(h)
        rec = [_snap(v)]
        v.add_(1j)
        v[0] = 1 - 1j
        rec += [_snap(h), _ptrs([h, v])]
        x = h.clone().requires_grad_()
        m.view_as_real(m.view_as_complex(x)).float().mul(3).sum().backward()
        rec.append(_snap(x.grad))
        return rec
    _same(run, rng.standard_normal((3, 2)).astype(np.float16))


def test_complex32_views_through_deepcopy_and_save(rng):
    def run(m, h):
        c = h.view(m.complex32)
        ch, cc = copy.deepcopy([h, c])
        ch[0, 0] = 100.0
        rec = [_snap(cc), _error(lambda: m.save([h, c], io.BytesIO()))]
        buf = io.BytesIO()
        m.save([c, c[1:], c.t()], buf)
        buf.seek(0)
        a, b, t = m.load(buf)
        a[1, 1] = 55.0
        rec += [_snap(b), _snap(t)]
        return rec
    _same(run, rng.standard_normal((2, 4)).astype(np.float16))


def test_complex32_view_errors(rng):
    def run(m, h):
        c = m.zeros(2, 3, dtype=m.complex32)
        return [_error(lambda: c.view(m.int64)), _error(lambda: h[:, 1:].view(m.complex32)),
                _error(lambda: h.view(m.complex32)[:, :2].view(m.int64))]
    rec = _same(run, rng.standard_normal((2, 6)).astype(np.float16))
    assert all(r is not None for r in rec)


# ---------------------------------------------------------------- bool byte views
def test_bool_view_keeps_its_bytes_for_later_dtype_views(rng):
    # torch leaves the meaning of a bool holding a byte other than 0/1 to its kernels; what is defined is that
    # the storage keeps the bytes: reinterpreting them again gives them back, and writes change only their own
    src = rng.integers(0, 256, (2, 4)).astype(np.uint8)
    src[0, 0], src[1, 2] = 2, 0

    def run(m, u):
        b = u.view(m.bool)
        rec = [_snap(b.view(m.uint8)), _snap(b[:, 1:3].view(m.int8)), _snap(b.view(m.int16)),
               _snap(b.t().view(m.uint8)), _snap(b[1].view(m.int32)), _snap(b.view(m.bool).view(m.uint8))]
        b[1, 2] = True
        w = b.view(m.int16)
        w[0, 1] = 0x0505
        b[1].view(m.int32).fill_(0x01020304)
        rec.append(_snap(u))
        return rec
    _same(run, src)


def test_bool_view_of_wider_ints_round_trips(rng):
    def run(m, i):
        return _snap(i.view(m.bool).view(m.int16)), _snap(i.view(m.bool)[2:].view(m.int16))
    _same(run, rng.integers(-30000, 30000, 6).astype(np.int16))


# ---------------------------------------------------------------- other aliasing
def test_base_chains_and_pointers(rng):
    def run(m, flat):
        a = flat.reshape(3, 4)
        v = a[1:]
        vv = v[:, 1:]
        vvv = vv.t()
        u = a.unfold(1, 2, 1)
        rec = [[t._base is flat for t in (a, v, vv, vvv, u)], flat._base is None,
               _ptrs([flat, a, v, vv, vvv, u, u[1:, 1:].diagonal(0, 1, 2), a.diagonal(1), a.diagonal(-1)])]
        return rec
    _same(run, rng.standard_normal(12).astype(np.float32))


def test_storage_offsets_of_view_chains(rng):
    def run(m, flat):
        a = flat.reshape(3, 4)
        u = a.unfold(1, 2, 1)
        s = a.as_strided((2, 2), (1, 4), 3)
        chain = [u, u[1:], u[1:, 1:].diagonal(0, 1, 2), a.diagonal(1), a.diagonal(-1), a.t().diagonal(),
                 s, s.as_strided((2,), (2,), 5), s.as_strided((2,), (2,)), a[1:].as_strided((2, 2), (4, 1)),
                 a[:, 1:].unfold(0, 2, 1).diagonal(offset=1, dim1=0, dim2=2)]
        rec = [(t.storage_offset(), tuple(t.stride()), tuple(t.shape)) for t in chain]
        chain[-2][0, 0] = -7.0
        chain[2][0] = 50.0
        rec.append(_snap(flat))
        return rec
    _same(run, rng.standard_normal(12).astype(np.float32))


def test_is_set_to(rng):
    def run(m, a):
        a = a.reshape(3, 4)
        return [a[1:].is_set_to(a), a.is_set_to(a), a[:].is_set_to(a), a.view(3, 4).is_set_to(a),
                a.t().t().is_set_to(a), a.t().is_set_to(a), a.clone().is_set_to(a), a.detach().is_set_to(a),
                a.view(m.int32).view(m.float32).is_set_to(a)]
    _same(run, rng.standard_normal(12).astype(np.float32))


def test_set_to_storages_and_tensors(rng):
    def run(m, y):
        x = m.zeros(3)
        x.set_(y.untyped_storage(), 2, (2, 2), (2, 1))
        rec = [_snap(x), _ptrs([y, x])]
        y[3] = 99.0
        rec.append(_snap(x))
        x[0, 0] = -1.0
        rec.append(_snap(y))
        z = m.zeros(2)
        z.set_(y)
        rec += [z.is_set_to(y), z._base is None, _snap(z)]
        z.set_(y[2:])
        rec += [z.is_set_to(y[2:]), _snap(z)]
        z.set_()
        rec += [tuple(z.shape), _error(lambda: m.zeros(2).set_(m.arange(3))),
                _error(lambda: m.zeros(2, dtype=m.float16).set_(m.zeros(3, dtype=m.complex64))),
                _error(lambda: m.zeros(2, dtype=m.int8).set_(m.zeros(3, dtype=m.bool)))]
        return rec
    _same(run, rng.standard_normal(6).astype(np.float32))


def test_resize_of_views(rng):
    def run(m, a):
        rec = [_error(lambda: m.zeros(4, requires_grad=True)[1:].resize_(2)),
               _error(lambda: (m.zeros(4, requires_grad=True) * 1)[1:].resize_(2))]
        x = a.clone()
        v = x[2:]
        v.resize_(2)
        v[0] = 50.0
        rec += [_snap(x), _snap(v), v._base is x]
        t = a.clone().reshape(2, 3).t()
        rec.append(_snap(t.resize_(3, 2)))  # the same sizes: strides kept
        rec.append(_snap(a.clone().reshape(2, 3)[:, 1:].resize_(2, 2)))
        rec.append(_snap(a.clone().reshape(2, 3).t().resize_(2, 2)))
        return rec
    _same(run, rng.standard_normal(6).astype(np.float32))


def test_version_counters_are_shared_across_dtype_views(rng):
    def run(m, f):
        iv = f.view(m.int32)
        bv = f[1:].view(m.uint8)
        rec = []
        iv.add_(1)
        rec.append([f._version, iv._version, bv._version])
        bv.zero_()
        rec.append([f._version, iv._version, bv._version, f.real._version])
        f[0] = 2.0
        rec.append([f._version, iv._version, bv._version])
        rec.append(_snap(f))
        return rec
    _same(run, rng.standard_normal(4).astype(np.float32))
