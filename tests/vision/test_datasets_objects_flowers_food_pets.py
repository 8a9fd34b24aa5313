"""Caltech101/256, Flowers102, Food101 and OxfordIIITPet against real torchvision on the same fake
files in the real layouts, and their download paths (through file:// URLs)."""
import json
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

import jtorch.vision.datasets as JD
from ds_oracle import md5, same_items, same_value, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _tar(archive, folder, arcname, mode="w:gz"):
    with tarfile.open(archive, mode) as tar:
        tar.add(folder, arcname=arcname)
    return archive


# ---------------------------------------------------------------- Caltech

def _write_caltech101(base, rng, scipy_io):
    images = base / "101_ObjectCategories"
    counts = {"BACKGROUND_Google": 1, "Faces": 2, "accordion": 3, "airplanes": 1}
    annotation_dirs = {"Faces": "Faces_2", "accordion": "accordion", "airplanes": "Airplanes_Side_2"}
    for cat, n in counts.items():
        for k in range(1, n + 1):
            write_image(str(images / cat / f"image_{k:04d}.jpg"), rng, (7 + k, 5), "L" if k == 3 else "RGB")
            if cat in annotation_dirs:
                os.makedirs(base / "Annotations" / annotation_dirs[cat], exist_ok=True)
                scipy_io.savemat(str(base / "Annotations" / annotation_dirs[cat] / f"annotation_{k:04d}.mat"),
                                 {"obj_contour": rng.standard_normal((2, 4 + k)),
                                  "box_coord": rng.integers(0, 9, (1, 4)).astype(np.int16)})


def test_caltech101_matches_torchvision(tmp_path, rng):
    scipy_io = pytest.importorskip("scipy.io")
    _write_caltech101(tmp_path / "caltech101", rng, scipy_io)
    for target_type in ("category", "annotation", ["category", "annotation"], ["annotation", "category"]):
        j = JD.Caltech101(str(tmp_path), target_type=target_type)
        t = TD.Caltech101(str(tmp_path), target_type=target_type)
        same_items(j, t)
        assert j.categories == t.categories == ["Faces", "accordion", "airplanes"]
        assert j.annotation_categories == t.annotation_categories and j.y == t.y and j.index == t.index
        assert repr(j) == repr(t)
    assert j[4][0].mode == "L"  # images are not converted (the third accordion image is grayscale)
    with pytest.raises(ValueError, match="Unknown value 'bbox' for argument target_type"):
        JD.Caltech101(str(tmp_path), target_type=["category", "bbox"])
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        JD.Caltech101(str(tmp_path / "none"))


def test_caltech101_download(tmp_path, rng):
    """The zip holds caltech-101/{101_ObjectCategories.tar.gz, Annotations.tar}; both are unpacked."""
    scipy_io = pytest.importorskip("scipy.io")
    _write_caltech101(tmp_path / "build", rng, scipy_io)
    inner = tmp_path / "inner"
    os.makedirs(inner)
    _tar(inner / "101_ObjectCategories.tar.gz", tmp_path / "build" / "101_ObjectCategories", "101_ObjectCategories")
    _tar(inner / "Annotations.tar", tmp_path / "build" / "Annotations", "Annotations", mode="w")
    archive = tmp_path / "caltech-101.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in os.listdir(inner):
            z.write(inner / name, f"caltech-101/{name}")
    J = type("Caltech101", (JD.Caltech101,), {"_ARCHIVE": (archive.as_uri(), "caltech-101.zip", md5(archive))})
    j = J(str(tmp_path / "root"), target_type=["category", "annotation"], download=True)
    assert sorted(os.listdir(tmp_path / "root" / "caltech101")) == ["101_ObjectCategories", "Annotations"]
    shutil.move(str(tmp_path / "build"), str(tmp_path / "ref" / "caltech101"))
    same_items(j, TD.Caltech101(str(tmp_path / "ref"), target_type=["category", "annotation"]))


