"""jtorch.save / jtorch.load against real torch.save / torch.load: both directions, bit for bit."""
import collections
import io
import os
import pathlib
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import jtorch
from jtorch import serialization

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "complex64", "complex128", "uint16", "uint32", "uint64"]


def _np_values(rng, dtype, shape):
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("complex"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -1000), min(info.max, 60000), shape).astype(dtype)
    if dtype == "bfloat16":
        return rng.standard_normal(shape).astype(np.float32)
    return rng.standard_normal(shape).astype(dtype)


def _pair(rng, dtype, shape):
    """The same values as (torch tensor, jtorch tensor)."""
    a = np.asarray(_np_values(rng, dtype, shape))
    if dtype == "bfloat16":
        return torch.from_numpy(a.copy()).bfloat16(), jtorch.tensor(a.copy()).bfloat16()
    if dtype in ("uint16", "uint32", "uint64"):
        return torch.from_numpy(a.astype(np.int64)).to(getattr(torch, dtype)), jtorch.tensor(a)
    return torch.from_numpy(a.copy()), jtorch.tensor(a.copy())


def _bits(t):
    """The raw bytes of a torch or jtorch tensor's values."""
    if isinstance(t, torch.Tensor):
        t = t.detach().contiguous()
        if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
            return t.to(torch.int64).numpy().astype(str(t.dtype).split(".")[-1]).tobytes()
        if t.numel() == 0:
            return b""
        return t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool else t.numpy().tobytes()
    return np.ascontiguousarray(np.asarray(t.detach())).tobytes()


def _same(j, t):
    assert isinstance(j, jtorch.Tensor), type(j)
    assert tuple(j.shape) == tuple(t.shape)
    assert str(j.dtype) == str(t.dtype)
    assert _bits(j) == _bits(t)


