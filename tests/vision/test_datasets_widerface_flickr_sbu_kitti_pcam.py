"""WIDERFace, Flickr8k/Flickr30k, SBU, Kitti and PCAM against real torchvision on the same fake
files in the real layouts, and their downloads (file:// URLs; Google Drive served locally)."""
import gzip
import os
import shutil
import sys
import tarfile
import types
import zipfile

import numpy as np
import pytest

import jtorch.vision.datasets as JD
import jtorch.vision.datasets.pcam as j_pcam
import jtorch.vision.datasets.widerface as j_widerface
from ds_oracle import md5, same_items, same_value, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _zip_dir(archive, base, folder):
    with zipfile.ZipFile(archive, "w") as z:
        for dirpath, _, files in os.walk(base / folder):
            for f in files:
                full = os.path.join(dirpath, f)
                z.write(full, os.path.relpath(full, base))
    return archive


# ---------------------------------------------------------------- WIDERFace

def _write_widerface(base, rng):
    boxes = {"train": [("0--Parade/0_Parade_marchingband_1_5.jpg", 3), ("1--Handshaking/1_Handshaking_7.jpg", 0),
                       ("1--Handshaking/1_Handshaking_9.jpg", 1)],
             "val": [("0--Parade/0_Parade_Parade_0_12.jpg", 2)]}
    os.makedirs(base / "wider_face_split")
    for split, images in boxes.items():
        lines = []
        for name, n in images:
            write_image(str(base / f"WIDER_{split}" / "images" / name), rng, (8, 6))
            lines += [name, str(n)]
            rows = rng.integers(0, 300, (max(n, 1), 10)) if n else np.zeros((1, 10), int)
            lines += [" ".join(str(int(v)) for v in row) + " " for row in rows]  # trailing space, as in the files
        (base / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt").write_text("\n".join(lines) + "\n")
    tests = ["0--Parade/0_Parade_Parade_0_194.jpg", "2--Demonstration/2_Demonstration_1.jpg"]
    for name in tests:
        write_image(str(base / "WIDER_test" / "images" / name), rng, (8, 6), "L")
    (base / "wider_face_split" / "wider_face_test_filelist.txt").write_text("\n".join(tests) + "\n")


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_widerface_matches_torchvision(tmp_path, rng, split):
    _write_widerface(tmp_path / "widerface", rng)
    j, t = JD.WIDERFace(str(tmp_path), split=split), TD.WIDERFace(str(tmp_path), split=split)
    same_items(j, t)
    assert [i["img_path"] for i in j.img_info] == [i["img_path"] for i in t.img_info] and repr(j) == repr(t)
    if split == "train":
        assert tuple(j[0][1]["bbox"].shape) == (3, 4) and tuple(j[1][1]["blur"].shape) == (1,)
    with pytest.raises(ValueError, match="Unknown value 'all' for argument split"):
        JD.WIDERFace(str(tmp_path), split="all")


def test_widerface_download(tmp_path, rng, monkeypatch):
    build = tmp_path / "build" / "widerface"
    _write_widerface(build, rng)
    served = tmp_path / "served"
    os.makedirs(served)
    for folder in ("WIDER_train", "WIDER_val", "WIDER_test", "wider_face_split"):
        _zip_dir(served / f"{folder}.zip", build, folder)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True to download and"):
        JD.WIDERFace(str(tmp_path / "none"))
    fetched = []

    def fake_drive(file_id, root, filename=None, md5=None):  # Google Drive cannot be reached here
        fetched.append(filename)
        os.makedirs(root, exist_ok=True)
        shutil.copy(served / filename, os.path.join(root, filename))

    monkeypatch.setattr(j_widerface, "download_file_from_google_drive", fake_drive)
    ann = served / "wider_face_split.zip"
    J = type("WIDERFace", (JD.WIDERFace,), {"ANNOTATIONS_FILE": (ann.as_uri(), md5(ann), ann.name)})
    j = J(str(tmp_path / "root"), split="val", download=True)
    assert fetched == ["WIDER_train.zip", "WIDER_val.zip", "WIDER_test.zip"]
    same_items(j, TD.WIDERFace(str(tmp_path / "build"), split="val"))


# ---------------------------------------------------------------- Flickr

_FLICKR8K_HTML = """<html><body><h1>Flickr 8k</h1>
<table>
<tr><td><a href="http://www.flickr.com/photos/x/{a}/">http://www.flickr.com/photos/x/{a}/</a></td></tr>
<tr><td><ul><li>A child climbing stairs .</li><li> A girl going into a building . </li></ul></td></tr>
<tr><td>Image Not Found</td></tr>
<tr><td><ul><li>ignored caption</li></ul></td></tr>
<tr><td><a href="http://www.flickr.com/photos/y/{b}/">http://www.flickr.com/photos/y/{b}/</a></td></tr>
<tr><td><ul><li>Two dogs play .</li></ul></td></tr>
</table><ul><li>outside the table</li></ul></body></html>"""


def test_flickr8k_matches_torchvision(tmp_path, rng):
    for name in ("3637013_c675de7705.jpg", "1000268201_693b08cb0e.jpg"):
        write_image(str(tmp_path / "images" / name), rng, (6, 5))
    (tmp_path / "ann.html").write_text(_FLICKR8K_HTML.format(a="3637013", b="1000268201"))
    j = JD.Flickr8k(str(tmp_path / "images"), str(tmp_path / "ann.html"))
    t = TD.Flickr8k(str(tmp_path / "images"), str(tmp_path / "ann.html"))
    same_items(j, t)
    assert j.ids == t.ids and j.annotations == t.annotations and repr(j) == repr(t)
    assert j[1][1] == ["A child climbing stairs .", "A girl going into a building ."]
    same_value(JD.Flickr8k(str(tmp_path / "images"), str(tmp_path / "ann.html"), target_transform=len)[0],
               TD.Flickr8k(str(tmp_path / "images"), str(tmp_path / "ann.html"), target_transform=len)[0])


def test_flickr30k_matches_torchvision(tmp_path, rng):
    names = ["1000092795.jpg", "10002456.jpg", "1000268201.jpg"]
    for name in names:
        write_image(str(tmp_path / "images" / name), rng, (5, 6))
    lines = [f"{names[(k * 2) % 3]}#{k // 3}\tcaption number {k} .\n" for k in range(7)]
    (tmp_path / "results.token").write_text("".join(lines))
    j = JD.Flickr30k(str(tmp_path / "images"), str(tmp_path / "results.token"))
    t = TD.Flickr30k(str(tmp_path / "images"), str(tmp_path / "results.token"))
    same_items(j, t)
    assert j.ids == t.ids == sorted(names) and dict(j.annotations) == dict(t.annotations) and repr(j) == repr(t)


# ---------------------------------------------------------------- SBU

def test_sbu_matches_torchvision_and_downloads(tmp_path, rng):
    photos = tmp_path / "flickr"
    names = ["2811491_c5b8bd2d3a.jpg", "3011543_2ab3b1d9a7.jpg", "gone_123.jpg", "4011555_11aa22bb33.jpg"]
    for name in names:
        if not name.startswith("gone"):
            write_image(str(photos / name), rng, (6, 4))
    build = tmp_path / "build"
    os.makedirs(build / "dataset")
    (build / "dataset" / "SBU_captioned_photo_dataset_urls.txt").write_text(
        "".join((photos / n).as_uri() + "\n" for n in names))
    (build / "dataset" / "SBU_captioned_photo_dataset_captions.txt").write_text(
        "".join(f"caption of {n} \n" for n in names))
    archive = tmp_path / "SBUCaptionedPhotoDataset.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(build / "dataset", arcname="dataset")
    attrs = {"url": archive.as_uri(), "md5_checksum": md5(archive)}
    J, T = (type("SBU", (b,), attrs) for b in (JD.SBU, TD.SBU))
    j = J(str(tmp_path / "root"))  # download defaults to True: the archive, then every photo still online
    assert len(j) == 3 and j.photos == [n for n in names if not n.startswith("gone")]
    assert j.captions[0] == "caption of 2811491_c5b8bd2d3a.jpg"
    t = T(str(tmp_path / "root"), download=False)
    same_items(j, t)
    assert j.photos == t.photos and j.captions == t.captions and repr(j) == repr(t)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        JD.SBU(str(tmp_path / "root"), download=False)  # the real checksum differs


# ---------------------------------------------------------------- Kitti

def _write_kitti(raw, rng):
    for k in range(3):
        write_image(str(raw / "training" / "image_2" / f"{k:06d}.png"), rng, (8, 5))
        objects = []
        for m in range(k + 1):
            vals = rng.uniform(-2, 50, 14)
            objects.append(" ".join([["Car", "Pedestrian", "DontCare"][m % 3], f"{vals[0]:.2f}", str(m % 4)] +
                                    [f"{v:.2f}" for v in vals[1:13]]))
        os.makedirs(raw / "training" / "label_2", exist_ok=True)
        (raw / "training" / "label_2" / f"{k:06d}.txt").write_text("\n".join(objects) + "\n")
    for k in range(2):
        write_image(str(raw / "testing" / "image_2" / f"{k:06d}.png"), rng, (8, 5))


def test_kitti_matches_torchvision_and_downloads(tmp_path, rng):
    _write_kitti(tmp_path / "build" / "Kitti" / "raw", rng)
    for train in (True, False):
        j, t = JD.Kitti(str(tmp_path / "build"), train=train), TD.Kitti(str(tmp_path / "build"), train=train)
        same_items(j, t)
        assert j.images == t.images and j.targets == t.targets and repr(j) == repr(t)
    assert JD.Kitti(str(tmp_path / "build"))[0][1][0]["type"] in ("Car", "Pedestrian", "DontCare")

    def both(img, target):
        return img.size, target

    same_items(JD.Kitti(str(tmp_path / "build"), transforms=both), TD.Kitti(str(tmp_path / "build"), transforms=both))
    with pytest.raises(RuntimeError, match="Dataset not found. You may use download=True"):
        JD.Kitti(str(tmp_path / "none"))
    served = tmp_path / "served"
    os.makedirs(served)
    raw = tmp_path / "build" / "Kitti" / "raw"
    with zipfile.ZipFile(served / "data_object_image_2.zip", "w") as z:
        for split in ("training", "testing"):
            for f in os.listdir(raw / split / "image_2"):
                z.write(raw / split / "image_2" / f, f"{split}/image_2/{f}")
    _zip_dir(served / "data_object_label_2.zip", raw, "training/label_2")
    J = type("Kitti", (JD.Kitti,), {"data_url": served.as_uri() + "/"})
    j = J(str(tmp_path / "root"), download=True)
    assert sorted(os.path.basename(p) for p in j.images) == sorted(os.listdir(raw / "training" / "image_2"))
    t = TD.Kitti(str(tmp_path / "build"))
    by_name = {os.path.basename(p): k for k, p in enumerate(t.images)}
    for k, p in enumerate(j.images):
        same_value(j[k], t[by_name[os.path.basename(p)]])


# ---------------------------------------------------------------- PCAM

class _FakeH5File:
    """What PCAM uses of ``h5py.File``, over an .npz file: a context manager indexed by name."""

    def __init__(self, path, mode="r"):
        self._npz = np.load(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._npz.close()

    def __getitem__(self, key):
        return self._npz[key]


def _write_pcam(base, rng, split="test", n=4):
    """The split's two files as .npz (served by the fake h5py when h5py itself is not installed)."""
    os.makedirs(base, exist_ok=True)
    files = JD.PCAM._FILES[split]
    x = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
    y = rng.integers(0, 2, (n, 1, 1, 1)).astype(np.uint8)
    for (name, _, _), key, arr in ((files["images"], "x", x), (files["targets"], "y", y)):
        with open(base / name, "wb") as f:
            np.savez(f, **{key: arr})
    return x, y


@pytest.fixture
def h5py_like(monkeypatch):
    """Real h5py is not available here: both libraries read through the same stand-in module."""
    monkeypatch.setitem(sys.modules, "h5py", types.SimpleNamespace(File=_FakeH5File))


def test_pcam_matches_torchvision(tmp_path, rng, h5py_like):
    x, y = _write_pcam(tmp_path / "pcam", rng)
    j, t = JD.PCAM(str(tmp_path), split="test"), TD.PCAM(str(tmp_path), split="test")
    same_items(j, t)
    assert repr(j) == repr(t) and len(j) == 4 and [j[k][1] for k in range(4)] == y[:, 0, 0, 0].tolist()
    np.testing.assert_array_equal(np.asarray(j[2][0]), x[2])
    with pytest.raises(ValueError, match="Unknown value 'valid' for argument split"):
        JD.PCAM(str(tmp_path), split="valid")
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.PCAM(str(tmp_path), split="val")


def test_pcam_needs_h5py_and_downloads(tmp_path, rng, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import fails as when not installed
    with pytest.raises(RuntimeError, match="h5py is not found"):
        JD.PCAM(str(tmp_path))
    with pytest.raises(RuntimeError, match="h5py is not found"):
        TD.PCAM(str(tmp_path))
    monkeypatch.setitem(sys.modules, "h5py", types.SimpleNamespace(File=_FakeH5File))
    _write_pcam(tmp_path / "served", rng, split="val", n=3)
    for name, _, _ in JD.PCAM._FILES["val"].values():
        with gzip.open(tmp_path / "served" / (name + ".gz"), "wb") as dst:
            dst.write((tmp_path / "served" / name).read_bytes())
    fetched = []

    def fake_drive(file_id, root, filename=None, md5=None):
        fetched.append((file_id, filename, md5))
        os.makedirs(root, exist_ok=True)
        shutil.copy(tmp_path / "served" / filename, os.path.join(root, filename))

    monkeypatch.setattr(j_pcam, "download_file_from_google_drive", fake_drive)
    j = JD.PCAM(str(tmp_path / "root"), split="val", download=True)
    # the real ids, names and checksums are asked for (the local stand-in does not check the md5)
    assert fetched == [(i, f"{name}.gz", m) for name, i, m in JD.PCAM._FILES["val"].values()]
    shutil.copytree(tmp_path / "served", tmp_path / "ref" / "pcam")
    same_items(j, TD.PCAM(str(tmp_path / "ref"), split="val"))
