"""DTD: the Describable Textures Dataset (47 texture classes, 10 official splits)."""
import os
import pathlib

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset


class DTD(VisionDataset):
    """DTD under ``root/dtd/dtd``: ``labels/<split><partition>.txt`` lists ``<class>/<file>``
    paths of ``images``. ``split`` is 'train', 'val' or 'test', ``partition`` 1..10.
    ``classes`` are the sorted classes of the listed images."""

    _URL = "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz"
    _MD5 = "fff73e5086ae6bdbea199a49dfb8a4c1"

    def __init__(self, root, split="train", partition=1, transform=None, target_transform=None, download=False,
                 loader=default_loader):
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        # torchvision's check lets any int through (and fails later opening the list file)
        if not isinstance(partition, int) or not 1 <= partition <= 10:
            raise ValueError("Parameter 'partition' should be an integer with `1 <= partition <= 10`, "
                             f"but got {partition} instead")
        self._partition = partition
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._base_folder = pathlib.Path(self.root) / type(self).__name__.lower()
        self._data_folder = self._base_folder / "dtd"
        self._meta_folder = self._data_folder / "labels"
        self._images_folder = self._data_folder / "images"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self._image_files, classes = [], []
        with open(self._meta_folder / f"{self._split}{self._partition}.txt") as f:
            for line in f:
                cls, name = line.strip().split("/")
                self._image_files.append(self._images_folder.joinpath(cls, name))
                classes.append(cls)
        self.classes = sorted(set(classes))
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self._labels = [self.class_to_idx[c] for c in classes]
        self.loader = loader

    def __len__(self):
        return len(self._image_files)

    def __getitem__(self, idx):
        return self._apply_transforms(self.loader(self._image_files[idx]), self._labels[idx])

    def extra_repr(self):
        return f"split={self._split}, partition={self._partition}"

    def _check_exists(self):
        return os.path.isdir(self._data_folder)

    def _download(self):
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, download_root=str(self._base_folder), md5=self._MD5)