def _roundtrip_to_torch(obj):
    buf = io.BytesIO()
    jtorch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _roundtrip_to_jtorch(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    buf.seek(0)
    return jtorch.load(buf)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_both_ways(rng, dtype):
    shapes = [(3, 4), (), (0,), (2, 0, 3)]
    pairs = [_pair(rng, dtype, s) for s in shapes]
    got_t = _roundtrip_to_torch([j for _, j in pairs])
    for (t, _), g in zip(pairs, got_t):
        assert isinstance(g, torch.Tensor) and g.dtype == t.dtype and g.shape == t.shape
        assert _bits(g) == _bits(t)
    got_j = _roundtrip_to_jtorch([t for t, _ in pairs])
    for (t, _), g in zip(pairs, got_j):
        _same(g, t)


def test_views_share_one_storage_in_torch(rng):
    base_np = rng.standard_normal((4, 6)).astype(np.float32)
    tb, jb = torch.from_numpy(base_np.copy()), jtorch.tensor(base_np)
    views = {
        "base": lambda x: x, "t": lambda x: x.t(), "row": lambda x: x[2], "cols": lambda x: x[:, 1:5:2],
        "narrow": lambda x: x[:, 2:5], "diag": lambda x: x.diagonal(), "expand": lambda x: x[1:2].expand(3, 6),
        "unsq": lambda x: x[1].unsqueeze(0), "view": lambda x: x.view(2, 12),
    }
    got = _roundtrip_to_torch({k: f(jb) for k, f in views.items()})
    ptr = got["base"].untyped_storage().data_ptr()
    for k, f in views.items():
        want = f(tb)
        assert got[k].untyped_storage().data_ptr() == ptr, k
        assert got[k].storage_offset() == want.storage_offset(), k
        assert got[k].stride() == want.stride(), k
        assert torch.equal(got[k], want), k
        # jtorch reports the same layout torch does
        assert f(jb).storage_offset() == want.storage_offset(), k
    got["base"][0, 0] = 1234.0  # storage really shared on the torch side
    assert got["t"][0, 0].item() == 1234.0


def test_torch_views_load_as_shared_views(rng):
    tb = torch.from_numpy(rng.standard_normal((3, 5)).astype(np.float32))
    obj = {"tcol": tb.t()[1:], "base": tb, "row": tb[1], "strided": tb[:, ::2]}
    got = _roundtrip_to_jtorch(obj)
    for k, v in obj.items():
        _same(got[k], v)
    got["base"][1, 2] = -7.0
    assert got["row"][2].item() == -7.0
    assert got["tcol"][1, 1].item() == -7.0
    got["strided"][0, 1] = 3.5
    assert got["base"][0, 2].item() == 3.5
    # a tensor saved twice is one object after loading, as in torch
    again = _roundtrip_to_jtorch([tb, tb])
    assert again[0] is again[1]


def test_parameters_and_requires_grad(rng):
    import jtorch.nn as jnn
    a = rng.standard_normal((2, 3)).astype(np.float32)
    p = jnn.Parameter(jtorch.tensor(a))
    frozen = jnn.Parameter(jtorch.tensor(a[0]), requires_grad=False)
    leaf = jtorch.tensor(a[1]).requires_grad_()
    got = _roundtrip_to_torch({"p": p, "frozen": frozen, "leaf": leaf})
    assert isinstance(got["p"], torch.nn.Parameter) and got["p"].requires_grad
    assert isinstance(got["frozen"], torch.nn.Parameter) and not got["frozen"].requires_grad
    assert not isinstance(got["leaf"], torch.nn.Parameter) and got["leaf"].requires_grad
    np.testing.assert_array_equal(got["p"].detach().numpy(), a)
    back = _roundtrip_to_jtorch(got)
    assert isinstance(back["p"], jnn.Parameter) and back["p"].requires_grad
    assert isinstance(back["frozen"], jnn.Parameter) and not back["frozen"].requires_grad
    assert back["leaf"].requires_grad and back["leaf"].is_leaf
    np.testing.assert_array_equal(np.asarray(back["p"].detach()), a)


def test_nested_containers_and_values(rng):
    t, j = _pair(rng, "float32", (2, 2))
    def make(lib, x):
        return {"od": collections.OrderedDict([("b", x), ("a", [x, (1, 2.5, "s")])]), "size": lib.Size([3, 4]),
                "dev": lib.device("cpu"), "dtype": lib.float16, "bytes": b"\x00\xff", "set": {1, 2},
                "c": complex(1, -2), "none": None, "big": 2 ** 70, "neg": -3, "f": float("inf"),
                "tuple": (x,), "nested": [[{"k": x}]], "ba": bytearray(b"ab")}
    got_t = _roundtrip_to_torch(make(jtorch, j))
    want_t = make(torch, t)
    got_j = _roundtrip_to_jtorch(want_t)
    for got, lib in ((got_t, torch), (got_j, jtorch)):
        assert isinstance(got["od"], collections.OrderedDict) and list(got["od"]) == ["b", "a"]
        assert got["od"]["a"][1] == (1, 2.5, "s")
        assert isinstance(got["size"], lib.Size) and tuple(got["size"]) == (3, 4)
        assert got["dev"] == lib.device("cpu") and got["dtype"] is lib.float16
        for k in ("bytes", "set", "c", "none", "big", "neg", "f", "ba"):
            assert got[k] == want_t[k] and type(got[k]) is type(want_t[k]), k
        assert got["od"]["b"] is got["od"]["a"][0] is got["tuple"][0] is got["nested"][0][0]["k"]
    _same(got_j["od"]["b"], t)


def _jtorch_model_and_optimizer():
    import jtorch.nn as jnn
    import jtorch.optim as joptim
    jtorch.manual_seed(0)
    m = jnn.Sequential(jnn.Linear(3, 4), jnn.ReLU(), jnn.Linear(4, 2), jnn.BatchNorm1d(2))
    opt = joptim.Adam(m.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        m(jtorch.randn(5, 3)).pow(2).sum().backward()
        opt.step()
    return m, opt


def test_module_and_optimizer_state_dicts_both_ways():
    m, opt = _jtorch_model_and_optimizer()
    ck = {"model": m.state_dict(), "optimizer": opt.state_dict(), "epoch": 7, "loss": 0.25}
    got = _roundtrip_to_torch(ck)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2))
    tm.load_state_dict(got["model"])
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    topt.load_state_dict(got["optimizer"])
    assert got["epoch"] == 7 and got["loss"] == 0.25
    for k, v in m.state_dict().items():
        assert _bits(got["model"][k]) == _bits(v), k
    # a torch step from the same state, then back into jtorch: the same numbers
    x = torch.randn(5, 3)
    topt.zero_grad()
    tm(x).pow(2).sum().backward()
    topt.step()
    back = _roundtrip_to_jtorch({"model": tm.state_dict(), "optimizer": topt.state_dict()})
    m.load_state_dict(back["model"])
    opt.load_state_dict(back["optimizer"])
    for k, v in tm.state_dict().items():
        _same(m.state_dict()[k], v)
    st_t, st_j = topt.state_dict()["state"], opt.state_dict()["state"]
    assert sorted(st_t) == sorted(st_j)
    for i in st_t:
        for k in st_t[i]:
            _same(jtorch.as_tensor(st_j[i][k]), st_t[i][k])
    assert opt.state_dict()["param_groups"][0]["betas"] == topt.state_dict()["param_groups"][0]["betas"]


