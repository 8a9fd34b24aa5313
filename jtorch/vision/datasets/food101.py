"""Food-101: 101 food categories, split by the JSON lists in its meta folder."""
import json
from pathlib import Path

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset


class Food101(VisionDataset):
    """Food-101 under ``root/food-101``: ``meta/<split>.json`` maps each class to its image paths
    ``<class>/<id>`` (under ``images``, with '.jpg' added). ``split`` is 'train' or 'test';
    ``classes`` are the sorted JSON keys.
    """

    _URL = "http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz"
    _MD5 = "85eeb15f3717b99a5da872d97d918f87"

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False,
                 loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = Path(self.root) / "food-101"
        self._meta_folder = self._base_folder / "meta"
        self._images_folder = self._base_folder / "images"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        with open(self._meta_folder / f"{split}.json") as f:
            metadata = json.load(f)
        self.classes = sorted(metadata)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        # samples follow the JSON's order of classes, not the sorted one
        self._labels, self._image_files = [], []
        for name, paths in metadata.items():
            self._labels += [self.class_to_idx[name]] * len(paths)
            self._image_files += [self._images_folder.joinpath(*f"{p}.jpg".split("/")) for p in paths]
        self.loader = loader

    def __len__(self):
        return len(self._image_files)

    def __getitem__(self, idx):
        return self._apply_transforms(self.loader(self._image_files[idx]), self._labels[idx])

    def extra_repr(self):
        return f"split={self._split}"

    def _check_exists(self):
        return self._meta_folder.is_dir() and self._images_folder.is_dir()

    def _download(self):
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, download_root=self.root, md5=self._MD5)
