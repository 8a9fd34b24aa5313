"""Cityscapes, SBDataset, INaturalist, CLEVRClassification and RenderedSST2 against real
torchvision on the same fake files in the real layouts, and their download/unpack paths."""
import json
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

import jtorch.vision.datasets as JD
import jtorch.vision.datasets.inaturalist as j_inat
from ds_oracle import md5, same_items, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _zip_dirs(archive, base, folders):
    with zipfile.ZipFile(archive, "w") as z:
        for folder in folders:
            for dirpath, _, files in os.walk(base / folder):
                for f in files:
                    full = os.path.join(dirpath, f)
                    z.write(full, os.path.relpath(full, base))
    return archive


def _tgz(archive, folder, arcname):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return archive


# ---------------------------------------------------------------- Cityscapes

def _write_cityscapes(root, rng):
    layout = {("gtFine", "train"): {"aachen": 2, "bochum": 1}, ("gtFine", "val"): {"lindau": 1},
              ("gtCoarse", "train_extra"): {"augsburg": 2}}
    for (mode, split), cities in layout.items():
        for city, n in cities.items():
            for k in range(n):
                stem = f"{city}_{k:06d}_000019"
                write_image(str(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"), rng, (8, 4))
                target_dir = root / mode / split / city
                os.makedirs(target_dir, exist_ok=True)
                Image.fromarray(rng.integers(0, 34, (4, 8), dtype=np.uint8)).save(
                    target_dir / f"{stem}_{mode}_labelIds.png")
                Image.fromarray(rng.integers(0, 30000, (4, 8)).astype(np.uint16)).save(  # 16-bit PNG
                    target_dir / f"{stem}_{mode}_instanceIds.png")
                write_image(str(target_dir / f"{stem}_{mode}_color.png"), rng, (8, 4))
                (target_dir / f"{stem}_{mode}_polygons.json").write_text(json.dumps(
                    {"imgHeight": 4, "imgWidth": 8, "objects": [{"label": "road", "polygon": [[0, 0], [k, 3]]}]}))


@pytest.mark.parametrize("split,mode", [("train", "fine"), ("val", "fine"), ("train_extra", "coarse")])
def test_cityscapes_matches_torchvision(tmp_path, rng, split, mode):
    _write_cityscapes(tmp_path, rng)
    for target_type in ("instance", "semantic", "color", "polygon", ["semantic", "polygon", "instance"]):
        j = JD.Cityscapes(str(tmp_path), split=split, mode=mode, target_type=target_type)
        t = TD.Cityscapes(str(tmp_path), split=split, mode=mode, target_type=target_type)
        same_items(j, t)
        assert j.images == t.images and j.targets == t.targets and repr(j) == repr(t)
    assert JD.Cityscapes.classes == TD.Cityscapes.classes
    assert JD.Cityscapes(str(tmp_path), split=split, mode=mode)[0][1].mode.startswith("I")  # 16-bit instance ids


def test_cityscapes_errors_and_zips(tmp_path, rng):
    _write_cityscapes(tmp_path / "build", rng)
    with pytest.raises(ValueError, match="Unknown value 'train_extra' for argument split if mode is 'fine'"):
        JD.Cityscapes(str(tmp_path / "build"), split="train_extra")
    with pytest.raises(ValueError, match="Unknown value 'medium' for argument mode"):
        JD.Cityscapes(str(tmp_path / "build"), mode="medium")
    with pytest.raises(ValueError, match="Unknown value 'depth' for argument target_type"):
        JD.Cityscapes(str(tmp_path / "build"), target_type=["semantic", "depth"])
    with pytest.raises(RuntimeError, match="Dataset not found or incomplete"):
        JD.Cityscapes(str(tmp_path / "none"))
    # the official zips in root are unpacked when the folders are missing
    os.makedirs(tmp_path / "root")
    _zip_dirs(tmp_path / "root" / "leftImg8bit_trainvaltest.zip", tmp_path / "build", ["leftImg8bit/train"])
    _zip_dirs(tmp_path / "root" / "gtFine_trainvaltest.zip", tmp_path / "build", ["gtFine"])
    j = JD.Cityscapes(str(tmp_path / "root"), target_type="semantic")
    t = TD.Cityscapes(str(tmp_path / "build"), target_type="semantic")
    assert sorted(os.path.relpath(p, tmp_path / "root") for p in j.images) == \
        sorted(os.path.relpath(p, tmp_path / "build") for p in t.images)


# ---------------------------------------------------------------- SBDataset

def _write_sbd(root, rng, scipy_io, scipy_sparse):
    ids = ["2008_000002", "2008_000003", "2008_000007"]
    for sub in ("img", "cls", "inst"):
        os.makedirs(root / sub)
    for image_id in ids:
        write_image(str(root / "img" / f"{image_id}.jpg"), rng, (7, 5), "L" if image_id.endswith("3") else "RGB")
        boundaries = np.empty((20, 1), dtype=object)
        for c in range(20):
            boundaries[c, 0] = scipy_sparse.csc_matrix((rng.random((5, 7)) < 0.2).astype(np.uint8))
        gtcls = np.zeros((1, 1), dtype=[("Boundaries", "O"), ("Segmentation", "O"), ("CategoriesPresent", "O")])
        gtcls[0, 0] = (boundaries, rng.integers(0, 21, (5, 7)).astype(np.uint8), np.array([[1], [15]], np.uint8))
        scipy_io.savemat(str(root / "cls" / f"{image_id}.mat"), {"GTcls": gtcls})
    (root / "train.txt").write_text("\n".join(ids[:2]) + "\n")
    (root / "val.txt").write_text(ids[2] + "\n")
    (root / "train_noval.txt").write_text(ids[0] + "\n")


@pytest.mark.parametrize("mode", ["segmentation", "boundaries"])
def test_sbd_matches_torchvision(tmp_path, rng, mode):
    scipy_io = pytest.importorskip("scipy.io")
    _write_sbd(tmp_path, rng, scipy_io, pytest.importorskip("scipy.sparse"))
    for image_set in ("train", "val", "train_noval"):
        j = JD.SBDataset(str(tmp_path), image_set=image_set, mode=mode)
        t = TD.SBDataset(str(tmp_path), image_set=image_set, mode=mode)
        same_items(j, t)
        assert j.images == t.images and j.masks == t.masks and repr(j) == repr(t)
    if mode == "boundaries":
        assert j[0][1].shape == (20, 5, 7)
    with pytest.raises(ValueError, match="Unknown value 'test' for argument image_set"):
        JD.SBDataset(str(tmp_path), image_set="test")


def test_sbd_download(tmp_path, rng):
    scipy_io = pytest.importorskip("scipy.io")
    build = tmp_path / "build" / "benchmark_RELEASE" / "dataset"
    _write_sbd(build, rng, scipy_io, pytest.importorskip("scipy.sparse"))
    noval = tmp_path / "train_noval.txt"
    shutil.move(str(build / "train_noval.txt"), noval)
    archive = _tgz(tmp_path / "benchmark.tgz", tmp_path / "build" / "benchmark_RELEASE", "benchmark_RELEASE")
    J = type("SBDataset", (JD.SBDataset,), {"url": archive.as_uri(), "md5": md5(archive),
                                            "voc_train_url": noval.as_uri(), "voc_split_md5": md5(noval)})
    j = J(str(tmp_path / "root"), image_set="train_noval", mode="segmentation", download=True)
    shutil.copy(noval, build / "train_noval.txt")
    same_items(j, TD.SBDataset(str(build), image_set="train_noval", mode="segmentation"))


# ---------------------------------------------------------------- INaturalist

_SPECIES = ["Animalia_Chordata_Aves_Passeriformes_Corvidae_Corvus_corax",
            "Animalia_Chordata_Aves_Passeriformes_Corvidae_Pica_pica",
            "Plantae_Tracheophyta_Magnoliopsida_Rosales_Rosaceae_Rosa_canina"]


def _write_inat2021(root, rng):
    for k, species in enumerate(_SPECIES):
        for m in range(2):
            write_image(str(root / f"{k:05d}_{species}" / f"{m}a{k}.jpg"), rng, (5, 6), "L" if m else "RGB")


def test_inaturalist_2021_matches_torchvision(tmp_path, rng):
    _write_inat2021(tmp_path / "2021_valid", rng)
    for target_type in ("full", "genus", ["kingdom", "family", "full"]):
        j = JD.INaturalist(str(tmp_path), version="2021_valid", target_type=target_type)
        t = TD.INaturalist(str(tmp_path), version="2021_valid", target_type=target_type)
        same_items(j, t)
        assert j.index == t.index and j.categories_index == t.categories_index and repr(j) == repr(t)
        assert j.categories_map == t.categories_map and j.all_categories == t.all_categories
    for kind, cid in (("full", 1), ("genus", 1), ("kingdom", 1)):
        assert j.category_name(kind, cid) == t.category_name(kind, cid)
    with pytest.raises(ValueError, match="Invalid category type 'species'"):
        j.category_name("species", 0)
    with pytest.raises(ValueError, match="Unknown value 'super' for argument target_type"):
        JD.INaturalist(str(tmp_path), version="2021_valid", target_type="super")
    with pytest.raises(ValueError, match="Unknown value '2020' for argument version"):
        JD.INaturalist(str(tmp_path), version="2020")


@pytest.mark.parametrize("version", ["2017", "2019"])
def test_inaturalist_pre2021_matches_torchvision(tmp_path, rng, version):
    folders = {"Birds": ["2", "0"], "Plants": ["1"]} if version == "2019" else {"Birds": ["Corvus corax", "Pica pica"],
                                                                               "Plants": ["Rosa canina"]}
    for sup, subs in folders.items():
        for sub in subs:
            write_image(str(tmp_path / version / sup / sub / "img.jpg"), rng, (4, 4))
    for target_type in ("full", ["super", "full"]):
        j = JD.INaturalist(str(tmp_path), version=version, target_type=target_type)
        t = TD.INaturalist(str(tmp_path), version=version, target_type=target_type)
        same_items(j, t)
        assert j.all_categories == t.all_categories and j.categories_map == t.categories_map


def test_inaturalist_download(tmp_path, rng, monkeypatch):
    _write_inat2021(tmp_path / "build" / "val", rng)
    archive = _tgz(tmp_path / "val.tar.gz", tmp_path / "build" / "val", "val")
    monkeypatch.setitem(j_inat.DATASET_URLS, "2021_valid", archive.as_uri())
    monkeypatch.setitem(j_inat.DATASET_MD5, "2021_valid", md5(archive))
    j = JD.INaturalist(str(tmp_path / "root"), version="2021_valid", download=True)
    assert os.path.isdir(tmp_path / "root" / "2021_valid") and not os.path.exists(tmp_path / "root" / "val")
    shutil.move(str(tmp_path / "build" / "val"), str(tmp_path / "build" / "2021_valid"))
    t = TD.INaturalist(str(tmp_path / "build"), version="2021_valid")
    assert sorted(j.index) == sorted(t.index) and len(j) == 6


# ---------------------------------------------------------------- CLEVR, RenderedSST2

def test_clevr_matches_torchvision_and_downloads(tmp_path, rng):
    data = tmp_path / "build" / "clevr" / "CLEVR_v1.0"
    for split, n in (("train", 3), ("val", 2), ("test", 2)):
        names = [f"CLEVR_{split}_{k:06d}.png" for k in range(n)]
        for name in reversed(names):
            write_image(str(data / "images" / split / name), rng, (6, 4))
        if split != "test":
            os.makedirs(data / "scenes", exist_ok=True)
            scenes = [{"image_filename": name, "objects": [{"shape": "cube"}] * int(rng.integers(3, 10))}
                      for name in names]
            (data / "scenes" / f"CLEVR_{split}_scenes.json").write_text(json.dumps({"scenes": scenes}))
    for split in ("train", "val", "test"):
        j = JD.CLEVRClassification(str(tmp_path / "build"), split=split)
        t = TD.CLEVRClassification(str(tmp_path / "build"), split=split)
        same_items(j, t)
        assert repr(j) == repr(t)
    assert j[0][1] is None
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        JD.CLEVRClassification(str(tmp_path / "none"))
    archive = _zip_dirs(tmp_path / "CLEVR_v1.0.zip", tmp_path / "build" / "clevr", ["CLEVR_v1.0"])
    J = type("CLEVRClassification", (JD.CLEVRClassification,), {"_URL": archive.as_uri(), "_MD5": md5(archive)})
    same_items(J(str(tmp_path / "root"), split="val", download=True),
               TD.CLEVRClassification(str(tmp_path / "build"), split="val"))


def test_rendered_sst2_matches_torchvision_and_downloads(tmp_path, rng):
    base = tmp_path / "build" / "rendered-sst2"
    for folder in ("train", "valid", "test"):
        for cls in ("negative", "positive"):
            for k in range(2):
                write_image(str(base / folder / cls / f"{k}{cls[0]}.png"), rng, (9, 3))
    for split in ("train", "val", "test"):
        j = JD.RenderedSST2(str(tmp_path / "build"), split=split)
        t = TD.RenderedSST2(str(tmp_path / "build"), split=split)
        same_items(j, t)
        assert j._samples == t._samples and j.classes == t.classes and repr(j) == repr(t)
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.RenderedSST2(str(tmp_path / "none"))
    archive = _tgz(tmp_path / "rendered-sst2.tgz", base, "rendered-sst2")
    J = type("RenderedSST2", (JD.RenderedSST2,), {"_URL": archive.as_uri(), "_MD5": md5(archive)})
    same_items(J(str(tmp_path / "root"), split="test", download=True),
               TD.RenderedSST2(str(tmp_path / "build"), split="test"))
