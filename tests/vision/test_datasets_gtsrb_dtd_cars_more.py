"""GTSRB, DTD, EuroSAT, FER2013, Country211, StanfordCars, FGVCAircraft and Imagenette against real
torchvision on the same fake files in the real layouts, and their downloads (file:// URLs)."""
import csv
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

import jtorch.vision.datasets as JD
from ds_oracle import md5, same_items, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _zip(archive, folder, arcname):
    with zipfile.ZipFile(archive, "w") as z:
        for dirpath, _, files in os.walk(folder):
            for name in files:
                full = os.path.join(dirpath, name)
                z.write(full, os.path.join(arcname, os.path.relpath(full, folder)))
    return archive


def _tgz(archive, folder, arcname):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return archive


def _same(j, t):
    same_items(j, t)
    assert repr(j) == repr(t)
    for name in ("classes", "class_to_idx", "samples", "targets"):
        assert getattr(j, name, None) == getattr(t, name, None), name


# ---------------------------------------------------------------- GTSRB

def _write_gtsrb(base, rng):
    for cls in ("00000", "00001", "00004"):
        for k in range(2):
            write_image(str(base / "GTSRB" / "Training" / cls / f"0000{k}_0000{k}.ppm"), rng, (5 + k, 6))
        (base / "GTSRB" / "Training" / cls / f"GT-{cls}.csv").write_text("not an image")
    test_dir = base / "GTSRB" / "Final_Test" / "Images"
    rows = [(f"{k:05d}.ppm", int(c)) for k, c in enumerate(rng.integers(0, 43, 4))]
    for name, _ in rows:
        write_image(str(test_dir / name), rng, (6, 5))
    with open(base / "GT-final_test.csv", "w", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"])
        for name, cls in rows:
            w.writerow([name, 6, 5, 0, 0, 5, 4, cls])


def test_gtsrb_matches_torchvision_and_downloads(tmp_path, rng):
    base = tmp_path / "build" / "gtsrb"
    _write_gtsrb(base, rng)
    for split in ("train", "test"):
        j, t = JD.GTSRB(str(tmp_path / "build"), split=split), TD.GTSRB(str(tmp_path / "build"), split=split)
        _same(j, t)
        assert [s[1] for s in j._samples] == [s[1] for s in t._samples]
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.GTSRB(str(tmp_path / "none"))
    served = tmp_path / "served"
    os.makedirs(served)
    _zip(served / "GTSRB_Final_Test_Images.zip", base / "GTSRB" / "Final_Test", "GTSRB/Final_Test")
    with zipfile.ZipFile(served / "GTSRB_Final_Test_GT.zip", "w") as z:
        z.write(base / "GT-final_test.csv", "GT-final_test.csv")
    resources = dict(JD.GTSRB._RESOURCES, test=[(n, md5(served / n)) for n in ("GTSRB_Final_Test_Images.zip",
                                                                              "GTSRB_Final_Test_GT.zip")])
    J = type("GTSRB", (JD.GTSRB,), {"_RESOURCES": resources, "_BASE_URL": served.as_uri() + "/"})
    same_items(J(str(tmp_path / "root"), split="test", download=True), t)


# ---------------------------------------------------------------- DTD

def _write_dtd(data, rng):
    files = {cls: [f"{cls}_{k:04d}.jpg" for k in range(3)] for cls in ("banded", "zigzagged", "dotted")}
    for cls, names in files.items():
        for name in names:
            write_image(str(data / "images" / cls / name), rng, (5, 4))
    os.makedirs(data / "labels")
    for split in ("train", "val", "test"):
        for partition in (1, 2):
            chosen = [f"{c}/{n}" for c in files for n in files[c] if rng.random() < 0.6] or ["dotted/dotted_0000.jpg"]
            (data / "labels" / f"{split}{partition}.txt").write_text("\n".join(chosen) + "\n")


def test_dtd_matches_torchvision_and_downloads(tmp_path, rng):
    _write_dtd(tmp_path / "build" / "dtd" / "dtd", rng)
    for split in ("train", "val", "test"):
        for partition in (1, 2):
            _same(JD.DTD(str(tmp_path / "build"), split=split, partition=partition),
                  TD.DTD(str(tmp_path / "build"), split=split, partition=partition))
    with pytest.raises(ValueError, match="Parameter 'partition' should be an integer"):
        JD.DTD(str(tmp_path / "build"), partition=1.5)
    with pytest.raises(ValueError, match="Unknown value 'all' for argument split"):
        JD.DTD(str(tmp_path / "build"), split="all")
    archive = _tgz(tmp_path / "dtd-r1.0.1.tar.gz", tmp_path / "build" / "dtd" / "dtd", "dtd")
    J = type("DTD", (JD.DTD,), {"_URL": archive.as_uri(), "_MD5": md5(archive)})
    same_items(J(str(tmp_path / "root"), split="test", partition=2, download=True),
               TD.DTD(str(tmp_path / "build"), split="test", partition=2))


# ---------------------------------------------------------------- EuroSAT, Country211, Imagenette (folders)

def _write_folders(base, rng, classes, ext=".jpg", n=2):
    for cls in classes:
        for k in range(n):
            write_image(str(base / cls / f"{cls}_{k}{ext}"), rng, (4 + k, 5))


def test_eurosat_matches_torchvision_and_downloads(tmp_path, rng):
    _write_folders(tmp_path / "build" / "eurosat" / "2750", rng, ["Forest", "AnnualCrop", "River"])
    j, t = JD.EuroSAT(str(tmp_path / "build")), TD.EuroSAT(str(tmp_path / "build"))
    _same(j, t)
    assert j.root == t.root == str(tmp_path / "build")
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.EuroSAT(str(tmp_path / "none"))
    archive = _zip(tmp_path / "EuroSAT.zip", tmp_path / "build" / "eurosat" / "2750", "2750")
    J = type("EuroSAT", (JD.EuroSAT,), {"_URL": archive.as_uri(), "_MD5": md5(archive)})
    same_items(J(str(tmp_path / "root"), download=True), t)


def test_country211_matches_torchvision_and_downloads(tmp_path, rng):
    for split in ("train", "valid", "test"):
        _write_folders(tmp_path / "build" / "country211" / split, rng, ["AD", "FR", "JP"], n=1 + (split == "train"))
    for split in ("train", "valid", "test"):
        j, t = JD.Country211(str(tmp_path / "build"), split=split), TD.Country211(str(tmp_path / "build"), split=split)
        _same(j, t)
        assert j.root == t.root
    with pytest.raises(ValueError, match="Unknown value 'val' for argument split"):
        JD.Country211(str(tmp_path / "build"), split="val")
    archive = _tgz(tmp_path / "country211.tgz", tmp_path / "build" / "country211", "country211")
    J = type("Country211", (JD.Country211,), {"_URL": archive.as_uri(), "_MD5": md5(archive)})
    same_items(J(str(tmp_path / "root"), split="valid", download=True),
               TD.Country211(str(tmp_path / "build"), split="valid"))


@pytest.mark.parametrize("size,folder", [("full", "imagenette2"), ("160px", "imagenette2-160")])
def test_imagenette_matches_torchvision(tmp_path, rng, size, folder):
    for split in ("train", "val"):
        _write_folders(tmp_path / folder / split, rng, ["n03888257", "n01440764", "n03425413"], ext=".JPEG")
    for split in ("train", "val"):
        j = JD.Imagenette(str(tmp_path), split=split, size=size)
        t = TD.Imagenette(str(tmp_path), split=split, size=size)
        _same(j, t)
        assert j.wnids == t.wnids and j.wnid_to_idx == t.wnid_to_idx and j._samples == t._samples
    assert j.class_to_idx["chute"] == 2 and j.classes[0] == ("tench", "Tinca tinca")
    with pytest.raises(ValueError, match="Unknown value '64px' for argument size"):
        JD.Imagenette(str(tmp_path), size="64px")
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True to download it."):
        JD.Imagenette(str(tmp_path / "none"))


def test_imagenette_download(tmp_path, rng):
    _write_folders(tmp_path / "build" / "imagenette2-320" / "val", rng, ["n02979186", "n03000684"], ext=".JPEG")
    archive = _tgz(tmp_path / "imagenette2-320.tgz", tmp_path / "build" / "imagenette2-320", "imagenette2-320")
    J = type("Imagenette", (JD.Imagenette,), {"_ARCHIVES": {"320px": (archive.as_uri(), md5(archive))}})
    same_items(J(str(tmp_path / "root"), split="val", size="320px", download=True),
               TD.Imagenette(str(tmp_path / "build"), split="val", size="320px"))


# ---------------------------------------------------------------- FER2013

def _fer_rows(rng, n, usages=None, labelled=True):
    rows = []
    for k in range(n):
        row = {}
        if labelled:
            row["emotion"] = str(int(rng.integers(0, 7)))
        row["pixels"] = " ".join(str(int(v)) for v in rng.integers(0, 256, 48 * 48))
        if usages is not None:
            row["Usage"] = usages[k % len(usages)]
        rows.append(row)
    return rows


def _write_csv(path, rows, rename=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rename = rename or {}
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[rename.get(k, k) for k in rows[0]])
        w.writeheader()
        for row in rows:
            w.writerow({rename.get(k, k): v for k, v in row.items()})
    return md5(path)


@pytest.mark.parametrize("layout", ["split", "fer", "icml"])
def test_fer2013_matches_torchvision(tmp_path, rng, layout):
    base = tmp_path / "fer2013"
    resources = dict(JD.FER2013._RESOURCES)
    if layout == "split":
        resources["train"] = ("train.csv", _write_csv(str(base / "train.csv"), _fer_rows(rng, 4)))
        resources["test"] = ("test.csv", _write_csv(str(base / "test.csv"), _fer_rows(rng, 3, labelled=False)))
    else:
        rows = _fer_rows(rng, 7, usages=["Training", "PublicTest", "PrivateTest", "Training"])
        name = "fer2013.csv" if layout == "fer" else "icml_face_data.csv"
        rename = {"pixels": " pixels", "Usage": " Usage"} if layout == "icml" else None
        resources[layout] = (name, _write_csv(str(base / name), rows, rename))
    J, T = (type("FER2013", (b,), {"_RESOURCES": resources}) for b in (JD.FER2013, TD.FER2013))
    for split in ("train", "test"):
        j, t = J(str(tmp_path), split=split), T(str(tmp_path), split=split)
        same_items(j, t)
        assert repr(j) == repr(t)
    if layout == "split":
        assert j[0][1] is None  # the test file has no labels
    with pytest.raises(RuntimeError, match="not found in .* or corrupted. You can download it from"):
        JD.FER2013(str(tmp_path / "none"))


# ---------------------------------------------------------------- StanfordCars, FGVCAircraft

def _write_cars(base, rng, scipy_io):
    names = np.array(["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Audi TT RS Coupe 2012"], dtype=object)
    os.makedirs(base / "devkit")
    scipy_io.savemat(str(base / "devkit" / "cars_meta.mat"), {"class_names": names.reshape(1, -1)})
    for split, mat in (("train", base / "devkit" / "cars_train_annos.mat"),
                       ("test", base / "cars_test_annos_withlabels.mat")):
        fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname"]
        annos = np.zeros((4,), dtype=[(f, "O") for f in fields])
        for k in range(4):
            fname = f"{k + 1:05d}.jpg"
            write_image(str(base / f"cars_{split}" / fname), rng, (6, 4), "L" if k == 2 else "RGB")
            annos[k] = (np.uint8(1), np.uint8(2), np.uint8(5), np.uint8(3), np.uint8(rng.integers(1, 4)), fname)
        scipy_io.savemat(str(mat), {"annotations": annos.reshape(1, -1)})


def test_stanford_cars_matches_torchvision(tmp_path, rng):
    scipy_io = pytest.importorskip("scipy.io")
    _write_cars(tmp_path / "stanford_cars", rng, scipy_io)
    for split in ("train", "test"):
        j, t = JD.StanfordCars(str(tmp_path), split=split), TD.StanfordCars(str(tmp_path), split=split)
        _same(j, t)
        assert j._samples == t._samples
    assert j.classes[1] == "Acura RL Sedan 2012"
    with pytest.raises(ValueError, match="cannot be downloaded anymore"):
        JD.StanfordCars(str(tmp_path), download=True)
    with pytest.raises(RuntimeError, match="Dataset not found."):
        JD.StanfordCars(str(tmp_path / "none"))


def _write_aircraft(data, rng):
    levels = {"variant": ["707-320", "A300B4", "Cessna 172"], "family": ["Boeing 707", "A300", "Cessna 172"],
              "manufacturer": ["Boeing", "Airbus", "Cessna"]}
    files = {"variant": "variants.txt", "family": "families.txt", "manufacturer": "manufacturers.txt"}
    ids = [f"{1000000 + 17 * k:07d}" for k in range(5)]
    for image_id in ids:
        write_image(str(data / "images" / f"{image_id}.jpg"), rng, (7, 5))
    for level, classes in levels.items():
        (data / files[level]).write_text("\n".join(classes) + "\n")
        for split in ("train", "val", "trainval", "test"):
            chosen = [i for i in ids if rng.random() < 0.7] or ids[:1]
            (data / f"images_{level}_{split}.txt").write_text(
                "".join(f"{i} {classes[int(rng.integers(0, 3))]}\n" for i in chosen))


def test_fgvc_aircraft_matches_torchvision_and_downloads(tmp_path, rng):
    _write_aircraft(tmp_path / "build" / "fgvc-aircraft-2013b" / "data", rng)
    for level in ("variant", "family", "manufacturer"):
        for split in ("train", "val", "trainval", "test"):
            _same(JD.FGVCAircraft(str(tmp_path / "build"), split=split, annotation_level=level),
                  TD.FGVCAircraft(str(tmp_path / "build"), split=split, annotation_level=level))
    with pytest.raises(ValueError, match="Unknown value 'model' for argument annotation_level"):
        JD.FGVCAircraft(str(tmp_path / "build"), annotation_level="model")
    archive = _tgz(tmp_path / "fgvc-aircraft-2013b.tar.gz", tmp_path / "build" / "fgvc-aircraft-2013b",
                   "fgvc-aircraft-2013b")
    J = type("FGVCAircraft", (JD.FGVCAircraft,), {"_URL": archive.as_uri()})
    same_items(J(str(tmp_path / "root"), split="test", annotation_level="family", download=True),
               TD.FGVCAircraft(str(tmp_path / "build"), split="test", annotation_level="family"))
    shutil.rmtree(tmp_path / "root")
