"""USPS handwritten digits: 16x16 grayscale images in LIBSVM's bzip2 text format."""
import bz2
import os

import numpy as np
from PIL import Image

from ._arrays import as_index
from .utils import download_url
from .vision import VisionDataset


class USPS(VisionDataset):
    """USPS from ``root/usps.bz2`` (train) or ``root/usps.t.bz2`` (test). Each line is
    ``<label 1..10> 1:<v> ... 256:<v>`` with values in [-1, 1]; images are scaled to uint8
    0..255 and labels made 0-based. ``data`` is uint8 (N, 16, 16), ``targets`` a list of ints.
    """

    _URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
    split_list = {
        "train": [_URL + "usps.bz2", "usps.bz2", "ec16c51db3855ca6c91edd34d0e9b197"],
        "test": [_URL + "usps.t.bz2", "usps.t.bz2", "8ea070ee2aca1ac39742fdd1ef5ed118"],
    }

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        url, filename, checksum = self.split_list["train" if train else "test"]
        full_path = os.path.join(self.root, filename)
        if download and not os.path.exists(full_path):
            download_url(url, self.root, filename, md5=checksum)
        with bz2.open(full_path) as f:
            rows = [line.decode().split() for line in f.readlines()]
        values = [[item.split(":")[-1] for item in row[1:]] for row in rows]
        images = np.asarray(values, dtype=np.float32).reshape((-1, 16, 16))
        self.data = ((images + 1) / 2 * 255).astype(dtype=np.uint8)
        self.targets = [int(row[0]) - 1 for row in rows]

    def __getitem__(self, index):
        index = as_index(index)
        return self._apply_transforms(Image.fromarray(self.data[index]), int(self.targets[index]))

    def __len__(self):
        return len(self.data)
