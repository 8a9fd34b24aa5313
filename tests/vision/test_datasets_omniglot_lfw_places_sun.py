"""Omniglot, LFWPeople/LFWPairs, SUN397, Places365 and MovingMNIST against real torchvision on
the same fake files in the real layouts, and their downloads (file:// URLs)."""
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


# ---------------------------------------------------------------- Omniglot

def _write_omniglot(base, rng, name):
    for alphabet, n_chars in (("Latin", 2), ("Greek", 3)):
        for c in range(n_chars):
            for k in range(2):
                write_image(str(base / name / alphabet / f"character{c + 1:02d}" / f"{c:04d}_{k + 1:02d}.png"), rng,
                            (6, 6), "L" if k else "RGB")
    archive = base / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for dirpath, _, files in os.walk(base / name):
            for f in files:
                z.write(os.path.join(dirpath, f), os.path.relpath(os.path.join(dirpath, f), base))
    return md5(archive)


@pytest.mark.parametrize("background", [True, False])
def test_omniglot_matches_torchvision(tmp_path, rng, background):
    name = "images_background" if background else "images_evaluation"
    sums = dict(JD.Omniglot.zips_md5, **{name: _write_omniglot(tmp_path / "omniglot-py", rng, name)})
    J, T = (type("Omniglot", (b,), {"zips_md5": sums}) for b in (JD.Omniglot, TD.Omniglot))
    j, t = J(str(tmp_path), background=background), T(str(tmp_path), background=background)
    same_items(j, t)
    assert j._characters == t._characters and j._flat_character_images == t._flat_character_images
    assert repr(j) == repr(t) and j[0][0].mode == "L" and len(j) == 10
    loader = lambda p: os.path.basename(p)  # noqa: E731
    assert J(str(tmp_path), background=background, loader=loader)[3] == \
        T(str(tmp_path), background=background, loader=loader)[3]
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        J(str(tmp_path), background=not background)


def test_omniglot_download(tmp_path, rng):
    sums = dict(JD.Omniglot.zips_md5, images_evaluation=_write_omniglot(tmp_path / "served", rng, "images_evaluation"))
    J = type("Omniglot", (JD.Omniglot,), {"zips_md5": sums, "download_url_prefix": (tmp_path / "served").as_uri()})
    j = J(str(tmp_path / "root"), background=False, download=True)
    shutil.copytree(tmp_path / "served", tmp_path / "ref" / "omniglot-py")
    t = type("Omniglot", (TD.Omniglot,), {"zips_md5": sums})(str(tmp_path / "ref"), background=False)
    assert sorted(j._flat_character_images) == sorted(t._flat_character_images) and len(j) == len(t)


# ---------------------------------------------------------------- LFW

_PEOPLE = {"Aaron_Peirsol": 2, "Abel_Pacheco": 1, "Zico": 3, "Ana_Guevara": 2}


def _write_lfw(base, rng):
    for name, n in _PEOPLE.items():
        for k in range(1, n + 1):
            write_image(str(base / "lfw_funneled" / name / f"{name}_{k:04d}.jpg"), rng, (5, 6))
    with tarfile.open(base / "lfw-funneled.tgz", "w:gz") as tar:
        tar.add(base / "lfw_funneled", arcname="lfw_funneled")
    names = list(_PEOPLE)
    (base / "lfw-names.txt").write_text("".join(f"{n}\t{c}\n" for n, c in sorted(_PEOPLE.items())))
    (base / "people.txt").write_text(f"2\n2\n{names[0]}\t2\n{names[1]}\t1\n2\n{names[2]}\t3\n{names[3]}\t2\n")
    (base / "peopleDevTrain.txt").write_text(f"2\n{names[2]}\t3\n{names[0]}\t1\n")
    (base / "peopleDevTest.txt").write_text(f"1\n{names[3]}\t2\n")
    matched = [f"{names[0]}\t1\t2\n", f"{names[2]}\t1\t3\n"]
    mismatched = [f"{names[0]}\t2\t{names[1]}\t1\n", f"{names[3]}\t1\t{names[2]}\t2\n"]
    (base / "pairs.txt").write_text("2\t1\n" + matched[0] + mismatched[0] + matched[1] + mismatched[1])
    (base / "pairsDevTrain.txt").write_text("2\n" + "".join(matched) + "".join(mismatched))
    (base / "pairsDevTest.txt").write_text("1\n" + matched[1] + mismatched[0])
    archive = ("lfw_funneled", "lfw-funneled.tgz", md5(base / "lfw-funneled.tgz"))
    file_dict = dict(JD.LFWPeople.file_dict, funneled=archive)
    checksums = {name: md5(base / name) for name in JD.LFWPeople.checksums}
    return {"file_dict": file_dict, "checksums": checksums}


