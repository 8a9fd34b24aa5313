"""jtorch.load refuses malicious or corrupt checkpoints cleanly and executes nothing."""
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import jtorch

CLEAN = (pickle.UnpicklingError, RuntimeError)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a malicious pickle ran code"


def _zip_with(pkl, storages=(), name="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/data.pkl", pkl)
        z.writestr(f"{name}/byteorder", b"little")
        for key, data in storages:
            z.writestr(f"{name}/data/{key}", data)
        z.writestr(f"{name}/version", b"3\n")
    return buf.getvalue()


def _g(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _s(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _payloads(marker):
    cmd = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"

    class Evil:
        def __reduce__(self):
            return os.system, (cmd,)

    class EvalEvil:
        def __reduce__(self):
            return eval, (code,)

    p = {}
    p["reduce_os_system"] = pickle.dumps({"w": Evil()}, protocol=2)
    p["reduce_eval"] = pickle.dumps([EvalEvil()], protocol=4)  # STACK_GLOBAL
    p["exec_global"] = b"\x80\x02" + _g("builtins", "exec") + _s(code) + b"\x85R."
    p["posix_system"] = b"\x80\x02" + _g("posix", "system") + _s(cmd) + b"\x85R."
    p["subprocess"] = b"\x80\x02" + _g("subprocess", "check_call") + b"(" + _s("touch") + _s(str(marker)) + b"l\x85R."
    # getattr(__import__('os'), 'system')(cmd) spelled with allowed-looking steps
    p["getattr_chain"] = (b"\x80\x02" + _g("builtins", "getattr") + b"(" + _g("builtins", "__import__") + _s("os")
                          + b"\x85R" + _s("system") + b"tR" + _s(cmd) + b"\x85R.")
    # getattr through an allowed class: OrderedDict.__init__.__globals__ ...
    p["getattr_on_allowed"] = (b"\x80\x02" + _g("builtins", "getattr") + _g("collections", "OrderedDict")
                               + _s("__init__") + b"\x86R.")
    # INST / OBJ opcodes name their class too
    p["inst_opcode"] = b"(" + _s(cmd) + b"ios\nsystem\n."
    p["obj_opcode"] = b"\x80\x02(" + _g("os", "system") + _s(cmd) + b"o."
    # an evil pickle nested as bytes inside an allowed call
    inner = pickle.dumps(Evil(), protocol=2)
    p["nested_pickle_loads"] = (b"\x80\x02" + _g("pickle", "loads") + _g("_codecs", "encode")
                                + _s(inner.decode("latin1")) + _s("latin1") + b"\x86R\x85R.")
    p["codecs_encode_trick"] = b"\x80\x02" + _g("_codecs", "encode") + _s("x") + _s("zlib") + b"\x86R."
    p["builtins_via_py2_name"] = b"\x80\x02" + _g("__builtin__", "eval") + _s(code) + b"\x85R."
    p["copyreg_ext"] = b"\x80\x02\x82\x01."  # EXT1: an unregistered extension code
    p["build_on_allowed"] = (b"\x80\x02" + _g("collections", "OrderedDict") + b")R" + b"N}" + _s("__class__")
                             + _g("os", "system") + b"s\x86b.")
    p["persistent_id_not_storage"] = b"\x80\x02(" + _s("storage") + _g("os", "system") + _s("0") + _s("cpu") \
        + b"K\x01tQ."
    p["persistent_id_string_type"] = b"\x80\x02(" + _s("module") + _s("os.system") + b"tQ."
    # memory bombs through allowed names: constructing a tensor or bytearray of a huge size
    big = b"\x8a\x05\x00\x00\x00\x00\x10"  # LONG1: 2**68
    p["tensor_constructor_bomb"] = b"\x80\x02" + _g("torch", "Tensor") + b"J\x00\x00\x00\x7f\x85R."
    p["bytearray_bomb"] = b"\x80\x02" + _g("builtins", "bytearray") + big + b"\x85R."
    p["set_of_range"] = b"\x80\x02" + _g("builtins", "set") + _g("builtins", "range") + big + b"\x85R\x85R."
    p["parameter_of_junk"] = b"\x80\x02" + _g("torch.nn.parameter", "Parameter") + b"J\x00\x00\x00\x7f\x85R."
    return p


def test_malicious_pickles_are_refused(marker):
    for name, pkl in _payloads(marker).items():
        data = _zip_with(pkl)
        with pytest.raises(CLEAN):
            jtorch.load(io.BytesIO(data))
        assert not marker.exists(), name
        # also refused as a legacy (non-zip) checkpoint's main pickle
        legacy = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950a86a20f9469cfc6c, 1001, {"little_endian": True}))
        with pytest.raises(CLEAN):
            jtorch.load(io.BytesIO(legacy + pkl + pickle.dumps([], protocol=2)))
        assert not marker.exists(), name


def test_payloads_do_run_code_without_weights_only(tmp_path):
    # control: the payloads above are live; only the restricted unpickler stops them
    control = tmp_path / "control"
    for name in ("reduce_os_system", "exec_global", "getattr_chain", "inst_opcode", "nested_pickle_loads"):
        jtorch.load(io.BytesIO(_zip_with(_payloads(control)[name])), weights_only=False)
        assert control.exists(), name
        control.unlink()


