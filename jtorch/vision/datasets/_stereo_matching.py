"""Stereo matching datasets: left/right image pairs with disparity maps."""
import functools
import json
import os
import random
import shutil
from abc import ABC, abstractmethod
from glob import glob
from pathlib import Path

import numpy as np
from PIL import Image

from .utils import _read_pfm, download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ()

_read_pfm_file = functools.partial(_read_pfm, slice_channels=1)


class StereoMatchingDataset(ABC, VisionDataset):
    """Items are (left RGB image, right RGB image, left disparity float (1, H, W) or None), plus
    the left validity mask (bool (H, W), or None where the files carry none) for datasets with
    ``_has_built_in_disparity_mask`` or a mask. ``transforms`` takes and returns the three pairs
    (images, disparities, masks), each of (left, right)."""

    _has_built_in_disparity_mask = False

    def __init__(self, root, transforms=None):
        super().__init__(root=root)
        self.transforms = transforms
        self._images = []
        self._disparities = []

    def _read_img(self, file_path):
        img = Image.open(file_path)
        return img if img.mode == "RGB" else img.convert("RGB")

    def _scan_pairs(self, paths_left_pattern, paths_right_pattern=None):
        """Sorted (left, right) file pairs of two glob patterns (right None without a pattern)."""
        left = sorted(glob(paths_left_pattern))
        right = sorted(glob(paths_right_pattern)) if paths_right_pattern else [None] * len(left)
        if not left:
            raise FileNotFoundError(f"Could not find any files matching the patterns: {paths_left_pattern}")
        if not right:
            raise FileNotFoundError(f"Could not find any files matching the patterns: {paths_right_pattern}")
        if len(left) != len(right):
            raise ValueError(f"Found {len(left)} left files but {len(right)} right files using:\n "
                             f"left pattern: {paths_left_pattern}\nright pattern: {paths_right_pattern}\n")
        return list(zip(left, right))

    @abstractmethod
    def _read_disparity(self, file_path):
        pass

    def __getitem__(self, index):
        imgs = (self._read_img(self._images[index][0]), self._read_img(self._images[index][1]))
        (dsp_left, mask_left), (dsp_right, mask_right) = (self._read_disparity(p) for p in self._disparities[index])
        dsp_maps, valid_masks = (dsp_left, dsp_right), (mask_left, mask_right)
        if self.transforms is not None:
            imgs, dsp_maps, valid_masks = self.transforms(imgs, dsp_maps, valid_masks)
        if self._has_built_in_disparity_mask or valid_masks[0] is not None:
            return imgs[0], imgs[1], dsp_maps[0], valid_masks[0]
        return imgs[0], imgs[1], dsp_maps[0]

    def __len__(self):
        return len(self._images)


def _abs_pfm(file_path):
    return np.abs(_read_pfm_file(file_path))


class CarlaStereo(StereoMatchingDataset):
    """CARLA high-res under ``root/carla-highres/trainingF/<scene>/``: im0.png/im1.png with
    disp0GT.pfm/disp1GT.pfm."""

    def __init__(self, root, transforms=None):
        super().__init__(root, transforms)
        scenes = Path(root) / "carla-highres" / "trainingF" / "*"
        self._images = self._scan_pairs(str(scenes / "im0.png"), str(scenes / "im1.png"))
        self._disparities = self._scan_pairs(str(scenes / "disp0GT.pfm"), str(scenes / "disp1GT.pfm"))

    def _read_disparity(self, file_path):
        return _abs_pfm(file_path), None


class _KittiStereo(StereoMatchingDataset):
    """KITTI disparities: 16-bit PNGs of 256 * disparity (0 where unknown); no mask is given."""

    _has_built_in_disparity_mask = True

    def _read_disparity(self, file_path):
        if file_path is None:
            return None, None
        return (np.asarray(Image.open(file_path)) / 256.0)[None], None


class Kitti2012Stereo(_KittiStereo):
    """KITTI 2012 under ``root/Kitti2012/<training|testing>``: colored_0/colored_1 ``*_10.png``
    and (train) disp_noc/*.png for the left image only."""

    def __init__(self, root, split="train", transforms=None):
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "Kitti2012" / (split + "ing")
        self._images = self._scan_pairs(str(root / "colored_0" / "*_10.png"), str(root / "colored_1" / "*_10.png"))
        if split == "train":
            self._disparities = self._scan_pairs(str(root / "disp_noc" / "*.png"), None)
        else:
            self._disparities = [(None, None)] * len(self._images)


