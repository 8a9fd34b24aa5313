"""Complex tensors' real, imag, view_as_real and view_as_complex are views like torch's: in-place writes
through them reach the complex tensor and its other views, version counters are shared, strides and
storage offsets count floats, gradients flow through them and through in-place writes into them; torch's
errors for the invalid cases."""
import copy

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

LIBS = (torch, jtorch)


def _complex(rng, shape, dtype=np.complex64):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _pair(arr):
    return torch.from_numpy(arr.copy()), jtorch.tensor(arr.copy())


# ---------------------------------------------------------------- writes through the views
def _writes(m, z, x, s):
    """In-place writes through complex views of ``z`` (complex) and ``x`` (float, last dim 2); snapshots."""
    out = []
    row = z[1]  # another view of z: sees every write below
    z.real.mul_(2)
    out.append(z.clone())
    z.imag[0] = 5
    out.append(z.clone())
    z.real += 1  # (``z.real = z.real.__iadd__(1)``: the setter copies the view into itself)
    out.append(z.clone())
    r = z.imag
    r -= s
    out.append(z.clone())
    z.t().real[1, :2] = -3  # a view of a transposed view
    out.append(z.clone())
    z[:, 1:].imag.t()[0].fill_(7)
    out.append(z.clone())
    m.view_as_real(z)[..., 1].add_(100)
    out.append(z.clone())
    m.view_as_real(z[1:])[0, 0, 0] = -8
    out.append(z.clone())
    m.real(z)[0, 0] = 11
    m.imag(z)[0, 0] = 12
    out.append(z.clone())
    m.view_as_complex(m.view_as_real(z)).mul_(2)
    out.append(z.clone())
    z.real = s.expand(z.shape)
    z.imag = 0.5
    out.append(z.clone())
    out.append(row.clone())
    vc = m.view_as_complex(x)
    vc[0] = 3 - 4j
    out.append(x.clone())
    vc.imag.mul_(-1)  # complex views of a float tensor, then its imaginary parts again
    out.append(x.clone())
    x[1, 0] = 9
    out.append(vc.clone())
    out.append(vc.real.clone())
    return out


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_writes_reach_the_tensor_and_its_other_views(rng, dtype):
    za = _complex(rng, (3, 4), dtype)
    xa = rng.standard_normal((3, 2)).astype(np.float32 if dtype == np.complex64 else np.float64)
    sa = rng.standard_normal(4).astype(xa.dtype)
    got = [_writes(m, z, x, s) for m, z, x, s in zip(LIBS, _pair(za), _pair(xa), _pair(sa))]
    assert_close(got[1], got[0])


def test_versions_are_shared(rng):
    zs = _pair(_complex(rng, (2, 3)))
    for z in zs:
        r, i = z.real, z.imag
        r.add_(1)
        i[0, 0] = 2
        z.mul_(3)
    for z, want in zip(zs[1:], zs[:1]):
        assert z._version == want._version == z.real._version == z.imag._version
        assert z.real._base is z and z.imag[0]._base is z
        assert z.real.is_contiguous() is want.real.is_contiguous() is False


def test_float_views_alias_the_base(rng):
    """A complex tensor's real parts stay a view after other view ops (reshape, expand, unsqueeze)."""
    za = _complex(rng, (2, 3))
    out = []
    for m, z in zip(LIBS, _pair(za)):
        r = z.real.unsqueeze(0).expand(2, 2, 3)[1].reshape(6)
        z.add_(1j)
        out.append((r.clone(), z.imag.reshape(3, 2).clone()))
    assert_close(out[1], out[0])


