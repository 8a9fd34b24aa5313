"""Stereo matching datasets against real torchvision on the same fake files in each dataset's
layout (images, PFM / 16-bit PNG / RGB-encoded disparities, masks, camera settings)."""
import json
import os
import random

import numpy as np
import pytest
from PIL import Image

import jtorch.vision.datasets as JD
from ds_oracle import same_items, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _pfm(path, rng, h=4, w=6, inf_at=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = rng.standard_normal((h, w)).astype("<f4") * 30
    if inf_at is not None:
        data[inf_at] = np.inf
    with open(path, "wb") as f:
        f.write(b"Pf\n" + f"{w} {h}\n".encode() + b"-1.0\n" + data[::-1].tobytes())


def _png(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _img(path, rng, mode="RGB"):
    write_image(str(path), rng, (6, 4), mode)


def _compare(name, root, **kwargs):
    j, t = getattr(JD, name)(str(root), **kwargs), getattr(TD, name)(str(root), **kwargs)
    assert j._images == t._images and j._disparities == t._disparities and len(j) > 0
    same_items(j, t)
    assert repr(j) == repr(t)
    return j, t


def test_carla_and_sceneflow(tmp_path, rng):
    for scene in ("s1", "s2"):
        base = tmp_path / "carla-highres" / "trainingF" / scene
        _img(base / "im0.png", rng)
        _img(base / "im1.png", rng, "L")  # converted to RGB
        _pfm(str(base / "disp0GT.pfm"), rng)
        _pfm(str(base / "disp1GT.pfm"), rng)
    _compare("CarlaStereo", tmp_path)
    for variant, levels in (("Monkaa", ["a_rain"]), ("FlyingThings3D", ["TRAIN", "A", "0001"])):
        for p in ("frames_cleanpass", "frames_finalpass", "disparity"):
            for cam in ("left", "right"):
                for k in range(2):
                    folder = tmp_path / "SceneFlow" / variant / p / os.path.join(*levels) / cam
                    if p == "disparity":
                        _pfm(str(folder / f"{k:04d}.pfm"), rng)
                    else:
                        _img(folder / f"{k:04d}.png", rng)
        for pass_name in ("clean", "both"):
            _compare("SceneFlowStereo", tmp_path, variant=variant, pass_name=pass_name)
    with pytest.raises(FileNotFoundError, match="Could not find any files matching the patterns"):
        JD.SceneFlowStereo(str(tmp_path), variant="Driving")
    with pytest.raises(ValueError, match="Unknown value 'KITTI' for argument variant"):
        JD.SceneFlowStereo(str(tmp_path), variant="KITTI")


def test_kitti_stereo(tmp_path, rng):
    for split in ("training", "testing"):
        for k in range(2):
            _img(tmp_path / "Kitti2012" / split / "colored_0" / f"{k:06d}_10.png", rng)
            _img(tmp_path / "Kitti2012" / split / "colored_1" / f"{k:06d}_10.png", rng)
            _img(tmp_path / "Kitti2015" / split / "image_2" / f"{k:06d}_10.png", rng)
            _img(tmp_path / "Kitti2015" / split / "image_3" / f"{k:06d}_10.png", rng)
            if split == "training":
                disp = lambda: rng.integers(0, 2 ** 16, (4, 6)).astype(np.uint16)  # noqa: E731
                _png(tmp_path / "Kitti2012" / split / "disp_noc" / f"{k:06d}_10.png", disp())
                _png(tmp_path / "Kitti2015" / split / "disp_occ_0" / f"{k:06d}_10.png", disp())
                _png(tmp_path / "Kitti2015" / split / "disp_occ_1" / f"{k:06d}_10.png", disp())
    for name in ("Kitti2012Stereo", "Kitti2015Stereo"):
        for split in ("train", "test"):
            j, _ = _compare(name, tmp_path, split=split)
            assert len(j[0]) == 4 and j[0][3] is None  # a 4th item, but no mask in these files
        assert j[0][2] is None  # test: no disparity
    assert JD.Kitti2012Stereo(str(tmp_path))[1][2].shape == (1, 4, 6)


def test_middlebury(tmp_path, rng):
    base = tmp_path / "Middlebury2014"
    for scene in ("Adirondack-perfect", "Adirondack-imperfect", "Piano-perfect"):
        for name in ("im0.png", "im1.png", "im1E.png"):
            _img(base / "train" / scene / name, rng)
        _pfm(str(base / "train" / scene / "disp0.pfm"), rng, inf_at=(1, 2))
        _pfm(str(base / "train" / scene / "disp1.pfm"), rng)
    for scene in ("Plants", "Australia"):
        _img(base / "test" / scene / "im0.png", rng)
        _img(base / "test" / scene / "im1.png", rng)
    for calibration in ("perfect", "imperfect", "both"):
        _compare("Middlebury2014Stereo", tmp_path, calibration=calibration)
    _compare("Middlebury2014Stereo", tmp_path, split="test", calibration=None)
    j = JD.Middlebury2014Stereo(str(tmp_path), use_ambient_views=True)
    t = TD.Middlebury2014Stereo(str(tmp_path), use_ambient_views=True)
    for k in range(len(j)):  # the ambient view is drawn with Python's random: same seed, same view
        random.seed(k)
        jj = j[k]
        random.seed(k)
        tt = t[k]
        assert jj[1].tobytes() == tt[1].tobytes()
    assert not j[0][3][1, 2]  # inf disparity -> 0 -> not valid
    with pytest.raises(ValueError, match="Split 'test' has only no calibration settings"):
        JD.Middlebury2014Stereo(str(tmp_path), split="test")
    with pytest.raises(ValueError, match="Split 'train' has calibration settings, however None"):
        JD.Middlebury2014Stereo(str(tmp_path), calibration=None)
    with pytest.raises(FileNotFoundError, match="The additional directory was not found"):
        JD.Middlebury2014Stereo(str(tmp_path), split="additional")


def test_middlebury_download(tmp_path, rng):
    import zipfile

    served = tmp_path / "served"
    os.makedirs(served)
    for calibration in ("perfect", "imperfect"):
        scene = f"Backpack-{calibration}"
        with zipfile.ZipFile(served / f"{scene}.zip", "w") as z:
            for name in ("im0.png", "im1.png"):
                _img(tmp_path / "tmp" / name, rng)
                z.write(tmp_path / "tmp" / name, f"{scene}/{name}")
            for name in ("disp0.pfm", "disp1.pfm"):
                _pfm(str(tmp_path / "tmp" / name), rng)
                z.write(tmp_path / "tmp" / name, f"{scene}/{name}")
    J = type("Middlebury2014Stereo", (JD.Middlebury2014Stereo,),
             {"_SCENES_URL": served.as_uri(), "splits": dict(JD.Middlebury2014Stereo.splits, additional=["Backpack"])})
    j = J(str(tmp_path / "root"), split="additional", calibration="both", download=True)
    assert len(j) == 2  # the zips are removed once unpacked
    assert not os.path.exists(tmp_path / "root" / "Middlebury2014" / "additional" / "Backpack-perfect.zip")
    T = type("Middlebury2014Stereo", (TD.Middlebury2014Stereo,),
             {"splits": dict(JD.Middlebury2014Stereo.splits, additional=["Backpack"])})
    same_items(j, T(str(tmp_path / "root"), split="additional", calibration="both"))


def test_crestereo_instereo_falling_things(tmp_path, rng):
    for subset in ("shapenet", "reflective", "tree", "hole"):
        for k in range(2 if subset == "tree" else 1):
            folder = tmp_path / "CREStereo" / subset
            _img(folder / f"{k}_left.jpg", rng)
            _img(folder / f"{k}_right.jpg", rng)
            _png(folder / f"{k}_left.disp.png", rng.integers(0, 2 ** 16, (4, 6)).astype(np.uint16))
            _png(folder / f"{k}_right.disp.png", rng.integers(0, 2 ** 16, (4, 6)).astype(np.uint16))
    _compare("CREStereo", tmp_path)
    for split in ("train", "test"):
        for scene in ("0001", "0002"):
            folder = tmp_path / "InStereo2k" / split / scene
            _img(folder / "left.png", rng)
            _img(folder / "right.png", rng)
            _png(folder / "left_disp.png", rng.integers(1, 2 ** 16, (4, 6)).astype(np.uint16))
            _png(folder / "right_disp.png", rng.integers(1, 2 ** 16, (4, 6)).astype(np.uint16))
        _compare("InStereo2k", tmp_path, split=split)
    settings = {"camera_settings": [{"intrinsic_settings": {"fx": 768.1605834960938}}]}
    for variant, folder in (("single", "single/002_master_chef_can_16k/kitchen_0"), ("mixed", "mixed/kitchen_1")):
        for k in range(2):
            base = tmp_path / "FallingThings" / folder
            _img(base / f"{k:06d}.left.jpg", rng)
            _img(base / f"{k:06d}.right.jpg", rng)
            _png(base / f"{k:06d}.left.depth.png", rng.integers(100, 2 ** 16, (4, 6)).astype(np.uint16))
            _png(base / f"{k:06d}.right.depth.png", rng.integers(100, 2 ** 16, (4, 6)).astype(np.uint16))
            (base / "_camera_settings.json").write_text(json.dumps(settings))
    for variant in ("single", "mixed", "both"):
        _compare("FallingThingsStereo", tmp_path, variant=variant)


def test_sintel_and_eth3d(tmp_path, rng):
    root = tmp_path / "Sintel" / "training"
    for scene in ("alley_1", "cave_2"):
        for k in range(2):
            name = f"frame_{k:04d}.png"
            for folder in ("final_left", "final_right", "clean_left", "clean_right"):
                _img(root / folder / scene / name, rng)
            _png(root / "disparities" / scene / name, rng.integers(0, 256, (4, 6, 3), dtype=np.uint8))
            _png(root / "occlusions" / scene / name, (rng.integers(0, 2, (4, 6)) * 255).astype(np.uint8))
            _png(root / "outofframe" / scene / name, (rng.integers(0, 2, (4, 6)) * 255).astype(np.uint8))
    for pass_name in ("final", "both"):
        _compare("SintelStereo", tmp_path, pass_name=pass_name)
    os.remove(root / "outofframe" / "cave_2" / "frame_0001.png")
    with pytest.raises(FileNotFoundError, match="Out of frame mask .* does not exist"):
        JD.SintelStereo(str(tmp_path))[3]
    eth = tmp_path / "ETH3D"
    for scene in ("delivery_area_1l", "lakeside_1l"):
        for folder in ("two_view_training", "two_view_test"):
            _img(eth / folder / scene / "im0.png", rng)
            _img(eth / folder / scene / "im1.png", rng)
        _pfm(str(eth / "two_view_training_gt" / scene / "disp0GT.pfm"), rng)
        _png(eth / "two_view_training_gt" / scene / "mask0nocc.png",
             (rng.integers(0, 2, (4, 6)) * 255).astype(np.uint8))
    for split in ("train", "test"):
        _compare("ETH3DStereo", tmp_path, split=split)


def test_stereo_transforms_and_pair_errors(tmp_path, rng):
    for scene in ("s1", "s2"):
        base = tmp_path / "carla-highres" / "trainingF" / scene
        _img(base / "im0.png", rng)
        _img(base / "im1.png", rng)
        _pfm(str(base / "disp0GT.pfm"), rng)
        _pfm(str(base / "disp1GT.pfm"), rng)

    def swap(imgs, dsp, masks):
        return imgs[::-1], dsp[::-1], (np.ones((4, 6), bool), None)

    j, t = JD.CarlaStereo(str(tmp_path), transforms=swap), TD.CarlaStereo(str(tmp_path), transforms=swap)
    same_items(j, t)
    assert len(j[0]) == 4  # a mask from the transform makes a 4th item
    os.remove(tmp_path / "carla-highres" / "trainingF" / "s2" / "im1.png")
    with pytest.raises(ValueError, match="Found 2 left files but 1 right files"):
        JD.CarlaStereo(str(tmp_path))
    with pytest.raises(ValueError, match="Found 2 left files but 1 right files"):
        TD.CarlaStereo(str(tmp_path))

