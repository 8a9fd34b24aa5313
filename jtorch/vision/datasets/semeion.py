"""SEMEION handwritten digits: 1593 16x16 binary images in one text file."""
import os

import numpy as np
from PIL import Image

from ._arrays import as_index
from .utils import check_integrity, download_url
from .vision import VisionDataset


class SEMEION(VisionDataset):
    """SEMEION from ``root/semeion.data``: each line is 256 pixel values (0 or 1) then a one-hot
    class of 10. Items are (PIL image mode 'L' 16x16 with values 0/255, int digit).

    Note ``download`` defaults to True, as in torchvision.
    """

    url = "http://archive.ics.uci.edu/ml/machine-learning-databases/semeion/semeion.data"
    filename = "semeion.data"
    md5_checksum = "cb545d371d2ce14ec121470795a77432"

    def __init__(self, root, transform=None, target_transform=None, download=True):
        super().__init__(root, transform=transform, target_transform=target_transform)
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        table = np.loadtxt(os.path.join(self.root, self.filename))
        self.data = (table[:, :256] * 255).astype("uint8").reshape(-1, 16, 16)
        self.labels = np.nonzero(table[:, 256:])[1]  # the position of the one-hot 1

    def __getitem__(self, index):
        index = as_index(index)
        return self._apply_transforms(Image.fromarray(self.data[index]), int(self.labels[index]))

    def __len__(self):
        return len(self.data)

    def _check_integrity(self):
        return check_integrity(os.path.join(self.root, self.filename), self.md5_checksum)

    def download(self):
        if self._check_integrity():
            return
        download_url(self.url, self.root, self.filename, self.md5_checksum)
