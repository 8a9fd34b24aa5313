"""Optical flow datasets: pairs of consecutive frames and the flow from the first to the second."""
import itertools
import os
from abc import ABC, abstractmethod
from glob import glob
from pathlib import Path

import numpy as np

from jtorch.utils import data

from ._png16 import read_png_16
from .folder import default_loader
from .utils import _read_pfm, verify_str_arg
from .vision import VisionDataset

__all__ = ("KittiFlow", "Sintel", "FlyingThings3D", "FlyingChairs", "HD1K")


class FlowDataset(ABC, VisionDataset):
    """Items are (img1, img2, flow) with ``flow`` a float32 (2, H, W) array, or None where the
    split has no ground truth; datasets whose flow files carry a validity mask (KITTI, HD1K)
    give (img1, img2, flow, valid_flow_mask) with a bool (H, W) mask. ``transforms`` takes and
    returns all four (img1, img2, flow, valid_flow_mask)."""

    _has_builtin_flow_mask = False

    def __init__(self, root, transforms=None, loader=default_loader):
        super().__init__(root=root)
        self.transforms = transforms
        self._flow_list = []
        self._image_list = []
        self._loader = loader

    def _read_img(self, file_name):
        return self._loader(file_name)

    @abstractmethod
    def _read_flow(self, file_name):
        pass

    def __getitem__(self, index):
        img1 = self._read_img(self._image_list[index][0])
        img2 = self._read_img(self._image_list[index][1])
        flow = valid_flow_mask = None
        if self._flow_list:
            flow = self._read_flow(self._flow_list[index])
            if self._has_builtin_flow_mask:
                flow, valid_flow_mask = flow
        if self.transforms is not None:
            img1, img2, flow, valid_flow_mask = self.transforms(img1, img2, flow, valid_flow_mask)
        if self._has_builtin_flow_mask or valid_flow_mask is not None:
            return img1, img2, flow, valid_flow_mask
        return img1, img2, flow

    def __len__(self):
        return len(self._image_list)

    def __rmul__(self, v):
        """``n * dataset``: the dataset repeated n times (to weight it in a mix of datasets)."""
        return data.ConcatDataset([self] * v)


class Sintel(FlowDataset):
    """MPI Sintel under ``root/Sintel``: frames ``<training|test>/<clean|final>/<scene>/*.png``
    (consecutive pairs within a scene) and flows ``training/flow/<scene>/*.flo``. ``pass_name``
    'both' chains the clean then the final pass; the test split has no flow."""

    def __init__(self, root, split="train", pass_name="clean", transforms=None, loader=default_loader):
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        verify_str_arg(pass_name, "pass_name", valid_values=("clean", "final", "both"))
        passes = ["clean", "final"] if pass_name == "both" else [pass_name]
        root = Path(root) / "Sintel"
        flow_root = root / "training" / "flow"
        for name in passes:
            image_root = root / ("training" if split == "train" else split) / name
            for scene in os.listdir(image_root):
                images = sorted(glob(str(image_root / scene / "*.png")))
                self._image_list += [[images[i], images[i + 1]] for i in range(len(images) - 1)]
                if split == "train":
                    self._flow_list += sorted(glob(str(flow_root / scene / "*.flo")))

    def _read_flow(self, file_name):
        return _read_flo(file_name)


class KittiFlow(FlowDataset):
    """KITTI 2015 flow under ``root/KittiFlow/<training|testing>``: frame pairs
    ``image_2/*_10.png`` and ``*_11.png``, flow ``flow_occ/*_10.png`` (16-bit PNG: channels u and
    v as 64 * flow + 2**15, and a validity channel). Items have the validity mask."""

    _has_builtin_flow_mask = True

    def __init__(self, root, split="train", transforms=None, loader=default_loader):
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "KittiFlow" / (split + "ing")
        images1 = sorted(glob(str(root / "image_2" / "*_10.png")))
        images2 = sorted(glob(str(root / "image_2" / "*_11.png")))
        if not images1 or not images2:
            raise FileNotFoundError("Could not find the Kitti flow images. Please make sure the directory "
                                    "structure is correct.")
        self._image_list = [[a, b] for a, b in zip(images1, images2)]
        if split == "train":
            self._flow_list = sorted(glob(str(root / "flow_occ" / "*_10.png")))

    def _read_flow(self, file_name):
        return _read_16bits_png_with_flow_and_valid_mask(file_name)


class FlyingChairs(FlowDataset):
    """FlyingChairs under ``root/FlyingChairs``: ``data/*.ppm`` (two frames per sample, sorted) and
    ``data/*.flo``, split by ``FlyingChairs_train_val.txt`` (1 train, 2 val, one line per sample)."""

    def __init__(self, root, split="train", transforms=None):
        super().__init__(root=root, transforms=transforms)
        verify_str_arg(split, "split", valid_values=("train", "val"))
        root = Path(root) / "FlyingChairs"
        images = sorted(glob(str(root / "data" / "*.ppm")))
        flows = sorted(glob(str(root / "data" / "*.flo")))
        split_file = root / "FlyingChairs_train_val.txt"
        if not os.path.exists(split_file):
            raise FileNotFoundError("The FlyingChairs_train_val.txt file was not found - please download it from "
                                    "the dataset page (see docstring).")
        split_ids = np.loadtxt(str(split_file), dtype=np.int32)
        wanted = 1 if split == "train" else 2
        for i in range(len(flows)):
            if split_ids[i] == wanted:
                self._flow_list.append(flows[i])
                self._image_list.append([images[2 * i], images[2 * i + 1]])

    def _read_flow(self, file_name):
        return _read_flo(file_name)


