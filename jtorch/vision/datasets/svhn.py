"""SVHN: Street View House Numbers, 32x32 RGB digit crops from the MATLAB files."""
import os

import numpy as np
from PIL import Image

from ._arrays import as_index
from .utils import check_integrity, download_url, verify_str_arg
from .vision import VisionDataset


class SVHN(VisionDataset):
    """SVHN ``split`` 'train', 'test' or 'extra', read from ``root/<split>_32x32.mat`` (needs scipy).

    The files label the digit 0 as 10; here it is 0, so targets are the digits 0..9.
    ``data`` is uint8 (N, 3, 32, 32) and ``labels`` int64 (N,). Items are (RGB PIL image, int).
    """

    _BASE_URL = "http://ufldl.stanford.edu/housenumbers/"
    split_list = {
        "train": [_BASE_URL + "train_32x32.mat", "train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": [_BASE_URL + "test_32x32.mat", "test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"],
        "extra": [_BASE_URL + "extra_32x32.mat", "extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list))
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        import scipy.io  # optional dependency, as in torchvision

        mat = scipy.io.loadmat(os.path.join(self.root, self.filename))
        # 'X' is (32, 32, 3, N) in MATLAB's order: make it (N, 3, 32, 32)
        self.data = np.transpose(mat["X"], (3, 2, 0, 1))
        self.labels = mat["y"].astype(np.int64).squeeze()
        self.labels[self.labels == 10] = 0

    def __getitem__(self, index):
        index = as_index(index)
        img = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        return self._apply_transforms(img, int(self.labels[index]))

    def __len__(self):
        return len(self.data)

    def _check_integrity(self):
        return check_integrity(os.path.join(self.root, self.filename), self.split_list[self.split][2])

    def download(self):
        download_url(self.url, self.root, self.filename, self.split_list[self.split][2])

    def extra_repr(self):
        return f"Split: {self.split}"