@pytest.mark.parametrize("split", ["10fold", "train", "test", "Train"])
def test_lfw_matches_torchvision(tmp_path, rng, split):
    attrs = _write_lfw(tmp_path / "lfw-py", rng)
    for name in ("LFWPeople", "LFWPairs"):
        J, T = (type(name, (b,), attrs) for b in (getattr(JD, name), getattr(TD, name)))
        j, t = J(str(tmp_path), split=split), T(str(tmp_path), split=split)
        same_items(j, t)
        assert j.data == t.data and j.targets == t.targets and repr(j) == repr(t)
        if name == "LFWPairs":
            assert j.pair_names == t.pair_names
        else:
            assert j.class_to_idx == t.class_to_idx
    with pytest.raises(ValueError, match="Unknown value 'val' for argument split"):
        J(str(tmp_path), split="val")
    with pytest.raises(ValueError, match="Unknown value 'aligned' for argument image_set"):
        J(str(tmp_path), image_set="aligned")
    with pytest.raises(ValueError, match="no longer available for automatic download"):
        J(str(tmp_path), download=True)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        J(str(tmp_path), image_set="original")  # that archive is not there


# ---------------------------------------------------------------- SUN397

def test_sun397_matches_torchvision_and_downloads(tmp_path, rng):
    data = tmp_path / "build" / "SUN397"
    os.makedirs(data)
    (data / "ClassName.txt").write_text("/a/abbey\n/b/bakery/shop\n/c/canyon\n")
    for rel in ("a/abbey/sun_aaa.jpg", "a/abbey/sun_abb.jpg", "b/bakery/shop/sun_xyz.jpg", "c/canyon/sun_q.jpg"):
        write_image(str(data / rel), rng, (5, 4))
    write_image(str(data / "c" / "canyon" / "other.jpg"), rng, (5, 4))  # not a sun_*.jpg
    j, t = JD.SUN397(str(tmp_path / "build")), TD.SUN397(str(tmp_path / "build"))
    same_items(j, t)
    assert j.classes == t.classes == ["abbey", "bakery/shop", "canyon"] and j.class_to_idx == t.class_to_idx
    assert j._image_files == t._image_files and repr(j) == repr(t) and len(j) == 4
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.SUN397(str(tmp_path / "none"))
    archive = tmp_path / "SUN397.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(data, arcname="SUN397")
    J = type("SUN397", (JD.SUN397,), {"_DATASET_URL": archive.as_uri(), "_DATASET_MD5": md5(archive)})
    j2 = J(str(tmp_path / "root"), download=True)
    assert sorted(zip(map(str, j2._image_files), j2._labels)) == \
        sorted((str(p).replace(str(tmp_path / "build"), str(tmp_path / "root")), y) for p, y in zip(j._image_files,
                                                                                                   j._labels))


# ---------------------------------------------------------------- Places365

def _write_places(root, rng):
    (root / "categories_places365.txt").write_text("/a/airfield 0\n/b/bar 2\n/a/alley 1\n")
    lists = {"places365_train_standard.txt":
             "/a/airfield/00000001.jpg 0\n/b/bar/00000002.jpg 2\n/a/alley/00000003.jpg 1\n",
             "places365_train_challenge.txt": "/a/alley/00000004.jpg 1\n",
             "places365_val.txt": "Places365_val_00000001.jpg 2\nPlaces365_val_00000002.jpg 0\n",
             "places365_test.txt": "Places365_test_00000001.jpg\n"}
    for name, text in lists.items():
        (root / name).write_text(text)
    for size in ("large", "256"):
        for rel in ("a/airfield/00000001.jpg", "b/bar/00000002.jpg", "a/alley/00000003.jpg"):
            write_image(str(root / f"data_{size}_standard" / rel), rng, (6, 5))
        write_image(str(root / f"data_{size}_challenge" / "a/alley/00000004.jpg"), rng, (6, 5))
        for k in (1, 2):
            write_image(str(root / f"val_{size}" / f"Places365_val_{k:08d}.jpg"), rng, (6, 5))
        write_image(str(root / f"test_{size}" / "Places365_test_00000001.jpg"), rng, (6, 5))
    return {"_CATEGORIES_META": ("categories_places365.txt", md5(root / "categories_places365.txt")),
            "_FILE_LIST_META": {split: (name, md5(root / name)) for split, (name, _) in
                                JD.Places365._FILE_LIST_META.items()}}


