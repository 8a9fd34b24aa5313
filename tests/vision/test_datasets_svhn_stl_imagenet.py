"""SVHN, STL10 and ImageNet against real torchvision on the same fake files in the real formats
(.mat files, STL-10 binaries, the ILSVRC2012 archives), and their download/unpack paths."""
import io
import os
import shutil
import tarfile

import numpy as np
import pytest

import jtorch.vision.datasets as JD
import jtorch.vision.datasets.imagenet as j_imagenet
from ds_oracle import md5, same_items, same_value
from tv import torchvision

tv = torchvision()
TD = tv.datasets
scipy_io = pytest.importorskip("scipy.io")


# ---------------------------------------------------------------- SVHN

def _write_svhn(root, rng, split, n):
    os.makedirs(root, exist_ok=True)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, (n, 1)).astype(np.uint8)  # 10 is the digit 0
    y[0, 0] = 10
    path = os.path.join(root, f"{split}_32x32.mat")
    scipy_io.savemat(path, {"X": x, "y": y})
    return path, x, y


def _svhn_classes(md5s):
    """SVHN of both libraries with the checksums of our fake files (same class name for repr)."""
    split_list = {s: [u, f, md5s.get(s, m)] for s, (u, f, m) in JD.SVHN.split_list.items()}
    return [type("SVHN", (base,), {"split_list": split_list}) for base in (JD.SVHN, TD.SVHN)]


def test_svhn_matches_torchvision(tmp_path, rng):
    paths = {s: _write_svhn(tmp_path, rng, s, n)[0] for s, n in (("train", 7), ("test", 3))}
    J, T = _svhn_classes({s: md5(p) for s, p in paths.items()})
    for split in ("train", "test"):
        j, t = J(str(tmp_path), split=split), T(str(tmp_path), split=split)
        same_items(j, t)
        same_value(j.data, t.data)
        same_value(j.labels, t.labels)
        assert repr(j) == repr(t)
    assert 0 in j.labels.tolist() and 10 not in j.labels.tolist()
    with pytest.raises(ValueError, match="Unknown value 'valid' for argument split"):
        J(str(tmp_path), split="valid")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        J(str(tmp_path), split="extra")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):  # wrong checksum
        JD.SVHN(str(tmp_path), split="train")


def test_svhn_download(tmp_path, rng):
    path, x, _ = _write_svhn(tmp_path / "served", rng, "extra", 4)
    J, _ = _svhn_classes({"extra": md5(path)})
    J.split_list["extra"][0] = (tmp_path / "served" / "extra_32x32.mat").as_uri()
    ds = J(str(tmp_path / "root"), split="extra", download=True)
    assert len(ds) == 4 and os.path.isfile(tmp_path / "root" / "extra_32x32.mat")
    np.testing.assert_array_equal(np.asarray(ds[2][0]), x[:, :, :, 2])


# ---------------------------------------------------------------- STL10

