"""Storages (UntypedStorage, TypedStorage, FloatStorage & co) and Tensor.set_/is_set_to/storage against torch:
values, sharing with tensors, and exception types."""
import pickle

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

pytestmark = pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")


def pair(rng, shape=(6,), dtype=np.float32):
    a = rng.standard_normal(shape).astype(dtype)
    return torch.from_numpy(a.copy()), jtorch.tensor(a.copy())


def outcome(f):
    try:
        r = f()
        return "ok", r
    except Exception as e:  # noqa: BLE001 - the type is compared
        return "raise", type(e).__name__


def test_untyped_storage_bytes_and_identity(rng):
    t, j = pair(rng)
    assert j.untyped_storage() is j.untyped_storage()
    assert j[2:].untyped_storage() is j.untyped_storage()
    for m, x in ((torch, t), (jtorch, j)):
        s = x.untyped_storage()
        assert (s.nbytes(), s.size(), len(s), s.element_size()) == (24, 24, 24, 1)
    assert j.untyped_storage().tolist() == t.untyped_storage().tolist()
    assert str(j.untyped_storage().device) == "cpu" and not j.untyped_storage().is_cuda
    assert j.untyped_storage()[5] == t.untyped_storage()[5] and j.untyped_storage()[-1] == t.untyped_storage()[-1]
    assert outcome(lambda: j.untyped_storage()[100]) == outcome(lambda: t.untyped_storage()[100])


def test_untyped_storage_writes_reach_tensor(rng):
    t, j = pair(rng)
    for x in (t, j):
        s = x.untyped_storage()
        s[0] = 7
        s[4:8].fill_(0)  # a slice shares the bytes
        s[9] = 200
    assert_close(j, t)


def test_typed_storage_values_and_writes(rng):
    t, j = pair(rng)
    js, ts = j.storage(), t.storage()
    assert js.tolist() == ts.tolist() and js.size() == ts.size() == 6
    assert js.dtype == jtorch.float32 and js.nbytes() == 24 and js.element_size() == 4
    assert j[1:].storage().size() == 6  # the whole storage, not the view
    assert js.untyped() is j.untyped_storage() and js._untyped_storage is j.untyped_storage()
    ts[2], js[2] = 10.5, 10.5
    assert_close(j, t)
    assert js[-1] == ts[-1]
    for bad in (lambda s: s[100], lambda s: s.__setitem__(100, 1.0), lambda s: s[1:3]):
        assert outcome(lambda: bad(js)) == outcome(lambda: bad(ts))


def test_storage_of_view_dtype_reinterprets_bytes(rng):
    t, j = pair(rng)
    tw = torch.TypedStorage(wrap_storage=t.untyped_storage(), dtype=torch.int32).tolist()
    jw = jtorch.TypedStorage(wrap_storage=j.untyped_storage(), dtype=jtorch.int32).tolist()
    assert jw == tw


@pytest.mark.parametrize("name,data", [("FloatStorage", [1.5, -2]), ("DoubleStorage", [0.1, 3]),
                                       ("LongStorage", [5, -7]), ("IntStorage", [1.7, -2.2]),
                                       ("BoolStorage", [True, False]), ("ByteStorage", [3, 250]),
                                       ("ComplexFloatStorage", [1 + 2j]), ("HalfStorage", [0.5, 2])])
def test_legacy_storage_classes(name, data):
    ts, js = getattr(torch, name)(data), getattr(jtorch, name)(data)
    assert js.tolist() == ts.tolist() and str(js.dtype) == str(ts.dtype)
    assert js.untyped().tolist() == ts.untyped().tolist()
    assert isinstance(js, getattr(jtorch, name)) and isinstance(js, jtorch.TypedStorage)
    assert js.type() == ts.type() and js._pickle_storage_type() == ts._pickle_storage_type()
    assert len(getattr(jtorch, name)(3)) == 3
    assert pickle.loads(pickle.dumps(js)).tolist() == ts.tolist()
    assert js.clone().tolist() == ts.tolist() and list(js) == list(ts)


def test_storage_constructors_and_errors():
    assert jtorch.UntypedStorage([1, 2, 3]).tolist() == torch.UntypedStorage([1, 2, 3]).tolist()
    assert jtorch.UntypedStorage(b"ab").tolist() == torch.UntypedStorage(b"ab").tolist()
    assert jtorch.UntypedStorage(4).nbytes() == 4 and jtorch.TypedStorage().size() == 0
    assert jtorch.TypedStorage([1.0, 2.0], dtype=jtorch.float64).tolist() == [1.0, 2.0]
    assert jtorch.FloatStorage.from_buffer(b"\x00\x00\x80?", "little").tolist() == [1.0]
    assert jtorch.UntypedStorage(3).fill_(7).tolist() == torch.UntypedStorage(3).fill_(7).tolist()
    assert jtorch.UntypedStorage(3).copy_(jtorch.UntypedStorage([1, 2, 3])).tolist() == [1, 2, 3]
    for f in (lambda m: m.FloatStorage(2, 3), lambda m: m.FloatStorage(2, dtype=m.float64),
              lambda m: m.UntypedStorage(3).copy_(m.UntypedStorage(2))):
        assert outcome(lambda: f(jtorch)) == outcome(lambda: f(torch))
    assert jtorch.Storage is jtorch.FloatStorage and issubclass(jtorch.UntypedStorage, jtorch.StorageBase)
    assert str(jtorch.FloatStorage([1, 2])) == str(torch.FloatStorage([1, 2]))
    assert str(jtorch.UntypedStorage([1, 2])) == str(torch.UntypedStorage([1, 2]))


