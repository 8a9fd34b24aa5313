"""FGVC-Aircraft: aircraft photos labelled by variant, family or manufacturer."""
import os

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset


class FGVCAircraft(VisionDataset):
    """FGVC-Aircraft 2013b under ``root/fgvc-aircraft-2013b/data``: the classes of
    ``annotation_level`` ('variant', 'family' or 'manufacturer') listed one per line in
    ``variants.txt``/``families.txt``/``manufacturers.txt``, and the images of ``split``
    ('train', 'val', 'trainval', 'test') in ``images_<level>_<split>.txt`` as
    ``<image id> <class name>`` lines (images in ``images/<id>.jpg``)."""

    _URL = "https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz"
    _MD5 = None  # torchvision checks no checksum for this archive

    def __init__(self, root, split="trainval", annotation_level="variant", transform=None, target_transform=None,
                 download=False, loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "trainval", "test"))
        self._annotation_level = verify_str_arg(annotation_level, "annotation_level",
                                                ("variant", "family", "manufacturer"))
        self._data_path = os.path.join(self.root, "fgvc-aircraft-2013b")
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        data = os.path.join(self._data_path, "data")
        list_file = {"variant": "variants.txt", "family": "families.txt",
                     "manufacturer": "manufacturers.txt"}[self._annotation_level]
        with open(os.path.join(data, list_file)) as f:
            self.classes = [line.strip() for line in f]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self._image_files, self._labels = [], []
        with open(os.path.join(data, f"images_{self._annotation_level}_{self._split}.txt")) as f:
            for line in f:
                image_name, label_name = line.strip().split(" ", 1)  # class names contain spaces
                self._image_files.append(os.path.join(data, "images", f"{image_name}.jpg"))
                self._labels.append(self.class_to_idx[label_name])
        self.loader = loader

    def __len__(self):
        return len(self._image_files)

    def __getitem__(self, idx):
        return self._apply_transforms(self.loader(self._image_files[idx]), self._labels[idx])

    def _download(self):
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, self.root, md5=self._MD5)

    def _check_exists(self):
        return os.path.isdir(self._data_path)