def test_paths_pathlib_and_file_objects(tmp_path, rng):
    t, j = _pair(rng, "float64", (3,))
    p = tmp_path / "ck.pt"
    jtorch.save({"x": j}, str(p))
    _same(jtorch.load(p)["x"], t)
    assert torch.equal(torch.load(str(p))["x"], t)
    jtorch.save(j, p)  # pathlib.Path, overwriting
    with open(p, "rb") as f:
        _same(jtorch.load(f), t)
    # the archive's top folder is named after the file, as torch names it
    assert zipfile.ZipFile(p).namelist()[0] == "ck/data.pkl"
    with pytest.raises(FileNotFoundError):
        jtorch.load(tmp_path / "missing.pt")


def test_archive_layout_matches_torch(rng):
    _, j = _pair(rng, "float32", (5,))
    buf = io.BytesIO()
    jtorch.save({"a": j, "b": j[1:]}, buf)
    z = zipfile.ZipFile(buf)
    names = z.namelist()
    assert names == ["archive/data.pkl", "archive/.format_version", "archive/.storage_alignment",
                     "archive/byteorder", "archive/data/0", "archive/version", "archive/.data/serialization_id"]
    assert z.read("archive/byteorder") == b"little" and z.read("archive/version") == b"3\n"
    info = z.getinfo("archive/data/0")
    raw = buf.getvalue()
    nlen, elen = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + nlen + elen
    assert start % 64 == 0  # storages aligned as torch aligns them (mmap-able)
    assert raw[start:start + 20] == np.asarray(j).tobytes()
    assert info.compress_type == zipfile.ZIP_STORED


def test_map_location_forms(rng):
    t, _ = _pair(rng, "float32", (2, 3))
    buf = io.BytesIO()
    torch.save({"x": t}, buf)
    data = buf.getvalue()
    seen = []

    def fn(storage, loc):
        seen.append(loc)
        return storage
    for ml in ("cpu", jtorch.device("cpu"), {"cpu": "cpu"}, fn, lambda s, loc: None, lambda s, loc: s.cpu()):
        got = jtorch.load(io.BytesIO(data), map_location=ml)["x"]
        _same(got, t)
        assert got.device == jtorch.device("cpu")
    assert seen == ["cpu"]
    # a checkpoint from a GPU without a GPU here: torch's error, unless mapped to the CPU
    if not jtorch.cuda.is_available():
        z = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as w:
            for n in z.namelist():
                d = z.read(n)
                if n.endswith("data.pkl"):
                    d = d.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
                w.writestr(n, d)
        gpu = out.getvalue()
        with pytest.raises(RuntimeError, match="CUDA"):
            jtorch.load(io.BytesIO(gpu))
        _same(jtorch.load(io.BytesIO(gpu), map_location="cpu")["x"], t)
        _same(jtorch.load(io.BytesIO(gpu), map_location={"cuda:0": "cpu"})["x"], t)
        # the classic idiom: the storage handed to the callable is a CPU one
        _same(jtorch.load(io.BytesIO(gpu), map_location=lambda storage, loc: storage)["x"], t)


