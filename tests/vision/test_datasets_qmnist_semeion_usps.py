"""QMNIST, SEMEION and USPS against real torchvision on the same fake files in the real formats
(IDX with int32 label rows, the SEMEION text table, LIBSVM bz2), and their downloads."""
import bz2
import lzma
import os
from pathlib import Path

import numpy as np
import pytest

import jtorch.vision.datasets as JD
from ds_oracle import md5, same_items, same_value
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _idx(array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _write_qmnist(raw, rng, prefix, n, opener=open, suffix=""):
    os.makedirs(raw, exist_ok=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10000, (n, 8)).astype(">i4")  # class, NIST series, writer id, ...
    labels[:, 0] = rng.integers(0, 10, n)
    paths = []
    for name, data in ((f"{prefix}-images-idx3-ubyte", _idx(images, 0x08)),
                       (f"{prefix}-labels-idx2-int", _idx(labels, 0x0C))):
        paths.append(os.path.join(raw, name + suffix))
        with opener(paths[-1], "wb") as f:
            f.write(data)
    return images, labels.astype(np.int64), paths


@pytest.mark.parametrize("what,compat", [("train", True), ("test", False), (None, True)])
def test_qmnist_matches_torchvision(tmp_path, rng, what, compat):
    raw = tmp_path / "QMNIST" / "raw"
    _write_qmnist(raw, rng, "qmnist-train", 6)
    _, labels, _ = _write_qmnist(raw, rng, "qmnist-test", 4)
    kwargs = dict(what=what, compat=compat, train=False)
    j, t = JD.QMNIST(str(tmp_path), **kwargs), TD.QMNIST(str(tmp_path), **kwargs)
    same_items(j, t)
    same_value(j.data, t.data)
    same_value(j.targets, t.targets)
    assert repr(j) == repr(t) and j.classes == t.classes
    if what == "test":
        assert j[1][1].tolist() == labels[1].tolist()  # the whole metadata row
    with pytest.raises(ValueError, match="Unknown value 'valid' for argument what"):
        JD.QMNIST(str(tmp_path), what="valid")


def test_qmnist_test10k_and_test50k(tmp_path, rng):
    """The test file holds MNIST's 10000 test digits first; test50k is the rest."""
    _write_qmnist(tmp_path / "QMNIST" / "raw", rng, "qmnist-test", 10003)
    for what in ("test10k", "test50k"):
        j, t = JD.QMNIST(str(tmp_path), what=what), TD.QMNIST(str(tmp_path), what=what)
        assert len(j) == len(t) == (10000 if what == "test10k" else 3)
        same_value(j.data, t.data)
        same_value(j.targets, t.targets)
        for k in (0, len(t) - 1):
            same_value(j[k], t[k])


def test_qmnist_download_nist_xz(tmp_path, rng):
    images, labels, paths = _write_qmnist(tmp_path / "served", rng, "xnist", 5, lzma.open, ".xz")
    resources = dict(JD.QMNIST.resources, nist=[(Path(p).as_uri(), md5(p)) for p in paths])
    J = type("QMNIST", (JD.QMNIST,), {"resources": resources})
    ds = J(str(tmp_path / "root"), what="nist", download=True)
    assert os.path.isfile(tmp_path / "root" / "QMNIST" / "raw" / "xnist-images-idx3-ubyte")
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert [ds[k][1] for k in range(5)] == labels[:, 0].tolist()
    with pytest.raises(RuntimeError, match="Dataset not found"):
        JD.QMNIST(str(tmp_path / "none"), what="nist")


# ---------------------------------------------------------------- SEMEION

def _write_semeion(path, rng, n=7):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = rng.integers(0, 2, (n, 256))
    labels = rng.integers(0, 10, n)
    with open(path, "w") as f:
        for row, label in zip(pixels, labels):
            onehot = ["1" if k == label else "0" for k in range(10)]
            f.write(" ".join(f"{v}.0000" for v in row) + " " + " ".join(onehot) + " \n")
    return pixels, labels


def test_semeion_matches_torchvision_and_downloads(tmp_path, rng):
    pixels, labels = _write_semeion(str(tmp_path / "served" / "semeion.data"), rng)
    checksum = md5(tmp_path / "served" / "semeion.data")
    J, T = (type("SEMEION", (b,), {"md5_checksum": checksum, "url": (tmp_path / "served" / "semeion.data").as_uri()})
            for b in (JD.SEMEION, TD.SEMEION))
    j = J(str(tmp_path / "root"))  # download defaults to True
    t = T(str(tmp_path / "served"), download=False)
    same_items(j, t)
    same_value(j.data, t.data)
    same_value(j.labels, t.labels)
    assert j.labels.tolist() == labels.tolist() and (j.data.reshape(-1, 256) // 255 == pixels).all()
    assert repr(j).replace(str(tmp_path / "root"), str(tmp_path / "served")) == repr(t)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        JD.SEMEION(str(tmp_path / "served"), download=False)  # the real checksum differs


# ---------------------------------------------------------------- USPS

def _write_usps(path, rng, n=6):
    values = rng.uniform(-1, 1, (n, 256))
    labels = rng.integers(1, 11, n)
    with bz2.open(path, "wt") as f:
        for row, label in zip(values, labels):
            f.write(f"{label} " + " ".join(f"{k + 1}:{v:.6f}" for k, v in enumerate(row)) + "\n")
    return labels - 1


def test_usps_matches_torchvision_and_downloads(tmp_path, rng):
    os.makedirs(tmp_path / "served")
    labels = _write_usps(tmp_path / "served" / "usps.bz2", rng)
    _write_usps(tmp_path / "served" / "usps.t.bz2", rng, n=3)
    for train in (True, False):
        j, t = JD.USPS(str(tmp_path / "served"), train=train), TD.USPS(str(tmp_path / "served"), train=train)
        same_items(j, t)
        same_value(j.data, t.data)
        assert j.targets == t.targets and repr(j) == repr(t)
    assert JD.USPS(str(tmp_path / "served")).targets == labels.tolist()
    with pytest.raises(FileNotFoundError):  # no integrity check, as in torchvision
        JD.USPS(str(tmp_path / "none"))
    split_list = {"train": [(tmp_path / "served" / "usps.bz2").as_uri(), "usps.bz2",
                            md5(tmp_path / "served" / "usps.bz2")]}
    J = type("USPS", (JD.USPS,), {"split_list": split_list})
    same_items(J(str(tmp_path / "root"), download=True), TD.USPS(str(tmp_path / "served")))
