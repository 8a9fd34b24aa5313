"""PhotoTour and LSUN/LSUNClass against real torchvision on the same fake files (patch sheets;
LMDB databases read through a stand-in lmdb module when lmdb is not installed)."""
import importlib.util
import io
import os
import pickle
import shutil
import sys
import types
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import jtorch
import jtorch.vision.datasets as JD
from ds_oracle import md5, same_items, same_value
from tv import torchvision

tv = torchvision()
TD = tv.datasets
_REAL_LMDB = importlib.util.find_spec("lmdb") is not None
# torchvision's PhotoTour reads patches with a Pillow call deprecated in Pillow 13
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning")


# ---------------------------------------------------------------- PhotoTour

def _write_phototour(folder, rng, n_sheets=2):
    os.makedirs(folder)
    for k in range(n_sheets):  # sheets of 3x2 patches of 64x64
        Image.fromarray(rng.integers(0, 256, (128, 192), dtype=np.uint8)).save(folder / f"patches{k:04d}.bmp")
    n = 6 * n_sheets
    (folder / "info.txt").write_text("".join(f"{k // 2} 0\n" for k in range(n)))
    lines = [f"{a} {a // 2} 0 {b} {b // 2} 0 0\n" for a, b in ((0, 1), (2, 5), (4, 5), (7, 3), (9, 8))]
    (folder / "m50_100000_100000_0.txt").write_text("".join(lines))


@pytest.mark.parametrize("train", [True, False])
def test_phototour_matches_torchvision(tmp_path, rng, train):
    _write_phototour(tmp_path / "a" / "liberty", rng)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    j, t = JD.PhotoTour(str(tmp_path / "a"), "liberty", train=train), TD.PhotoTour(str(tmp_path / "b"), "liberty",
                                                                                  train=train)
    same_items(j, t)
    for name in ("data", "labels", "matches"):
        same_value(getattr(j, name), getattr(t, name))
    assert (j.mean, j.std) == (t.mean, t.std) and len(j) == (12 if train else 5)
    assert repr(j).replace(str(tmp_path / "a"), "R") == repr(t).replace(str(tmp_path / "b"), "R")
    # the cache each wrote reads back in the other library
    same_items(JD.PhotoTour(str(tmp_path / "b"), "liberty", train=train),
               TD.PhotoTour(str(tmp_path / "a"), "liberty", train=train))
    half = lambda x: x // 2  # noqa: E731 -- runs on each library's own tensor
    same_items(JD.PhotoTour(str(tmp_path / "a"), "liberty", train=train, transform=half),
               TD.PhotoTour(str(tmp_path / "b"), "liberty", train=train, transform=half))


def test_phototour_download(tmp_path, rng):
    _write_phototour(tmp_path / "build" / "yosemite", rng, n_sheets=1)
    archive = tmp_path / "yosemite.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in os.listdir(tmp_path / "build" / "yosemite"):
            z.write(tmp_path / "build" / "yosemite" / name, name)
    urls = dict(JD.PhotoTour.urls, yosemite=[archive.as_uri(), "yosemite.zip", md5(archive)])
    j = type("PhotoTour", (JD.PhotoTour,), {"urls": urls})(str(tmp_path / "root"), "yosemite", download=True)
    assert not os.path.exists(tmp_path / "root" / "yosemite.zip")  # removed once unpacked
    same_items(j, TD.PhotoTour(str(tmp_path / "build"), "yosemite"))


# ---------------------------------------------------------------- LSUN

class _FakeTxn:
    def __init__(self, records):
        self._records = records

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def stat(self):
        return {"entries": len(self._records)}

    def get(self, key):
        return self._records.get(key)

    def cursor(self):
        records = self._records

        class Cursor:
            def iternext(self, keys=True, values=True):
                return iter(sorted(records))  # LMDB iterates in key order

        return Cursor()


class _FakeEnv:
    def __init__(self, path, **kwargs):
        with open(os.path.join(path, "data.pkl"), "rb") as f:
            self._records = pickle.load(f)

    def begin(self, write=False):
        return _FakeTxn(self._records)