class Custom:
    def __init__(self, v):
        self.v = v


def test_weights_only_false_full_pickles(rng):
    t, j = _pair(rng, "float32", (2,))
    buf = io.BytesIO()
    jtorch.save({"obj": Custom(j), "f": len}, buf)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL test_serialization.Custom"):
        jtorch.load(io.BytesIO(buf.getvalue()))
    got = jtorch.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert isinstance(got["obj"], Custom) and got["f"] is len
    _same(got["obj"].v, t)
    with serialization.safe_globals([Custom, len]):
        assert serialization.get_safe_globals()
        assert isinstance(jtorch.load(io.BytesIO(buf.getvalue()))["obj"], Custom)
    assert Custom not in serialization.get_safe_globals()
    serialization.add_safe_globals([Custom, len])
    try:
        assert isinstance(jtorch.load(io.BytesIO(buf.getvalue()))["obj"], Custom)
    finally:
        serialization.clear_safe_globals()
    # a torch pickle naming torch classes loads them as jtorch's (full load)
    tbuf = io.BytesIO()
    torch.save({"size": torch.Size([2]), "x": t}, tbuf)
    got = jtorch.load(io.BytesIO(tbuf.getvalue()), weights_only=False)
    assert isinstance(got["size"], jtorch.Size)
    _same(got["x"], t)


def test_mmap(tmp_path, rng):
    t, _ = _pair(rng, "float32", (64, 8))
    path = tmp_path / "m.pt"
    torch.save({"x": t, "y": t[3:]}, path)
    got = jtorch.load(path, mmap=True)
    _same(got["x"], t)
    if os.path.exists("/proc/self/maps"):  # zero-copy: the tensor's memory is the mapped file
        ptr = got["x"].jax().unsafe_buffer_pointer()
        spans = [tuple(int(v, 16) for v in line.split()[0].split("-"))
                 for line in open("/proc/self/maps") if line.rstrip().endswith(str(path))]
        assert any(lo <= ptr < hi for lo, hi in spans), (hex(ptr), spans)
    _same(got["y"], t[3:])
    got["x"][0, 0] = 5.0  # copy-on-write: the file is untouched
    assert got["y"][0, 0].item() == t[3, 0].item()
    assert torch.equal(torch.load(path)["x"], t)
    with pytest.raises(ValueError):
        jtorch.load(io.BytesIO(path.read_bytes()), mmap=True)


def test_legacy_format_both_ways(rng):
    t, j = _pair(rng, "float32", (3, 4))
    ti, ji = _pair(rng, "int64", (5,))
    got = _roundtrip_to_jtorch({"x": t, "xt": t.t(), "row": t[1], "i": ti, "n": 3},
                               _use_new_zipfile_serialization=False)
    _same(got["x"], t)
    _same(got["xt"], t.t())
    _same(got["row"], t[1])
    _same(got["i"], ti)
    assert got["n"] == 3
    got["x"][1, 0] = 42.0
    assert got["row"][0].item() == 42.0
    buf = io.BytesIO()
    jtorch.save({"x": j, "xt": j.t(), "i": ji}, buf, _use_new_zipfile_serialization=False)
    assert buf.getvalue()[:2] != b"PK"
    back = torch.load(io.BytesIO(buf.getvalue()))
    assert torch.equal(back["x"], t) and torch.equal(back["xt"], t.t()) and torch.equal(back["i"], ti)
    _same(jtorch.load(io.BytesIO(buf.getvalue()))["xt"], t.t())


