"""EuroSAT: 27000 Sentinel-2 RGB patches of 10 land-use classes."""
import os

from .folder import ImageFolder, default_loader
from .utils import download_and_extract_archive


class EuroSAT(ImageFolder):
    """EuroSAT (RGB) as an ImageFolder over ``root/eurosat/2750/<class>/*.jpg``."""

    _URL = ("https://huggingface.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/"
            "EuroSAT.zip")
    _MD5 = "c8fa014336c82ac7804f0398fcb19387"

    def __init__(self, root, transform=None, target_transform=None, download=False, loader=default_loader):
        self.root = os.path.expanduser(root)
        self._base_folder = os.path.join(self.root, "eurosat")
        self._data_folder = os.path.join(self._base_folder, "2750")
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        super().__init__(self._data_folder, transform=transform, target_transform=target_transform, loader=loader)
        self.root = os.path.expanduser(root)

    def __len__(self):
        return len(self.samples)

    def _check_exists(self):
        return os.path.exists(self._data_folder)

    def download(self):
        if self._check_exists():
            return
        os.makedirs(self._base_folder, exist_ok=True)
        download_and_extract_archive(self._URL, download_root=self._base_folder, md5=self._MD5)