class Kitti2015Stereo(_KittiStereo):
    """KITTI 2015 under ``root/Kitti2015/<training|testing>``: image_2/image_3 and (train)
    disp_occ_0/disp_occ_1."""

    def __init__(self, root, split="train", transforms=None):
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "Kitti2015" / (split + "ing")
        self._images = self._scan_pairs(str(root / "image_2" / "*.png"), str(root / "image_3" / "*.png"))
        if split == "train":
            self._disparities = self._scan_pairs(str(root / "disp_occ_0" / "*.png"), str(root / "disp_occ_1" / "*.png"))
        else:
            self._disparities = [(None, None)] * len(self._images)


class Middlebury2014Stereo(StereoMatchingDataset):
    """Middlebury 2014 under ``root/Middlebury2014/<split>/<scene>[-perfect|-imperfect]/``:
    im0.png/im1.png and (not test) disp0.pfm/disp1.pfm (inf where unknown, made 0; valid where
    > 0). ``calibration`` picks the scene variants ('perfect', 'imperfect', 'both'; None for
    test). With ``use_ambient_views`` the right image is drawn (with Python's ``random``) among
    im1.png and the ambient-light views im1E.png/im1L.png present."""

    splits = {
        "train": ["Adirondack", "Jadeplant", "Motorcycle", "Piano", "Pipes", "Playroom", "Playtable", "Recycle",
                  "Shelves", "Vintage"],
        "additional": ["Backpack", "Bicycle1", "Cable", "Classroom1", "Couch", "Flowers", "Mask", "Shopvac", "Sticks",
                       "Storage", "Sword1", "Sword2", "Umbrella"],
        "test": ["Plants", "Classroom2E", "Classroom2", "Australia", "DjembeL", "CrusadeP", "Crusade", "Hoops",
                 "Bicycle2", "Staircase", "Newkuba", "AustraliaP", "Djembe", "Livingroom", "Computer"],
    }
    _SCENES_URL = "https://vision.middlebury.edu/stereo/data/scenes2014/zip"
    _TEST_URL = "https://vision.middlebury.edu/stereo/submit3/zip/MiddEval3-data-F.zip"
    _has_built_in_disparity_mask = True

    def __init__(self, root, split="train", calibration="perfect", use_ambient_views=False, transforms=None,
                 download=False):
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test", "additional"))
        self.split = split
        if calibration:
            verify_str_arg(calibration, "calibration", valid_values=("perfect", "imperfect", "both", None))
            if split == "test":
                raise ValueError("Split 'test' has only no calibration settings, please set `calibration=None`.")
        elif split != "test":
            raise ValueError(f"Split '{split}' has calibration settings, however None was provided as an argument."
                             f"\nSetting calibration to 'perfect' for split '{split}'. Available calibration settings "
                             "are: 'perfect', 'imperfect', 'both'.")
        if download:
            self._download_dataset(root)
        root = Path(root) / "Middlebury2014"
        if not os.path.exists(root / split):
            raise FileNotFoundError(f"The {split} directory was not found in the provided root directory")
        if not any(scene.startswith(s) for scene in os.listdir(root / split) for s in self.splits[split]):
            raise FileNotFoundError(f"Provided root folder does not contain any scenes from the {split} split.")
        suffixes = {None: [""], "perfect": ["-perfect"], "imperfect": ["-imperfect"],
                    "both": ["-perfect", "-imperfect"]}[calibration]
        for suffix in suffixes:
            scenes = root / split / ("*" + suffix)
            self._images += self._scan_pairs(str(scenes / "im0.png"), str(scenes / "im1.png"))
            if split == "test":
                self._disparities = [(None, None)] * len(self._images)
            else:
                self._disparities += self._scan_pairs(str(scenes / "disp0.pfm"), str(scenes / "disp1.pfm"))
        self.use_ambient_views = use_ambient_views

    def _read_img(self, file_path):
        file_path = Path(file_path)
        if file_path.name == "im1.png" and self.use_ambient_views:
            views = [p for p in (file_path.parent / "im1E.png", file_path.parent / "im1L.png") if os.path.exists(p)]
            file_path = random.choice(views + [file_path])
        return super()._read_img(file_path)

    def _read_disparity(self, file_path):
        if file_path is None:
            return None, None
        disparity = _abs_pfm(file_path)
        disparity[disparity == np.inf] = 0
        return disparity, (disparity > 0).squeeze(0)

    def _download_dataset(self, root):
        root = Path(root) / "Middlebury2014"
        if self.split != "test":
            split_root = root / self.split
            for scene in self.splits[self.split]:
                for calibration in ("perfect", "imperfect"):
                    name = f"{scene}-{calibration}"
                    if not (split_root / name).exists():
                        download_and_extract_archive(url=f"{self._SCENES_URL}/{name}.zip", filename=f"{name}.zip",
                                                     download_root=str(split_root), remove_finished=True)
            return
        os.makedirs(root / "test", exist_ok=True)
        if any(s not in os.listdir(root / "test") for s in self.splits["test"]):
            download_and_extract_archive(url=self._TEST_URL, download_root=str(root), remove_finished=True)
            for scene_dir, scene_names, _ in os.walk(str(root / "MiddEval3" / "testF")):
                for scene in scene_names:
                    shutil.move(str(Path(scene_dir) / scene), str(root / "test"))
            shutil.rmtree(str(root / "MiddEval3"))