def test_places365_matches_torchvision(tmp_path, rng):
    attrs = _write_places(tmp_path, rng)
    J, T = (type("Places365", (b,), attrs) for b in (JD.Places365, TD.Places365))
    for split in ("train-standard", "train-challenge", "val", "test"):
        for small in (False, True):
            j, t = J(str(tmp_path), split=split, small=small), T(str(tmp_path), split=split, small=small)
            same_items(j, t)
            assert j.imgs == t.imgs and j.targets == t.targets and repr(j) == repr(t)
            assert j.classes == t.classes and j.class_to_idx == t.class_to_idx
    assert j.classes == ["/a/airfield", "/a/alley", "/b/bar"] and j.targets == [None]
    with pytest.raises(ValueError, match="Unknown value 'train' for argument split"):
        J(str(tmp_path), split="train")
    with pytest.raises(RuntimeError, match="categories_places365.txt does not exist or is corrupted"):
        JD.Places365(str(tmp_path))


def test_places365_download(tmp_path, rng):
    build = tmp_path / "build"
    os.makedirs(build)
    attrs = _write_places(build, rng)
    served = tmp_path / "served"
    os.makedirs(served)
    with tarfile.open(served / "filelist_places365-standard.tar", "w") as tar:
        for name in ("categories_places365.txt", "places365_train_standard.txt", "places365_val.txt",
                     "places365_test.txt"):
            tar.add(build / name, arcname=name)
    with tarfile.open(served / "train_256_places365standard.tar", "w") as tar:
        tar.add(build / "data_256_standard", arcname="data_256")  # renamed after the variant on unpacking
    devkit = dict(JD.Places365._DEVKIT_META, standard=("filelist_places365-standard.tar",
                                                       md5(served / "filelist_places365-standard.tar")))
    images = dict(JD.Places365._IMAGES_META)
    name = "train_256_places365standard.tar"
    images["train-standard", True] = (name, md5(served / name))
    J = type("Places365", (JD.Places365,), dict(attrs, _DEVKIT_META=devkit, _IMAGES_META=images,
                                                 _BASE_URL=served.as_uri() + "/"))
    j = J(str(tmp_path / "root"), split="train-standard", small=True, download=True)
    assert os.path.isdir(tmp_path / "root" / "data_256_standard")
    same_items(j, type("Places365", (TD.Places365,), attrs)(str(build), split="train-standard", small=True))


# ---------------------------------------------------------------- MovingMNIST

@pytest.mark.parametrize("split,ratio", [(None, 10), ("train", 10), ("test", 3), ("train", 19)])
def test_moving_mnist_matches_torchvision(tmp_path, rng, split, ratio):
    os.makedirs(tmp_path / "MovingMNIST")
    np.save(tmp_path / "MovingMNIST" / "mnist_test_seq.npy", rng.integers(0, 256, (20, 3, 64, 64), dtype=np.uint8))
    j, t = JD.MovingMNIST(str(tmp_path), split=split, split_ratio=ratio), \
        TD.MovingMNIST(str(tmp_path), split=split, split_ratio=ratio)
    assert len(j) == len(t) == 3
    same_value(j.data, t.data)
    for k in range(3):
        same_value(j[k], t[k])
    assert repr(j) == repr(t)
    flip = lambda x: x.flip(-1)  # noqa: E731 -- a tensor transform, run by each library on its own tensor
    same_value(JD.MovingMNIST(str(tmp_path), transform=flip)[1], TD.MovingMNIST(str(tmp_path), transform=flip)[1])


def test_moving_mnist_errors_and_download(tmp_path, rng):
    for kwargs, exc, msg in ((dict(split="val"), ValueError, "Unknown value 'val' for argument split"),
                             (dict(split_ratio=2.0), TypeError, "should be an integer"),
                             (dict(split_ratio=20), ValueError, "should be `1 <= split_ratio <= 19`")):
        with pytest.raises(exc, match=msg):
            JD.MovingMNIST(str(tmp_path), **kwargs)
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        JD.MovingMNIST(str(tmp_path))
    frames = rng.integers(0, 256, (20, 2, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", frames)
    J = type("MovingMNIST", (JD.MovingMNIST,), {"_URL": (tmp_path / "mnist_test_seq.npy").as_uri(),
                                                "_MD5": md5(tmp_path / "mnist_test_seq.npy")})
    ds = J(str(tmp_path / "root"), download=True)
    assert os.path.isfile(tmp_path / "root" / "MovingMNIST" / "mnist_test_seq.npy")
    np.testing.assert_array_equal(ds[1].numpy()[:, 0], frames[:, 1])
