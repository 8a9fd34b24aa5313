"""Review of the byte views, deepcopy and resize_ (torch as the oracle, same seeded inputs): chains of
``view(dtype)`` that widen then narrow the element (XLA once folded the two bitcasts into one of a wrong
shape), ``view(dtype)`` of the float16 parts of a complex32 tensor (``real``, ``imag``, ``view_as_real``) and
writes through them, ``resize_``'s version counter and ``memory_format``, and meta tensors' offsets, pointers
and deep copies."""
import copy
import warnings

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")
LIBS = (torch, jtorch)


def _bytes(T, t):
    """The bytes ``t`` holds, in its logical order."""
    t = t.contiguous()
    if t.dtype == T.bool:
        t = t.to(T.uint8)
    return np.asarray(t.view(T.uint8).tolist(), dtype=np.uint8).tobytes()


def _geometry(t):
    return tuple(t.shape), tuple(t.stride()), t.storage_offset(), str(t.dtype).split(".")[-1]


def _finite(T, rng, dtype, n):
    """``n`` elements of ``dtype`` from normal samples (no NaN bit patterns, which complex32 would quiet)."""
    if dtype in ("complex64", "complex128"):
        parts = T.tensor(rng.standard_normal((n, 2)).astype(np.float32))
        return T.view_as_complex(parts).to(getattr(T, dtype))
    if dtype.startswith(("float", "bfloat")):
        return T.tensor(rng.standard_normal(n).astype(np.float32)).to(getattr(T, dtype))
    return T.tensor(rng.integers(-100, 100, n)).to(getattr(T, dtype))


# (source dtype, the dtype viewed through, the dtype read back): element sizes that widen then narrow, or
# narrow then widen, so two size-changing reinterpretations run in one program
CHAINS = [("int16", "int32", "uint8"), ("float16", "float64", "uint8"), ("bfloat16", "complex64", "int16"),
          ("float64", "complex64", "uint8"), ("int64", "complex64", "float16"), ("float32", "uint8", "float64"),
          ("uint8", "int16", "int64")]


@pytest.mark.parametrize("src,mid,out", CHAINS, ids=["-".join(c) for c in CHAINS])
def test_view_dtype_chains_read_and_write_the_bytes(src, mid, out, rng):
    seed = int(rng.integers(1 << 30))
    res = {}
    for T in LIBS:
        r = np.random.default_rng(seed)
        x = _finite(T, r, src, 32).reshape(2, -1).clone()
        v = x.view(getattr(T, mid)).view(getattr(T, out))
        got = [_geometry(v), _bytes(T, v)]
        w = x.view(getattr(T, mid))
        w[1] = _finite(T, r, mid, w.shape[1])  # a write through the middle view reaches both ends
        got += [_bytes(T, x), _bytes(T, v), x._version, v._version]
        res[T] = got
    assert res[jtorch] == res[torch]


PART_VIEWS = {
    "real.view(bfloat16)": lambda T, c: c.real.view(T.bfloat16),
    "imag.view(int16)": lambda T, c: c.imag.view(T.int16),
    "imag[:, 2:].view(int16)": lambda T, c: c.imag[:, 2:].view(T.int16),
    "view_as_real.view(uint8)": lambda T, c: T.view_as_real(c).view(T.uint8),
    "view_as_real.view(int32)": lambda T, c: T.view_as_real(c).view(T.int32),
    "view_as_real.view(complex32)": lambda T, c: T.view_as_real(c).view(T.complex32),
    "view_as_real[1:].view(float16)": lambda T, c: T.view_as_real(c)[1:].view(T.float16),
}


@pytest.mark.parametrize("name", list(PART_VIEWS))
def test_view_dtype_of_complex32_parts_reads_and_writes_its_bytes(name, rng):
    data = rng.standard_normal((3, 16)).astype(np.float32)
    res = {}
    for T in LIBS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (torch: ComplexHalf support is experimental)
            c = T.tensor(data).view(T.complex64).to(T.complex32)
        v = PART_VIEWS[name](T, c)
        got = [_geometry(v), _bytes(T, v)]
        with T.no_grad():
            if v.dtype.is_complex:
                v.mul_(2)
            else:
                v[..., :1] = 3
        got += [_bytes(T, c), _bytes(T, v), c._version, v._version,
                v.untyped_storage().data_ptr() == c.untyped_storage().data_ptr()]
        res[T] = got
    assert res[jtorch] == res[torch]


# ---------------------------------------------------------------- resize_
def _resized(T, data, how):
    x = T.tensor(data)
    try:
        v = how(T, x)
    except Exception as e:  # noqa: BLE001 (the error is what is compared)
        return type(e).__name__
    n = v.numel()
    values = np.asarray(v.tolist()).round(6).tolist() if n <= data.size else None
    four = v.dim() == 4
    return (_geometry(v), x._version, v._version, v.is_contiguous(),
            four and v.is_contiguous(memory_format=T.channels_last), values)


RESIZES = {
    "same sizes": lambda T, x: x.resize_(3, 4),
    "same sizes transposed": lambda T, x: x.t().resize_(4, 3),
    "same sizes transposed, contiguous_format": lambda T, x: x.t().resize_(4, 3, memory_format=T.contiguous_format),
    "smaller": lambda T, x: x.resize_(2, 3),
    "flat": lambda T, x: x.resize_(12),
    "bigger": lambda T, x: x.resize_(4, 4),
    "empty": lambda T, x: x.resize_(0),
    "a slice, smaller": lambda T, x: x[1:].resize_(3),
    "same sizes, channels_last": lambda T, x: x.reshape(1, 3, 2, 2).resize_(1, 3, 2, 2, memory_format=T.channels_last),
    "new sizes, channels_last": lambda T, x: x.resize_(1, 2, 2, 3, memory_format=T.channels_last),
    "new sizes, channels_last_3d": lambda T, x: x.resize_(1, 1, 3, 2, 2, memory_format=T.channels_last_3d),
    "channels_last of rank 2": lambda T, x: x.resize_(2, 6, memory_format=T.channels_last),
    "preserve_format": lambda T, x: x.resize_(2, 6, memory_format=T.preserve_format),
    "resize_as_": lambda T, x: x.resize_as_(T.zeros(2, 2)),
    "resize_as_ of a channels_last template": lambda T, x: x.resize_as_(
        T.zeros(1, 3, 2, 2).contiguous(memory_format=T.channels_last)),
    "resize_as_, preserve_format": lambda T, x: x.resize_as_(
        T.zeros(1, 3, 2, 2).contiguous(memory_format=T.channels_last), memory_format=T.preserve_format),
    "resize_as_, channels_last": lambda T, x: x.resize_as_(T.zeros(1, 2, 3, 2), memory_format=T.channels_last),
    "requires grad": lambda T, x: x.requires_grad_().resize_(2),
}


@pytest.mark.parametrize("name", list(RESIZES))
def test_resize_versions_strides_and_values(name, rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    assert _resized(jtorch, data, RESIZES[name]) == _resized(torch, data, RESIZES[name])


# ---------------------------------------------------------------- meta tensors
def test_meta_offsets_pointers_and_deepcopy():
    def facts(T):
        m = T.empty(4, 6, device="meta")
        views = [m, m[1:], m[:, 2:].t()]
        out = [(v.storage_offset(), v.data_ptr(), v.untyped_storage().data_ptr()) for v in views]
        c = copy.deepcopy(views)
        out += [(_geometry(v), v.storage_offset(), v.is_meta, v._base is None) for v in c]
        return out
    assert facts(jtorch) == facts(torch)