def test_caltech256_matches_torchvision_and_downloads(tmp_path, rng):
    images = tmp_path / "build" / "caltech256" / "256_ObjectCategories"
    for cat, n in (("001.ak47", 2), ("002.american-flag", 3), ("003.clutter", 1)):
        for k in range(1, n + 1):
            write_image(str(images / cat / f"{cat[:3]}_{k:04d}.jpg"), rng, (6, 4 + k), "L" if k == 2 else "RGB")
    (images / "002.american-flag" / "notes.txt").write_text("not counted")
    j, t = JD.Caltech256(str(tmp_path / "build")), TD.Caltech256(str(tmp_path / "build"))
    same_items(j, t)
    assert j.categories == t.categories and j.y == t.y and j.index == t.index and repr(j) == repr(t)
    archive = _tar(tmp_path / "256_ObjectCategories.tar", images, "256_ObjectCategories", mode="w")
    J = type("Caltech256", (JD.Caltech256,), {"_ARCHIVE": (archive.as_uri(), archive.name, md5(archive))})
    same_items(J(str(tmp_path / "root"), download=True), t)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        JD.Caltech256(str(tmp_path / "none"))


# ---------------------------------------------------------------- Flowers102

def _write_flowers(base, rng, scipy_io, label_dtype):
    for k in range(1, 11):
        write_image(str(base / "jpg" / f"image_{k:05d}.jpg"), rng, (5 + k % 3, 6))
    scipy_io.savemat(str(base / "imagelabels.mat"), {"labels": rng.integers(1, 103, (1, 10)).astype(label_dtype)})
    ids = rng.permutation(np.arange(1, 11)).astype(np.uint16)
    scipy_io.savemat(str(base / "setid.mat"), {"trnid": ids[:4], "valid": ids[4:7], "tstid": ids[7:]})
    file_dict = dict(JD.Flowers102._file_dict)
    for key in ("label", "setid"):
        file_dict[key] = (file_dict[key][0], md5(base / file_dict[key][0]))
    return file_dict


@pytest.mark.parametrize("label_dtype", [np.uint8, np.float64])
def test_flowers102_matches_torchvision(tmp_path, rng, label_dtype):
    scipy_io = pytest.importorskip("scipy.io")
    file_dict = _write_flowers(tmp_path / "flowers-102", rng, scipy_io, label_dtype)
    J, T = (type("Flowers102", (b,), {"_file_dict": file_dict}) for b in (JD.Flowers102, TD.Flowers102))
    for split in ("train", "val", "test"):
        j, t = J(str(tmp_path), split=split), T(str(tmp_path), split=split)
        same_items(j, t)
        assert repr(j) == repr(t)
    assert J.classes == TD.Flowers102.classes and len(J.classes) == 102
    with pytest.raises(ValueError, match="Unknown value 'all' for argument split"):
        J(str(tmp_path), split="all")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):  # the real checksums differ
        JD.Flowers102(str(tmp_path))


def test_flowers102_download(tmp_path, rng):
    scipy_io = pytest.importorskip("scipy.io")
    served = tmp_path / "served"
    file_dict = _write_flowers(served, rng, scipy_io, np.uint8)
    _tar(served / "102flowers.tgz", served / "jpg", "jpg")
    file_dict["image"] = ("102flowers.tgz", md5(served / "102flowers.tgz"))
    attrs = {"_file_dict": file_dict, "_download_url_prefix": served.as_uri() + "/"}
    j = type("Flowers102", (JD.Flowers102,), attrs)(str(tmp_path / "root"), split="test", download=True)
    shutil.copytree(served, tmp_path / "ref" / "flowers-102")
    same_items(j, type("Flowers102", (TD.Flowers102,), {"_file_dict": file_dict})(str(tmp_path / "ref"), "test"))


# ---------------------------------------------------------------- Food101

def _write_food(base, rng):
    meta = {"train": {"ramen": ["ramen/11", "ramen/3"], "apple_pie": ["apple_pie/7"], "pho": ["pho/2", "pho/5"]},
            "test": {"pho": ["pho/9"], "apple_pie": ["apple_pie/1", "apple_pie/4"], "ramen": ["ramen/8"]}}
    for split, classes in meta.items():
        for paths in classes.values():
            for p in paths:
                write_image(str(base / "images" / f"{p}.jpg"), rng, (4, 3 + len(p) % 4))
        os.makedirs(base / "meta", exist_ok=True)
        with open(base / "meta" / f"{split}.json", "w") as f:
            json.dump(classes, f)


