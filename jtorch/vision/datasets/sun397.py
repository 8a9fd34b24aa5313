"""SUN397: scene images of 397 categories."""
from pathlib import Path

from .folder import default_loader
from .utils import download_and_extract_archive
from .vision import VisionDataset


class SUN397(VisionDataset):
    """SUN397 under ``root/SUN397``: classes from ``ClassName.txt`` (lines like
    ``/a/abbey``, the first 3 characters dropped: 'abbey', 'b/bakery/shop' stays nested), images
    ``<letter>/<class path>/sun_*.jpg`` found recursively (in the file system's listing order)."""

    _DATASET_URL = "http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz"
    _DATASET_MD5 = "8ca2778205c41d23104230ba66911c7a"

    def __init__(self, root, transform=None, target_transform=None, download=False, loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._data_dir = Path(self.root) / "SUN397"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        with open(self._data_dir / "ClassName.txt") as f:
            self.classes = [line[3:].strip() for line in f]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self._image_files = list(self._data_dir.rglob("sun_*.jpg"))
        # the class is the path between the letter folder and the file
        self._labels = [self.class_to_idx["/".join(p.relative_to(self._data_dir).parts[1:-1])]
                        for p in self._image_files]
        self.loader = loader

    def __len__(self):
        return len(self._image_files)

    def __getitem__(self, idx):
        return self._apply_transforms(self.loader(self._image_files[idx]), self._labels[idx])

    def _check_exists(self):
        return self._data_dir.is_dir()

    def _download(self):
        if self._check_exists():
            return
        download_and_extract_archive(self._DATASET_URL, download_root=self.root, md5=self._DATASET_MD5)
