"""STL-10: 96x96 RGB images in 10 classes plus 100k unlabeled ones, from the binary release."""
import os

import numpy as np
from PIL import Image

from ._arrays import as_index
from .utils import check_integrity, download_and_extract_archive, verify_str_arg
from .vision import VisionDataset


class STL10(VisionDataset):
    """STL-10 under ``root/stl10_binary``. ``split`` is 'train', 'train+unlabeled', 'unlabeled' or
    'test'; ``folds`` (0..9) restricts the training images to one of the 10 predefined folds of
    1000 (the row of ``fold_indices.txt``). Unlabeled images have target -1.

    ``data`` is uint8 (N, 3, 96, 96) and ``labels`` a numpy array of class indices.
    """

    base_folder = "stl10_binary"
    url = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
    filename = "stl10_binary.tar.gz"
    tgz_md5 = "91f7769df0f17e558f3565bffb0c7dfb"
    class_names_file = "class_names.txt"
    folds_list_file = "fold_indices.txt"
    train_list = [
        ["train_X.bin", "918c2871b30a85fa023e0c44e0bee87f"],
        ["train_y.bin", "5a34089d4802c674881badbb80307741"],
        ["unlabeled_X.bin", "5242ba1fed5e4be9e1e742405eb56ca4"],
    ]
    test_list = [["test_X.bin", "7f263ba9f9e0b06b93213547f721ac82"], ["test_y.bin", "36f9794fa4beb8a2c72628de14fa638e"]]
    splits = ("train", "train+unlabeled", "unlabeled", "test")

    def __init__(self, root, split="train", folds=None, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", self.splits)
        self.folds = self._verify_folds(folds)
        if download:
            self.download()
        elif not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")

        train_x, train_y, unlabeled_x = (name for name, _ in self.train_list)
        if self.split == "test":
            self.data, self.labels = self._load(self.test_list[0][0], self.test_list[1][0])
        elif self.split == "unlabeled":
            self.data, _ = self._load(unlabeled_x)
            self.labels = np.full(len(self.data), -1)
        else:
            self.data, self.labels = self._load(train_x, train_y)
            self._select_fold(folds)
            if self.split == "train+unlabeled":
                extra, _ = self._load(unlabeled_x)
                self.data = np.concatenate((self.data, extra))
                self.labels = np.concatenate((self.labels, np.full(len(extra), -1)))

        class_file = os.path.join(self.root, self.base_folder, self.class_names_file)
        if os.path.isfile(class_file):
            with open(class_file) as f:
                self.classes = f.read().splitlines()

    @staticmethod
    def _verify_folds(folds):
        if folds is None:
            return folds
        if isinstance(folds, int):
            if folds in range(10):
                return folds
            raise ValueError(f"Value for argument folds should be in the range [0, 10), but got {folds}.")
        raise ValueError(f"Expected type None or int for argument folds, but got type {type(folds)}.")

    def _load(self, data_file, labels_file=None):
        labels = None
        if labels_file:
            # labels are stored 1-based, one byte each
            labels = np.fromfile(os.path.join(self.root, self.base_folder, labels_file), dtype=np.uint8) - 1
        raw = np.fromfile(os.path.join(self.root, self.base_folder, data_file), dtype=np.uint8)
        # images are stored column-major per channel: swap to (C, H, W)
        return raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2), labels

    def _select_fold(self, folds):
        if folds is None:
            return
        with open(os.path.join(self.root, self.base_folder, self.folds_list_file)) as f:
            rows = f.read().splitlines()
        keep = np.array(rows[folds].split(), dtype=np.int64)
        self.data = self.data[keep]
        self.labels = self.labels[keep]

    def __getitem__(self, index):
        index = as_index(index)
        target = int(self.labels[index]) if self.labels is not None else None
        img = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        return self._apply_transforms(img, target)

    def __len__(self):
        return self.data.shape[0]

    def _check_integrity(self):
        return all(check_integrity(os.path.join(self.root, self.base_folder, name), md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self):
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5)

    def extra_repr(self):
        return f"Split: {self.split}"