class CREStereo(StereoMatchingDataset):
    """CREStereo's synthetic data under ``root/CREStereo/<shapenet|reflective|tree|hole>/``:
    ``*_left.jpg``/``*_right.jpg`` with ``*_left.disp.png``/``*_right.disp.png`` (32 * disparity)."""

    _has_built_in_disparity_mask = True

    def __init__(self, root, transforms=None):
        super().__init__(root, transforms)
        root = Path(root) / "CREStereo"
        for subset in ("shapenet", "reflective", "tree", "hole"):
            self._images += self._scan_pairs(str(root / subset / "*_left.jpg"), str(root / subset / "*_right.jpg"))
            self._disparities += self._scan_pairs(str(root / subset / "*_left.disp.png"),
                                                  str(root / subset / "*_right.disp.png"))

    def _read_disparity(self, file_path):
        return np.asarray(Image.open(file_path), dtype=np.float32)[None] / 32.0, None


class FallingThingsStereo(StereoMatchingDataset):
    """Falling Things under ``root/FallingThings/<single|mixed>/...``: ``*.left.jpg``/``*.right.jpg``
    and depth PNGs ``*.left.depth.png`` turned into disparity = 6 * fx * 100 / depth, with fx from
    the folder's ``_camera_settings.json``. ``variant`` is 'single', 'mixed' or 'both'."""

    def __init__(self, root, variant="single", transforms=None):
        super().__init__(root, transforms)
        root = Path(root) / "FallingThings"
        verify_str_arg(variant, "variant", valid_values=("single", "mixed", "both"))
        variants = {"single": ["single"], "mixed": ["mixed"], "both": ["single", "mixed"]}[variant]
        depth_of = {"single": Path("*") / "*", "mixed": Path("*")}  # folder levels below the variant
        for v in variants:
            base = root / v / depth_of[v]
            self._images += self._scan_pairs(str(base / "*.left.jpg"), str(base / "*.right.jpg"))
            self._disparities += self._scan_pairs(str(base / "*.left.depth.png"), str(base / "*.right.depth.png"))

    def _read_disparity(self, file_path):
        depth = np.asarray(Image.open(file_path))
        with open(Path(file_path).parent / "_camera_settings.json") as f:
            focal = json.load(f)["camera_settings"][0]["intrinsic_settings"]["fx"]
        baseline, pixel_constant = 6, 100  # cm and the depth unit of the PNGs
        return (baseline * focal * pixel_constant / depth.astype(np.float32))[None], None


class SceneFlowStereo(StereoMatchingDataset):
    """SceneFlow under ``root/SceneFlow/<FlyingThings3D|Driving|Monkaa>/``: frames
    ``frames_<clean|final>pass/.../<left|right>/*.png`` and ``disparity/.../<left|right>/*.pfm``."""

    def __init__(self, root, variant="FlyingThings3D", pass_name="clean", transforms=None):
        super().__init__(root, transforms)
        root = Path(root) / "SceneFlow"
        verify_str_arg(variant, "variant", valid_values=("FlyingThings3D", "Driving", "Monkaa"))
        verify_str_arg(pass_name, "pass_name", valid_values=("clean", "final", "both"))
        passes = {"clean": ["frames_cleanpass"], "final": ["frames_finalpass"],
                  "both": ["frames_cleanpass", "frames_finalpass"]}[pass_name]
        root = root / variant
        levels = {"Monkaa": Path("*"), "FlyingThings3D": Path("*") / "*" / "*", "Driving": Path("*") / "*" / "*"}
        for p in passes:
            frames, disparity = root / p / levels[variant], root / "disparity" / levels[variant]
            self._images += self._scan_pairs(str(frames / "left" / "*.png"), str(frames / "right" / "*.png"))
            self._disparities += self._scan_pairs(str(disparity / "left" / "*.pfm"),
                                                  str(disparity / "right" / "*.pfm"))

    def _read_disparity(self, file_path):
        return _abs_pfm(file_path), None