# ---------------------------------------------------------------- strides and offsets
_VIEWS = {
    "real": lambda m, z: z.real,
    "imag": lambda m, z: z.imag,
    "torch.imag": lambda m, z: m.imag(z),
    "imag_of_slice": lambda m, z: z[1:, ::2].imag,
    "imag_of_t": lambda m, z: z.t().imag,
    "real_of_select": lambda m, z: z.select(1, 2).real,
    "imag_then_slice": lambda m, z: z.imag[1:, 1:],
    "imag_then_view": lambda m, z: z.imag[1].view(2, 2),
    "imag_unsqueeze": lambda m, z: z.imag.unsqueeze(1),
    "view_as_real": lambda m, z: m.view_as_real(z),
    "view_as_real_of_row": lambda m, z: m.view_as_real(z[2]),
    "view_as_real_of_t": lambda m, z: m.view_as_real(z.t()),
    "round_trip": lambda m, z: m.view_as_complex(m.view_as_real(z[1:])),
    "pair_parts": lambda m, z: m.view_as_real(z)[1:, :, 1],
    "expand": lambda m, z: z[:1].expand(3, 4).imag,
    "diagonal": lambda m, z: z.diagonal(1).imag,
}


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", sorted(_VIEWS))
def test_strides_and_offsets(rng, dtype, name):
    za = _complex(rng, (3, 4), dtype)
    t, j = (_VIEWS[name](m, z) for m, z in zip(LIBS, _pair(za)))
    assert_close(j, t)
    assert j.stride() == t.stride()
    assert j.storage_offset() == t.storage_offset()
    assert j.is_contiguous() == t.is_contiguous()


_PAIRS = {  # float tensors with a last dimension of size 2 (stride 1), even strides and offsets
    "contiguous": lambda x: x.view(4, 3, 2),
    "slice": lambda x: x[1:, 2:].view(3, 2, 2),
    "rows": lambda x: x[2:].view(2, 3, 2),
    "t": lambda x: x.view(4, 3, 2).transpose(0, 1),
}


@pytest.mark.parametrize("name", sorted(_PAIRS))
def test_view_as_complex_strides_and_offsets(rng, name):
    xa = rng.standard_normal((4, 6)).astype(np.float32)
    t, j = (m.view_as_complex(_PAIRS[name](x)) for m, x in zip(LIBS, _pair(xa)))
    assert_close(j, t)
    assert j.stride() == t.stride()
    assert j.storage_offset() == t.storage_offset()


def test_as_strided_of_a_float_view_addresses_floats(rng):
    """as_strided of z.real / z.imag reads and writes torch's storage as floats; its gradient too."""
    za, ga = _complex(rng, (2, 3)), rng.standard_normal((2, 2)).astype(np.float32)
    got = []
    for m, z in zip(LIBS, _pair(za)):
        a = z.imag.as_strided((2, 2), (2, 5), 1)
        facts = (a.stride(), a.storage_offset())
        a[0, 1] = 100
        w = m.tensor(za, requires_grad=True)
        v = (w * 2).real.as_strided((2, 2), (3, 2), 1)  # imaginary parts too, outside the real view
        (v * m.tensor(ga)).sum().backward()
        got.append((facts, a.clone(), z, z[1].real.as_strided((3,), (1,)), w.grad))
    assert got[1][0] == got[0][0]
    assert_close(got[1][1:], got[0][1:])


def test_numpy_shares_memory_with_the_views(rng):
    za = _complex(rng, (2, 3))
    got = []
    for m, z in zip(LIBS, _pair(za)):
        n_imag, n_pairs = z.imag.numpy(), m.view_as_real(z[1:]).numpy()
        facts = (n_imag.strides, n_pairs.strides)
        n_imag[0, 1] = 100  # numpy-side writes show in the tensor
        z.real.add_(10)  # tensor-side writes show in the arrays
        arr = za.copy()
        f = m.from_numpy(arr)
        f.imag[1] = -1
        got.append((facts, z.clone(), m.tensor(n_pairs.copy()), m.tensor(arr)))
    assert got[1][0] == got[0][0]
    assert_close(got[1][1:], got[0][1:])


