"""Every file writer goes through jtorch._atomic: a failed write leaves the previous file whole and no
temporary file behind; a replaced file keeps its permissions."""
import os
import stat

import numpy as np
import pytest

import jtorch
from jtorch.utils import safetensors
from jtorch.vision.utils import save_image


def _writers(rng):
    t = jtorch.tensor(rng.standard_normal((3, 4, 5)).astype(np.float32))
    return {
        "save.pt": lambda p: jtorch.save({"w": t}, p),
        "save.safetensors": lambda p: safetensors.save_file({"w": t}, p),
        "image.png": lambda p: save_image(t.sigmoid(), p),
    }


@pytest.mark.parametrize("name", ["save.pt", "save.safetensors", "image.png"])
def test_failed_write_keeps_previous_file(tmp_path, rng, name, monkeypatch):
    path = tmp_path / name
    _writers(rng)[name](path)
    before = path.read_bytes()
    os.chmod(path, 0o640)

    def fail(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", fail)  # the last step before the rename
    with pytest.raises(OSError, match="disk full"):
        _writers(rng)[name](path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]

    _writers(np.random.default_rng(1))[name](path)  # a successful rewrite: new bytes, same mode
    assert path.read_bytes() != before
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