class SintelStereo(StereoMatchingDataset):
    """Sintel stereo under ``root/Sintel/training``: ``<pass>_left``/``<pass>_right`` frames and
    ``disparities/<scene>/*.png`` (RGB encoding: 4r + g / 2**6 + b / 2**14) for the left frame;
    the mask is valid where both ``occlusions`` and ``outofframe`` are 0."""

    _has_built_in_disparity_mask = True

    def __init__(self, root, pass_name="final", transforms=None):
        super().__init__(root, transforms)
        verify_str_arg(pass_name, "pass_name", valid_values=("final", "clean", "both"))
        root = Path(root) / "Sintel" / "training"
        for p in {"final": ["final"], "clean": ["clean"], "both": ["final", "clean"]}[pass_name]:
            self._images += self._scan_pairs(str(root / f"{p}_left" / "*" / "*.png"),
                                             str(root / f"{p}_right" / "*" / "*.png"))
            self._disparities += self._scan_pairs(str(root / "disparities" / "*" / "*.png"), None)

    def _get_occlussion_mask_paths(self, file_path):
        path = Path(file_path)
        sample_dir = path.parent.parent.parent
        occlusion = str(sample_dir / "occlusions" / path.parent.name / path.name)
        out_of_frame = str(sample_dir / "outofframe" / path.parent.name / path.name)
        if not os.path.exists(occlusion):
            raise FileNotFoundError(f"Occlusion mask {occlusion} does not exist")
        if not os.path.exists(out_of_frame):
            raise FileNotFoundError(f"Out of frame mask {out_of_frame} does not exist")
        return occlusion, out_of_frame

    def _read_disparity(self, file_path):
        if file_path is None:
            return None, None
        rgb = np.asarray(Image.open(file_path), dtype=np.float32)
        disparity = (rgb[..., 0:1] * 4 + rgb[..., 1:2] / 2 ** 6 + rgb[..., 2:3] / 2 ** 14).transpose(2, 0, 1)
        occlusion, out_of_frame = self._get_occlussion_mask_paths(file_path)
        valid = (np.asarray(Image.open(occlusion)) == 0) & (np.asarray(Image.open(out_of_frame)) == 0)
        return disparity, valid


class InStereo2k(StereoMatchingDataset):
    """InStereo2k under ``root/InStereo2k/<split>/<scene>/``: left.png/right.png and
    left_disp.png/right_disp.png (1024 * disparity)."""

    def __init__(self, root, split="train", transforms=None):
        super().__init__(root, transforms)
        root = Path(root) / "InStereo2k" / split
        verify_str_arg(split, "split", valid_values=("train", "test"))
        self._images = self._scan_pairs(str(root / "*" / "left.png"), str(root / "*" / "right.png"))
        self._disparities = self._scan_pairs(str(root / "*" / "left_disp.png"), str(root / "*" / "right_disp.png"))

    def _read_disparity(self, file_path):
        return np.asarray(Image.open(file_path), dtype=np.float32)[None] / 1024.0, None


class ETH3DStereo(StereoMatchingDataset):
    """ETH3D two-view under ``root/ETH3D``: ``two_view_<training|test>/<scene>/im0.png, im1.png``
    and ``two_view_training_gt/<scene>/disp0GT.pfm`` with the mask ``mask0nocc.png``."""

    _has_built_in_disparity_mask = True

    def __init__(self, root, split="train", transforms=None):
        super().__init__(root, transforms)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "ETH3D"
        scenes = root / ("two_view_training" if split == "train" else "two_view_test") / "*"
        self._images = self._scan_pairs(str(scenes / "im0.png"), str(scenes / "im1.png"))
        if split == "test":
            self._disparities = [(None, None)] * len(self._images)
        else:
            self._disparities = self._scan_pairs(str(root / "two_view_training_gt" / "*" / "disp0GT.pfm"), None)

    def _read_disparity(self, file_path):
        if file_path is None:
            return None, None
        mask = np.asarray(Image.open(Path(file_path).parent / "mask0nocc.png")).astype(bool)
        return _abs_pfm(file_path), mask