def test_save_writes_the_storage_as_floats(rng, tmp_path):
    """A saved float view of complex data keeps torch's storage (the floats), offset and strides, as torch
    reads them back; one storage saved as two dtypes raises torch's error."""
    za = _complex(rng, (3, 2))
    facts, values = [], []
    for m, z in zip(LIBS, _pair(za)):
        for k, v in enumerate([z.imag, m.view_as_real(z[1:]), m.view_as_complex(m.view_as_real(z)[1:])]):
            m.save(v, tmp_path / f"{k}.pt")
            back = torch.load(tmp_path / f"{k}.pt")
            facts.append((back.storage_offset(), back.stride(), back.untyped_storage().nbytes()))
            values.append(back)
        with pytest.raises(RuntimeError, match="view the same data as different types"):
            m.save([z, z.real], tmp_path / "w.pt")
    assert facts[3:] == facts[:3]
    for j, t in zip(values[3:], values[:3]):
        np.testing.assert_array_equal(j.numpy(), t.numpy())


def _rotate(m, x, f):
    v = m.view_as_complex(x[1:, :, 2:])  # its storage offset checked without reading values
    z = v * f
    z.imag.add_(1)
    return m.view_as_real(z).flatten(1) + z.real.sum()


def test_compiled_without_graph_break(rng):
    xa = rng.standard_normal((3, 4, 4)).astype(np.float32)
    fa = _complex(rng, (4,))
    step = jtorch.compile(lambda x, f: _rotate(jtorch, x, f), fullgraph=True)
    for k in range(2):  # (the second call runs the traced program)
        got = step(jtorch.tensor(xa + k), jtorch.tensor(fa))
    assert_close(got, _rotate(torch, torch.tensor(xa + 1), torch.tensor(fa)), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- real tensors and errors
def test_real_of_a_real_tensor_is_itself(rng):
    x = jtorch.tensor(rng.standard_normal(3).astype(np.float32))
    assert x.real is x and jtorch.real(x) is x
    xt = torch.from_numpy(rng.standard_normal(3))
    assert xt.real is xt  # (the behaviour checked above is torch's)
    n = jtorch.tensor([1, 2])
    assert n.real is n


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (its type and message are what is compared)
        return type(e), str(e)
    return None


_ERRORS = {
    "imag_of_float": lambda m: m.ones(2).imag,
    "torch.imag_of_float": lambda m: m.imag(m.ones(2)),
    "imag_of_int": lambda m: m.ones(2, dtype=m.int64).imag,
    "imag_setter_of_float": lambda m: setattr(m.ones(2), "imag", m.ones(2)),
    "view_as_real_of_float": lambda m: m.view_as_real(m.ones(2)),
    "view_as_complex_0d": lambda m: m.view_as_complex(m.tensor(1.0)),
    "view_as_complex_size": lambda m: m.view_as_complex(m.ones(3, 3)),
    "view_as_complex_last_stride": lambda m: m.view_as_complex(m.ones(2, 4)[:, ::2]),
    "view_as_complex_odd_stride": lambda m: m.view_as_complex(m.ones(3, 3)[:, 1:]),
    "view_as_complex_odd_offset": lambda m: m.view_as_complex(m.ones(7)[1:5].view(2, 2)),
    "view_as_complex_int": lambda m: m.view_as_complex(m.ones(3, 2, dtype=m.int64)),
    "real_of_a_number": lambda m: m.real(5),
    "imag_of_a_number": lambda m: m.imag(2.5),
    "view_as_real_of_a_list": lambda m: m.view_as_real([1j]),
    "view_as_complex_of_a_number": lambda m: m.view_as_complex(1.0),
}


@pytest.mark.parametrize("name", sorted(_ERRORS))
def test_errors(name):
    want = _error(lambda: _ERRORS[name](torch))
    assert want is not None
    assert _error(lambda: _ERRORS[name](jtorch)) == want


# ---------------------------------------------------------------- autograd
def _grads(m, wa, sa, ca):
    w = m.tensor(wa, requires_grad=True)
    s = m.tensor(sa, requires_grad=True)
    c = m.tensor(ca)
    y = w * c  # a non-leaf: in-place writes into its views are recorded
    early = y.imag  # a view made before the writes: its gradient path follows them
    y.real.mul_(s)
    y.imag[1] = s[0] * 3
    m.view_as_real(y)[2, 0].add_(s[1] ** 2)
    loss = (y * c.conj()).abs().sum() + (w.real * w.imag).sum() + m.view_as_real(w).pow(2)[:, 1].sum() + \
        (early * s).sum()
    loss.backward()
    nodes = [type(f).__name__ for f in (w.real.grad_fn, m.imag(w).grad_fn, w.imag.grad_fn.next_functions[0][0])]
    return (loss, w.grad, s.grad) + tuple(nodes)


def test_gradients_through_views_and_writes(rng):
    wa, ca = _complex(rng, 3), _complex(rng, 3)
    sa = rng.standard_normal(3).astype(np.float32)
    got = [_grads(m, wa, sa, ca) for m in LIBS]
    assert_close(got[1][:3], got[0][:3], rtol=1e-4, atol=1e-5)
    assert got[1][3:] == got[0][3:]  # grad_fn names


def test_gradients_through_view_as_complex(rng):
    xa = rng.standard_normal((3, 2)).astype(np.float64)
    ca = _complex(rng, 3, np.complex128)
    got = []
    for m in LIBS:
        x = m.tensor(xa, requires_grad=True)
        h = x * 1.5
        v = m.view_as_complex(h)
        v.imag.add_(v.real * 2)  # a write through a float view of a complex view of h
        loss = (v * m.tensor(ca)).abs().sum() + h.sum()
        loss.backward()
        got.append((loss, x.grad))
    assert_close(got[1], got[0], rtol=1e-10, atol=1e-12)


def test_in_place_on_a_view_of_a_leaf_raises():
    for m in LIBS:
        w = m.ones(2, dtype=m.complex64, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            w.real.mul_(2)


# ---------------------------------------------------------------- complex32
def test_complex32_views(rng):
    za = _complex(rng, (2, 3))
    got = []
    for m in LIBS:
        z = m.tensor(za).to(m.complex32)
        r, i = z.real, z.imag
        facts = (r.stride(), i.stride(), i.storage_offset(), m.view_as_real(z[1]).storage_offset())
        r.mul_(2)
        i[0] = 5
        got.append((facts, m.view_as_real(z).float(), r.float(), i[1].float()))
    assert got[1][0] == got[0][0]
    assert_close(got[1][1:], got[0][1:])


def test_complex32_gradients_through_writes(rng):
    za = _complex(rng, 3)
    sa = rng.standard_normal(3).astype(np.float16)
    got = []
    for m in LIBS:
        a = m.tensor(za).to(m.complex32).requires_grad_()
        s = m.tensor(sa).requires_grad_()
        y = a * a
        y.real.mul_(s)
        y.imag[0] = s[1]
        g = m.view_as_real(y)
        g.backward(m.ones_like(g))
        assert a.grad.dtype is m.complex32
        got.append((a.grad.to(m.complex64), s.grad))
    assert_close(got[1], got[0], rtol=1e-3, atol=1e-3)


def test_view_as_complex_of_half(rng):
    xa = rng.standard_normal((3, 2)).astype(np.float16)
    t, j = (m.view_as_complex(x) for m, x in zip(LIBS, _pair(xa)))
    assert j.dtype is jtorch.complex32 and t.dtype is torch.complex32
    assert_close(j.to(jtorch.complex64), t.to(torch.complex64))


# ---------------------------------------------------------------- deepcopy of a non-leaf
def test_deepcopy_of_a_non_leaf_raises(rng):
    xa = rng.standard_normal(3).astype(np.float32)
    errs = []
    for m in LIBS:
        y = m.tensor(xa, requires_grad=True) * 2
        errs.append(_error(lambda: copy.deepcopy(y)))
    assert errs[0] is not None and errs[0][0] is RuntimeError
    assert errs[1] == errs[0]


def test_deepcopy_of_leaves_and_detached_non_leaves(rng):
    xa = rng.standard_normal(3).astype(np.float32)
    for m in LIBS:
        x = m.tensor(xa, requires_grad=True)
        y = (x * 2).detach()
        cx, cy = copy.deepcopy(x), copy.deepcopy(y)
        assert cx.requires_grad and cx.is_leaf and not cy.requires_grad
        np.testing.assert_array_equal(np.asarray(cy), xa * 2)
        with m.no_grad():
            z = x * 2
        assert not copy.deepcopy(z).requires_grad