def test_food101_matches_torchvision_and_downloads(tmp_path, rng):
    _write_food(tmp_path / "build" / "food-101", rng)
    for split in ("train", "test"):
        j, t = JD.Food101(str(tmp_path / "build"), split=split), TD.Food101(str(tmp_path / "build"), split=split)
        same_items(j, t)
        assert j.classes == t.classes == ["apple_pie", "pho", "ramen"] and j.class_to_idx == t.class_to_idx
        assert repr(j) == repr(t)
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.Food101(str(tmp_path / "none"))
    with pytest.raises(ValueError, match="Unknown value 'val' for argument split"):
        JD.Food101(str(tmp_path / "build"), split="val")
    archive = _tar(tmp_path / "food-101.tar.gz", tmp_path / "build" / "food-101", "food-101")
    J = type("Food101", (JD.Food101,), {"_URL": archive.as_uri(), "_MD5": md5(archive)})
    same_items(J(str(tmp_path / "root"), split="test", download=True), t)


# ---------------------------------------------------------------- OxfordIIITPet

def _write_pets(base, rng):
    rows = {"trainval": [("Abyssinian_1", 1, 1, 1), ("great_pyrenees_3", 12, 2, 6), ("Abyssinian_5", 1, 1, 1),
                         ("Bengal_2", 2, 1, 2)],
            "test": [("great_pyrenees_4", 12, 2, 6), ("Bengal_7", 2, 1, 2)]}
    for split, lines in rows.items():
        os.makedirs(base / "annotations" / "trimaps", exist_ok=True)
        with open(base / "annotations" / f"{split}.txt", "w") as f:
            f.writelines(f"{a} {b} {c} {d}\n" for a, b, c, d in lines)
        for image_id, *_ in lines:
            write_image(str(base / "images" / f"{image_id}.jpg"), rng, (6, 5), "L" if "Bengal" in image_id else "RGB")
            trimap = rng.integers(1, 4, (5, 6), dtype=np.uint8)
            from PIL import Image
            Image.fromarray(trimap).save(base / "annotations" / "trimaps" / f"{image_id}.png")


@pytest.mark.parametrize("target_types", ["category", "binary-category", "segmentation",
                                          ["segmentation", "category", "binary-category"], []])
def test_oxford_pet_matches_torchvision(tmp_path, rng, target_types):
    _write_pets(tmp_path / "oxford-iiit-pet", rng)
    for split in ("trainval", "test"):
        j = JD.OxfordIIITPet(str(tmp_path), split=split, target_types=target_types)
        t = TD.OxfordIIITPet(str(tmp_path), split=split, target_types=target_types)
        same_items(j, t)
        assert j.classes == t.classes and j.class_to_idx == t.class_to_idx
        assert j.bin_classes == t.bin_classes and j.bin_class_to_idx == t.bin_class_to_idx
        assert repr(j) == repr(t)
    assert JD.OxfordIIITPet(str(tmp_path)).classes == ["Abyssinian", "Bengal", "Great Pyrenees"]


def test_oxford_pet_transforms_errors_download(tmp_path, rng):
    _write_pets(tmp_path / "build" / "oxford-iiit-pet", rng)

    def both(img, target):
        return np.asarray(img)[:2], (target, "seen")

    j = JD.OxfordIIITPet(str(tmp_path / "build"), target_types="category", transforms=both)
    t = TD.OxfordIIITPet(str(tmp_path / "build"), target_types="category", transforms=both)
    same_value(j[1], t[1])
    flip = lambda v: -1 - v  # noqa: E731
    same_value(JD.OxfordIIITPet(str(tmp_path / "build"), target_transform=flip, transform=np.asarray)[2],
               TD.OxfordIIITPet(str(tmp_path / "build"), target_transform=flip, transform=np.asarray)[2])
    with pytest.raises(ValueError, match="Unknown value 'bbox' for argument target_types"):
        JD.OxfordIIITPet(str(tmp_path / "build"), target_types=["category", "bbox"])
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.OxfordIIITPet(str(tmp_path / "none"))
    base = tmp_path / "build" / "oxford-iiit-pet"
    archives = [_tar(tmp_path / "images.tar.gz", base / "images", "images"),
                _tar(tmp_path / "annotations.tar.gz", base / "annotations", "annotations")]
    J = type("OxfordIIITPet", (JD.OxfordIIITPet,), {"_RESOURCES": tuple((a.as_uri(), md5(a)) for a in archives)})
    same_items(J(str(tmp_path / "root"), split="test", target_types=["category", "segmentation"], download=True),
               TD.OxfordIIITPet(str(tmp_path / "build"), split="test", target_types=["category", "segmentation"]))