def test_storage_type_and_float_conversions(rng):
    t, j = pair(rng)
    assert j.storage_type().__name__ == t.storage_type().__name__ == "FloatStorage"
    assert jtorch.arange(3).storage_type() is jtorch.LongStorage
    assert j.storage().type() == t.storage().type() == "torch.FloatStorage"
    d = j.storage().type("torch.DoubleStorage")
    assert d.dtype == jtorch.float64 and d.tolist() == pytest.approx(t.storage().double().tolist())


def test_set_to_tensor_shares_storage(rng):
    t, j = pair(rng)
    ta, ja = torch.zeros(0), jtorch.zeros(0)
    ta.set_(t)
    ja.set_(j)
    assert ja.is_set_to(j) and j.is_set_to(ja)
    ta.add_(1)
    ja.add_(1)
    assert_close(j, t)
    assert_close(ja, ta)


def test_set_with_geometry(rng):
    t, j = pair(rng)
    ta, ja = torch.zeros(0), jtorch.zeros(0)
    ta.set_(t, 1, (2, 2), (1, 2))
    ja.set_(j, 1, (2, 2), (1, 2))
    assert_close(ja, ta)
    assert ja.storage_offset() == 1 and ja.stride() == (1, 2) and not ja.is_set_to(j)
    ta.mul_(3)
    ja.mul_(3)
    assert_close(j, t)


def test_set_storage_forms(rng):
    t, j = pair(rng)
    for off in (0, 1):
        ta, ja = torch.zeros(0), jtorch.zeros(0)
        ta.set_(t.untyped_storage(), off, (3,), (2,))
        ja.set_(j.untyped_storage(), off, (3,), (2,))
        assert_close(ja, ta)
    ta, ja = torch.zeros(0), jtorch.zeros(0)
    ta.set_(t.storage())
    ja.set_(j.storage())
    assert_close(ja, ta)
    ja.zero_()
    assert float(j.abs().sum()) == 0
    # a new storage: the tensor holds its elements
    s = jtorch.FloatStorage([1, 2, 3])
    x = jtorch.zeros(0).set_(s)
    x.add_(1)
    assert s.tolist() == [2.0, 3.0, 4.0]
    assert tuple(jtorch.zeros(3).set_(jtorch.UntypedStorage(8)).shape) == tuple(torch.zeros(3).set_(
        torch.UntypedStorage(8)).shape) == (2,)
    assert jtorch.zeros(0).new(jtorch.FloatStorage([1, 2])).tolist() == [1.0, 2.0]


def test_set_empty_grow_and_errors(rng):
    t, j = pair(rng)
    ta, ja = torch.zeros(3), jtorch.zeros(3)
    ta.set_()
    ja.set_()
    assert tuple(ja.shape) == tuple(ta.shape) == (0,)
    ta, ja = torch.zeros(0), jtorch.zeros(0)
    t = t.clone()  # torch grows only storages it owns (not from_numpy's)
    ta.set_(t, 0, (10,))
    ja.set_(j, 0, (10,))
    # past the end: zeros here (torch's new bytes are uninitialised)
    assert_close(ja[:6], ta[:6])
    assert tuple(ja.shape) == (10,) and float(ja[6:].abs().sum()) == 0
    for f in (lambda m, x: m.zeros(0, dtype=m.long).set_(x.storage()),
              lambda m, x: m.zeros(2, requires_grad=True).set_(x),
              lambda m, x: m.zeros(0).set_(x, 0, (2, 2), (1,))):
        assert outcome(lambda: f(jtorch, j)) == outcome(lambda: f(torch, t))


def test_is_storage():
    for m in (torch, jtorch):
        assert m.is_storage(m.FloatStorage(2)) and m.is_storage(m.UntypedStorage(2))
        assert not m.is_storage(m.zeros(1))


@pytest.mark.parametrize("make", [lambda m, s: m.tensor(s), lambda m, s: m.FloatTensor(s), lambda m, s: m.Tensor(s)])
def test_tensor_from_storage_shares(make):
    for m in (torch, jtorch):
        s = m.FloatStorage([1, 2, 3])
        x = make(m, s)
        x.add_(1)
        assert s.tolist() == [2.0, 3.0, 4.0] and x.tolist() == [2.0, 3.0, 4.0]
    for f in (lambda m: m.tensor(m.DoubleStorage([1, 2])), lambda m: m.FloatTensor(m.UntypedStorage([0, 0, 128, 63]))):
        j, t = outcome(lambda: f(jtorch)), outcome(lambda: f(torch))
        assert j[0] == t[0] and (j[0] == "raise" and j == t or j[1].tolist() == t[1].tolist())


def test_data_ptr_offsets_and_distinct_storages_as_torch():
    import torch as T
    got = {}
    for m in (T, torch):
        m.manual_seed(0)
        x, y = m.randn(4, 6), m.randn(10)
        z = m.randn(3, dtype=m.complex64)
        base = x.data_ptr()
        got[m] = [x[1:].data_ptr() - base, x[:, 2].data_ptr() - base, x.t().data_ptr() - base,
                  x.view(-1)[5:].data_ptr() - base, z.imag.data_ptr() - z.data_ptr(),
                  x[2:].untyped_storage().data_ptr() - base, x.detach()[3].data_ptr() - base,
                  y.data_ptr() == base, x.clone().data_ptr() == base,
                  # another live storage never starts inside this one's bytes
                  not 0 <= y.data_ptr() - base < x.numel() * x.element_size()]
    assert got[torch] == got[T]