def test_refusal_message_is_torchs(marker):
    pkl = _payloads(marker)["subprocess"]
    with pytest.raises(pickle.UnpicklingError) as ei:
        jtorch.load(io.BytesIO(_zip_with(pkl)))
    msg = str(ei.value)
    assert msg.startswith("Weights only load failed.")
    assert "Unsupported global: GLOBAL subprocess.check_call was not an allowed global by default." in msg
    assert "add_safe_globals" in msg
    with pytest.raises(pickle.UnpicklingError, match="whose module posix is blocked"):
        jtorch.load(io.BytesIO(_zip_with(_payloads(marker)["posix_system"])))
    # and real torch refuses the same file
    with pytest.raises(pickle.UnpicklingError):
        torch.load(io.BytesIO(_zip_with(pkl)))


def _good_checkpoint(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    buf = io.BytesIO()
    torch.save({"w": torch.from_numpy(x), "b": torch.arange(3), "meta": collections.OrderedDict(step=2)}, buf)
    return buf.getvalue(), x


def _rewrite(data, fn):
    """Rebuild the archive with fn(name, bytes) -> bytes applied to each record."""
    z = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for n in z.namelist():
            w.writestr(n, fn(n, z.read(n)))
    return out.getvalue()


def test_corrupt_archives_and_storages(rng, marker):
    data, x = _good_checkpoint(rng)
    cases = {
        "truncated_file": data[: len(data) // 2],
        "no_central_directory": data.replace(b"PK\x05\x06", b"XX\x05\x06"),
        "garbage_after_magic": b"PK\x03\x04" + bytes(rng.integers(0, 256, 200, dtype=np.uint8)),
        "bad_local_header": data.replace(b"PK\x03\x04", b"PK\x03\x05", 2),
        "truncated_storage": _rewrite(data, lambda n, b: b[:7] if n.endswith("data/0") else b),
        "missing_storage": _rewrite(data, lambda n, b: b"" if n.endswith("data/1") else b),
        "no_data_pkl": data.replace(b"data.pkl", b"data.pkX"),
        "bad_byteorder": _rewrite(data, lambda n, b: b"middle" if n.endswith("byteorder") else b),
    }
    # a storage shorter than the tensor it backs: numel in the id stays, sizes grow
    pkl = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    cases["tensor_beyond_storage"] = _rewrite(
        data, lambda n, b: b.replace(b"K\x04K\x03\x86", b"K\x09K\x03\x86") if n.endswith("data.pkl") else b)
    cases["offset_beyond_storage"] = _rewrite(
        data, lambda n, b: b.replace(b"QK\x00K\x04", b"QK\x0bK\x04") if n.endswith("data.pkl") else b)
    assert b"K\x04K\x03\x86" in pkl and b"QK\x00K\x04" in pkl
    for name, bad in cases.items():
        with pytest.raises(CLEAN):
            jtorch.load(io.BytesIO(bad))
    # storage id claiming a huge size: refused before allocating anything
    huge = _zip_with(b"\x80\x02" + _g("torch._utils", "_rebuild_tensor_v2") + b"((" + _s("storage")
                     + _g("torch", "FloatStorage") + _s("0") + _s("cpu") + b"J\xff\xff\xff\x7ftQK\x00J\xff\xff\xff\x7f"
                     + b"\x85K\x01\x85\x89" + _g("collections", "OrderedDict") + b")RtR.", [("0", b"\0" * 16)])
    with pytest.raises(CLEAN, match="truncated"):
        jtorch.load(io.BytesIO(huge))
    # a broadcast view that would blow up memory: refused
    blowup = _zip_with(b"\x80\x02" + _g("torch._utils", "_rebuild_tensor_v2") + b"((" + _s("storage")
                       + _g("torch", "FloatStorage") + _s("0") + _s("cpu") + b"K\x01tQK\x00"
                       + b"J\x00\x00\x01\x00J\x00\x00\x01\x00\x86K\x00K\x00\x86\x89" + _g("collections", "OrderedDict")
                       + b")RtR.", [("0", b"\0" * 4)])
    with pytest.raises(RuntimeError, match="too large"):
        jtorch.load(io.BytesIO(blowup))
    # the good file loads
    got = jtorch.load(io.BytesIO(data))
    np.testing.assert_array_equal(np.asarray(got["w"]), x)


def test_fuzzed_checkpoints_load_correctly_or_fail_cleanly(rng):
    data, x = _good_checkpoint(np.random.default_rng(1234))
    fuzz = np.random.default_rng(20240601)
    outcomes = collections.Counter()
    for i in range(200):
        b = bytearray(data)
        kind = i % 4
        if kind == 0:  # flip a few bytes
            for pos in fuzz.integers(0, len(b), fuzz.integers(1, 4)):
                b[pos] ^= int(fuzz.integers(1, 256))
        elif kind == 1:  # truncate
            b = b[: int(fuzz.integers(1, len(b)))]
        elif kind == 2:  # insert junk
            pos = int(fuzz.integers(0, len(b)))
            b[pos:pos] = bytes(fuzz.integers(0, 256, int(fuzz.integers(1, 9)), dtype=np.uint8))
        else:  # delete a span
            pos = int(fuzz.integers(0, len(b)))
            del b[pos:pos + int(fuzz.integers(1, 9))]
        try:
            got = jtorch.load(io.BytesIO(bytes(b)))
        except CLEAN:
            outcomes["refused"] += 1
            continue
        # whatever loads must be the original data
        np.testing.assert_array_equal(np.asarray(got["w"]), x)
        np.testing.assert_array_equal(np.asarray(got["b"]), np.arange(3))
        assert got["meta"] == {"step": 2}
        outcomes["loaded"] += 1
    assert outcomes["refused"] > 100 and outcomes["loaded"] > 0 and sum(outcomes.values()) == 200