def test_atomic_save_keeps_previous_file(tmp_path, rng, monkeypatch):
    t, j = _pair(rng, "float32", (4,))
    path = tmp_path / "ck.pt"
    jtorch.save({"x": j}, path)
    before = path.read_bytes()

    real = serialization._writer._write_record
    calls = []

    def failing(zf, name, data, align=False):
        calls.append(name)
        if "/data/" in name:
            real(zf, name, data[: len(data) // 2], align)  # half the storage is on disk, then a crash
            raise OSError(28, "No space left on device")  # the write dies half-way
        return real(zf, name, data, align)
    monkeypatch.setattr(serialization._writer, "_write_record", failing)
    with pytest.raises(OSError):
        jtorch.save({"x": j * 2}, path)
    monkeypatch.undo()
    assert calls and path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]  # no temporary left behind
    _same(jtorch.load(path)["x"], t)


def test_plain_pickle_of_tensors(rng):
    t, j = _pair(rng, "bfloat16", (2, 3))
    j.requires_grad_()
    back = pickle.loads(pickle.dumps({"j": j}))["j"]
    assert back.requires_grad and back.dtype == jtorch.bfloat16
    assert _bits(back.detach()) == _bits(t)


# ---------------------------------------------------------------------------- safetensors
ST_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def test_safetensors_matches_reference_both_ways(tmp_path, rng):
    import safetensors.torch as ref
    from jtorch.utils import safetensors as st
    pairs = {f"{d}_{i}": _pair(rng, d, s) for d in ST_DTYPES for i, s in enumerate([(2, 3), (), (0, 4)])}
    tdict = {k: t for k, (t, _) in pairs.items()}
    jdict = {k: j for k, (_, j) in pairs.items()}
    meta = {"format": "pt", "note": "x"}
    # byte for byte the reference's file (its metadata order is a hash map's, so compare that without)
    assert st.save(jdict) == ref.save(tdict)
    data = st.save(jdict, metadata=meta)
    back = ref.load(data)
    for k, t in tdict.items():
        assert back[k].dtype == t.dtype and _bits(back[k]) == _bits(t), k
    path = tmp_path / "w.safetensors"
    ref.save_file(tdict, str(path), metadata=meta)
    got = st.load_file(path)
    assert sorted(got) == sorted(tdict)
    for k, t in tdict.items():
        _same(got[k], t)
    st.save_file(jdict, tmp_path / "j.safetensors")
    assert (tmp_path / "j.safetensors").read_bytes() == st.save(jdict)
    with st.safe_open(path, framework="pt") as f:
        assert f.metadata() == meta and f.keys() == sorted(tdict)
        _same(f.get_tensor("float32_0"), tdict["float32_0"])
    for k, t in st.load(data).items():
        _same(t, tdict[k])


def test_safetensors_errors(rng):
    import safetensors
    from jtorch.utils import safetensors as st
    x = jtorch.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    with pytest.raises(RuntimeError, match="share memory"):
        st.save({"a": x, "b": x[1]})
    with pytest.raises(ValueError, match="non contiguous"):
        st.save({"a": x.t()})
    good = st.save({"a": x})
    (n,) = struct.unpack("<Q", good[:8])
    bad = {
        "truncated_data": good[:-4],
        "extra_data": good + b"\0\0\0\0",
        "header_too_long": struct.pack("<Q", len(good)) + good[8:],
        "bad_json": good[:8] + b"[" + good[9:],
        "wrong_size": good.replace(b"[3,4]", b"[4,4]"),
        "too_short": good[:5],
    }
    for name, data in bad.items():
        with pytest.raises(st.SafetensorError):
            st.load(data)
        with pytest.raises(safetensors.SafetensorError):  # the reference refuses them too
            import safetensors.torch as ref
            ref.load(data)
