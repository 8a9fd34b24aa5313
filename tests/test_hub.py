"""jtorch.hub: cache location, load_state_dict_from_url from the cache and by download
(a local file:// URL), the hash-prefix check, and local hubconf repos."""
import hashlib
import os

import numpy as np
import pytest
import torch

import jtorch.hub as hub


def test_get_dir_honours_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "th" / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert hub.get_dir() == os.path.expanduser("~/.cache/torch/hub")
    hub.set_dir(str(tmp_path / "custom"))
    try:
        assert hub.get_dir() == str(tmp_path / "custom")
    finally:
        hub._hub_dir = None


def _state(rng):
    return {"w": torch.from_numpy(rng.normal(size=(3, 4)).astype(np.float32)), "n": torch.tensor(7)}


def test_load_from_cache_without_hash_check(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    state = _state(rng)
    torch.save(state, tmp_path / "hub" / "checkpoints" / "net-deadbeef.pth")
    # cached: the (wrong) hash prefix is not checked, as in torch.hub
    url = "https://example.invalid/models/net-deadbeef.pth"
    got = hub.load_state_dict_from_url(url, check_hash=True)
    ref = torch.hub.load_state_dict_from_url(url, check_hash=True)
    assert set(got) == set(ref) == {"w", "n"}
    np.testing.assert_array_equal(np.asarray(got["w"]), ref["w"].numpy())
    assert int(got["n"]) == 7
    got2 = hub.load_state_dict_from_url(url, file_name="net-deadbeef.pth", model_dir=str(tmp_path / "hub" / "checkpoints"))
    np.testing.assert_array_equal(np.asarray(got2["w"]), ref["w"].numpy())


def test_download_file_url_and_hash(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    src = tmp_path / "src"
    src.mkdir()
    raw = src / "tmp.pth"
    torch.save(_state(rng), raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    good = src / f"net-{digest[:8]}.pth"
    os.rename(raw, good)
    got = hub.load_state_dict_from_url(good.as_uri(), check_hash=True, progress=False)
    assert tuple(got["w"].shape) == (3, 4)
    assert (tmp_path / "home" / "hub" / "checkpoints" / good.name).exists()
    bad = src / "net-00000000.pth"
    bad.write_bytes(good.read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(bad.as_uri(), check_hash=True, progress=False)
    with pytest.raises(RuntimeError):
        torch.hub.load_state_dict_from_url(bad.as_uri(), model_dir=str(tmp_path / "t"), check_hash=True,
                                           progress=False)
    # nothing half-written is left under the final name
    assert sorted(os.listdir(tmp_path / "home" / "hub" / "checkpoints")) == [good.name]


def test_download_url_to_file(tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(b"0123456789" * 1000)
    dst = tmp_path / "b.bin"
    hub.download_url_to_file(src.as_uri(), str(dst), hash_prefix=hashlib.sha256(src.read_bytes()).hexdigest()[:6],
                             progress=False)
    assert dst.read_bytes() == src.read_bytes()


def test_local_hubconf(tmp_path):
    (tmp_path / "hubconf.py").write_text("dependencies = []\n\ndef double(x, k=2):\n    '''Doubles.'''\n"
                                         "    return x * k\n")
    assert hub.load(str(tmp_path), "double", 21, source="local") == 42
    assert "double" in hub.list(str(tmp_path))
    assert hub.help(str(tmp_path), "double") == "Doubles."
    with pytest.raises(RuntimeError):
        hub.load(str(tmp_path), "missing", source="local")
    with pytest.raises(ValueError):
        hub.load(str(tmp_path), "double", source="ftp")