class FlyingThings3D(FlowDataset):
    """FlyingThings3D under ``root/FlyingThings3D``: frames
    ``frames_<clean|final>pass/<TRAIN|TEST>/<A|B|C>/<seq>/<left|right>/*.png`` and flows
    ``optical_flow/<TRAIN|TEST>/<A|B|C>/<seq>/<into_future|into_past>/<camera>/*.pfm``. Both flow
    directions are used: forward pairs (i, i+1) with flow i, backward pairs (i+1, i) with flow i+1."""

    def __init__(self, root, split="train", pass_name="clean", camera="left", transforms=None,
                 loader=default_loader):
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        split = split.upper()
        verify_str_arg(pass_name, "pass_name", valid_values=("clean", "final", "both"))
        passes = {"clean": ["frames_cleanpass"], "final": ["frames_finalpass"],
                  "both": ["frames_cleanpass", "frames_finalpass"]}[pass_name]
        verify_str_arg(camera, "camera", valid_values=("left", "right", "both"))
        cameras = ["left", "right"] if camera == "both" else [camera]
        root = Path(root) / "FlyingThings3D"
        for frames, cam, direction in itertools.product(passes, cameras, ("into_future", "into_past")):
            image_dirs = sorted(Path(d) / cam for d in glob(str(root / frames / split / "*/*")))
            flow_dirs = sorted(Path(d) / direction / cam for d in glob(str(root / "optical_flow" / split / "*/*")))
            if not image_dirs or not flow_dirs:
                raise FileNotFoundError("Could not find the FlyingThings3D flow images. Please make sure the "
                                        "directory structure is correct.")
            for image_dir, flow_dir in zip(image_dirs, flow_dirs):
                images = sorted(glob(str(image_dir / "*.png")))
                flows = sorted(glob(str(flow_dir / "*.pfm")))
                for i in range(len(flows) - 1):
                    if direction == "into_future":
                        self._image_list.append([images[i], images[i + 1]])
                        self._flow_list.append(flows[i])
                    else:
                        self._image_list.append([images[i + 1], images[i]])
                        self._flow_list.append(flows[i + 1])

    def _read_flow(self, file_name):
        return _read_pfm(file_name)


class HD1K(FlowDataset):
    """HD1K under ``root/hd1k``: training sequences 0..35 with frames
    ``hd1k_input/image_2/<seq>_<n>.png`` and flows ``hd1k_flow_gt/flow_occ/<seq>_<n>.png`` (KITTI's
    16-bit format); test pairs ``hd1k_challenge/image_2/*10.png`` and ``*11.png`` without flow."""

    _has_builtin_flow_mask = True

    def __init__(self, root, split="train", transforms=None, loader=default_loader):
        super().__init__(root=root, transforms=transforms, loader=loader)
        verify_str_arg(split, "split", valid_values=("train", "test"))
        root = Path(root) / "hd1k"
        if split == "train":
            for seq in range(36):
                flows = sorted(glob(str(root / "hd1k_flow_gt" / "flow_occ" / f"{seq:06d}_*.png")))
                images = sorted(glob(str(root / "hd1k_input" / "image_2" / f"{seq:06d}_*.png")))
                for i in range(len(flows) - 1):
                    self._flow_list.append(flows[i])
                    self._image_list.append([images[i], images[i + 1]])
        else:
            images1 = sorted(glob(str(root / "hd1k_challenge" / "image_2" / "*10.png")))
            images2 = sorted(glob(str(root / "hd1k_challenge" / "image_2" / "*11.png")))
            self._image_list = [[a, b] for a, b in zip(images1, images2)]
        if not self._image_list:
            raise FileNotFoundError("Could not find the HD1K images. Please make sure the directory structure "
                                    "is correct.")

    def _read_flow(self, file_name):
        return _read_16bits_png_with_flow_and_valid_mask(file_name)


def _read_flo(file_name):
    """A Middlebury .flo file ('PIEH', width, height, then row-major float32 (u, v) pairs) as a
    float32 (2, H, W) array."""
    with open(file_name, "rb") as f:
        if f.read(4) != b"PIEH":
            raise ValueError("Magic number incorrect. Invalid .flo file")
        w = int(np.fromfile(f, "<i4", count=1)[0])
        h = int(np.fromfile(f, "<i4", count=1)[0])
        flow = np.fromfile(f, "<f4", count=2 * w * h)
    return flow.reshape(h, w, 2).transpose(2, 0, 1)


def _read_16bits_png_with_flow_and_valid_mask(file_name):
    """KITTI's flow PNG: (flow float32 (2, H, W), valid bool (H, W))."""
    channels = read_png_16(file_name).astype(np.float32)
    return (channels[:2] - 2 ** 15) / 64, channels[2].astype(bool)