def _write_stl10(folder, rng, n_train=5, n_unlabeled=3, n_test=4):
    os.makedirs(folder, exist_ok=True)
    for name, n in (("train", n_train), ("unlabeled", n_unlabeled), ("test", n_test)):
        rng.integers(0, 256, n * 3 * 96 * 96, dtype=np.uint8).tofile(os.path.join(folder, f"{name}_X.bin"))
        if name != "unlabeled":
            rng.integers(1, 11, n).astype(np.uint8).tofile(os.path.join(folder, f"{name}_y.bin"))
    with open(os.path.join(folder, "fold_indices.txt"), "w") as f:
        for k in range(10):
            f.write(" ".join(str(i) for i in rng.permutation(n_train)[:2 + k % 3]) + " \n")
    with open(os.path.join(folder, "class_names.txt"), "w") as f:
        f.write("\n".join(["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]))
    names = ["train_X.bin", "train_y.bin", "unlabeled_X.bin", "test_X.bin", "test_y.bin"]
    return {n: md5(os.path.join(folder, n)) for n in names}


def _stl10_classes(sums):
    attrs = dict(train_list=[[n, sums[n]] for n in ("train_X.bin", "train_y.bin", "unlabeled_X.bin")],
                 test_list=[[n, sums[n]] for n in ("test_X.bin", "test_y.bin")])
    return [type("STL10", (base,), attrs) for base in (JD.STL10, TD.STL10)]


@pytest.mark.parametrize("split,folds", [("train", None), ("train", 3), ("train+unlabeled", 7),
                                         ("unlabeled", None), ("test", None)])
def test_stl10_matches_torchvision(tmp_path, rng, split, folds):
    J, T = _stl10_classes(_write_stl10(tmp_path / "stl10_binary", rng))
    j, t = J(str(tmp_path), split=split, folds=folds), T(str(tmp_path), split=split, folds=folds)
    same_items(j, t)
    same_value(j.data, t.data)
    assert j.labels.tolist() == t.labels.tolist() and j.classes == t.classes
    assert repr(j) == repr(t)


def test_stl10_errors_and_download(tmp_path, rng):
    sums = _write_stl10(tmp_path / "build" / "stl10_binary", rng)
    J, T = _stl10_classes(sums)
    for bad, exc in ((10, "should be in the range"), (1.0, "Expected type None or int")):
        with pytest.raises(ValueError, match=exc):
            J(str(tmp_path / "build"), folds=bad)
        with pytest.raises(ValueError, match=exc):
            T(str(tmp_path / "build"), folds=bad)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        J(str(tmp_path / "root"))
    archive = tmp_path / "stl10_binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / "stl10_binary", arcname="stl10_binary")
    J.url, J.tgz_md5 = archive.as_uri(), md5(archive)
    same_items(J(str(tmp_path / "root"), split="test", download=True), T(str(tmp_path / "build"), split="test"))


# ---------------------------------------------------------------- ImageNet

_WNIDS = ["n01440764", "n01443537", "n02102040"]
_WORDS = ["tench, Tinca tinca", "goldfish, Carassius auratus", "English springer, English springer spaniel"]


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _jpeg_bytes(rng):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _write_imagenet_archives(root, rng, n_val=5):
    """The devkit (meta.mat with a non-leaf synset too, validation ground truth), the train tar of
    per-class tars and the flat validation tar; returns their md5s and the validation labels."""
    os.makedirs(root, exist_ok=True)
    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
              "num_train_images"]
    synsets = np.zeros((len(_WNIDS) + 1,), dtype=[(f, "O") for f in fields])
    for k, (wnid, words) in enumerate(zip(_WNIDS, _WORDS)):
        synsets[k] = (k + 1, wnid, words, "a gloss", 0, np.zeros((0,)), 0, 1300)
    synsets[len(_WNIDS)] = (len(_WNIDS) + 1, "n00001740", "entity", "the root", 3, np.arange(1, 4), 18, 0)
    mat = io.BytesIO()
    scipy_io.savemat(mat, {"synsets": synsets})
    val_ids = [int(v) for v in rng.integers(1, len(_WNIDS) + 1, n_val)]
    with tarfile.open(root / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        _add_bytes(tar, "ILSVRC2012_devkit_t12/data/meta.mat", mat.getvalue())
        _add_bytes(tar, "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt",
                   "".join(f"{v}\n" for v in val_ids).encode())
    with tarfile.open(root / "ILSVRC2012_img_train.tar", "w") as outer:
        for k, wnid in enumerate(_WNIDS):
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as tar:
                for m in range(2 + k):
                    _add_bytes(tar, f"{wnid}_{m}.JPEG", _jpeg_bytes(rng))
            _add_bytes(outer, f"{wnid}.tar", inner.getvalue())
    with tarfile.open(root / "ILSVRC2012_img_val.tar", "w") as tar:
        for m in range(n_val):
            _add_bytes(tar, f"ILSVRC2012_val_{m + 1:08d}.JPEG", _jpeg_bytes(rng))
    meta = {key: (name, md5(root / name)) for key, (name, _) in j_imagenet.ARCHIVE_META.items()}
    return meta, [_WNIDS[v - 1] for v in val_ids]


@pytest.mark.parametrize("split", ["train", "val"])
def test_imagenet_matches_torchvision(tmp_path, rng, monkeypatch, split):
    meta, val_wnids = _write_imagenet_archives(tmp_path / "a", rng)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    monkeypatch.setattr(j_imagenet, "ARCHIVE_META", meta)
    monkeypatch.setattr(TD.imagenet, "ARCHIVE_META", meta)
    j, t = JD.ImageNet(str(tmp_path / "a"), split=split), TD.ImageNet(str(tmp_path / "b"), split=split)
    same_items(j, t)
    assert j.wnids == t.wnids == _WNIDS and j.wnid_to_idx == t.wnid_to_idx
    assert j.classes == t.classes and j.class_to_idx == t.class_to_idx
    assert j.classes[0] == ("tench", "Tinca tinca") and j.class_to_idx["goldfish"] == 1
    assert [os.path.relpath(p, tmp_path / "a") for p, _ in j.samples] == \
        [os.path.relpath(p, tmp_path / "b") for p, _ in t.samples]
    assert j.targets == t.targets and j.root == str(tmp_path / "a")
    assert repr(j).replace(str(tmp_path / "a"), "R") == repr(t).replace(str(tmp_path / "b"), "R")
    if split == "val":
        # the k-th image in name order has the k-th ground-truth label
        got = {int(os.path.basename(p)[15:23]): j.wnids[y] for p, y in j.samples}
        assert [got[m + 1] for m in range(len(val_wnids))] == val_wnids
    # the meta.bin each wrote reads back in the other library
    assert j_imagenet.load_meta_file(str(tmp_path / "b")) == TD.imagenet.load_meta_file(str(tmp_path / "a"))
    same_items(TD.ImageNet(str(tmp_path / "a"), split=split), j)


def test_imagenet_missing_archives(tmp_path, rng):
    with pytest.raises(RuntimeError, match="The archive ILSVRC2012_devkit_t12.tar.gz is not present in the root"):
        JD.ImageNet(str(tmp_path))
    with pytest.raises(RuntimeError, match="The meta file .* is not present"):
        j_imagenet.load_meta_file(str(tmp_path))
    with pytest.raises(ValueError, match="Unknown value 'test' for argument split"):
        JD.ImageNet(str(tmp_path), split="test")
    _write_imagenet_archives(tmp_path, rng)  # right files, but not the real checksums
    with pytest.raises(RuntimeError, match="is not present in the root directory or is corrupted"):
        JD.ImageNet(str(tmp_path))