def _write_lmdb(path, rng, n):
    """An LMDB database of n encoded images (a pickled dict read by the stand-in when the real
    lmdb package is not installed)."""
    os.makedirs(path)
    records = {}
    for k in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)).save(buf, format="JPEG" if k % 2 else "WEBP")
        records[f"{rng.integers(0, 1 << 40):040x}".encode()] = buf.getvalue()
    if _REAL_LMDB:
        import lmdb
        env = lmdb.open(path, map_size=1 << 24)
        with env.begin(write=True) as txn:
            for key, value in records.items():
                txn.put(key, value)
        env.close()
    else:
        with open(os.path.join(path, "data.pkl"), "wb") as f:
            pickle.dump(records, f)


@pytest.fixture
def lmdb_like(monkeypatch, tmp_path):
    if not _REAL_LMDB:
        monkeypatch.setitem(sys.modules, "lmdb", types.SimpleNamespace(open=_FakeEnv))
    monkeypatch.chdir(tmp_path)  # the key caches are written in the current directory


def test_lsun_matches_torchvision(tmp_path, rng, lmdb_like):
    for name, n in (("bedroom_val", 3), ("church_outdoor_val", 2), ("test", 2)):
        _write_lmdb(str(tmp_path / "data" / f"{name}_lmdb"), rng, n)
    for classes in (["bedroom_val", "church_outdoor_val"], "test", ("church_outdoor_val",)):
        j, t = JD.LSUN(str(tmp_path / "data"), classes=classes), TD.LSUN(str(tmp_path / "data"), classes=classes)
        same_items(j, t)
        assert j.classes == t.classes and j.indices == t.indices and repr(j) == repr(t)
    assert [j[k][1] for k in range(len(j))] == [0, 0]
    mixed = JD.LSUN(str(tmp_path / "data"), classes=["bedroom_val", "church_outdoor_val"])
    assert [mixed[k][1] for k in range(5)] == [0, 0, 0, 1, 1]
    one = JD.LSUNClass(str(tmp_path / "data" / "bedroom_val_lmdb"))
    same_items(one, TD.LSUNClass(str(tmp_path / "data" / "bedroom_val_lmdb")))
    assert any(name.startswith("_cache_") for name in os.listdir(tmp_path))


def test_lsun_class_errors(tmp_path, lmdb_like):
    for classes, msg in ((["bathroom_train"], "Unknown value 'bathroom' for LSUN class"),
                         (["bedroom_dev"], "Unknown value 'dev' for postfix"),
                         ([3], "Expected type str, but got type <class 'int'>"),
                         (5, "Expected type str or Iterable for argument classes")):
        with pytest.raises(ValueError, match=msg):
            JD.LSUN(str(tmp_path), classes=classes)
        with pytest.raises(ValueError, match=msg):
            TD.LSUN(str(tmp_path), classes=classes)
    with pytest.raises(ValueError, match="Unknown value 'bedroom_train' for argument classes"):
        JD.LSUN(str(tmp_path), classes="bedroom_train")  # a single class must be given in a list


def test_lsun_needs_lmdb(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lmdb", None)
    with pytest.raises(ImportError):
        JD.LSUNClass(str(tmp_path))
    with pytest.raises(ImportError):
        TD.LSUNClass(str(tmp_path))


def test_phototour_tensor_types(tmp_path, rng):
    _write_phototour(tmp_path / "notredame", rng, n_sheets=1)
    ds = JD.PhotoTour(str(tmp_path), "notredame", train=False)
    a, b, same = ds[0]
    assert isinstance(a, jtorch.Tensor) and a.dtype == jtorch.uint8 and tuple(a.shape) == (64, 64)
    assert same.dtype == jtorch.int64 and int(same) == 1  # patches 0 and 1 show the same point
    assert torch.load(str(tmp_path / "notredame.pt"), weights_only=True)[0].shape == (6, 64, 64)
