"""Moving MNIST: 10000 sequences of 20 frames of two digits moving in 64x64."""
import os

import numpy as np

import jtorch as torch

from ._arrays import ArrayCache, as_index
from .utils import download_url, verify_str_arg
from .vision import VisionDataset


class MovingMNIST(ArrayCache, VisionDataset):
    """Moving MNIST from ``root/MovingMNIST/mnist_test_seq.npy`` (frames first: (20, N, 64, 64)).
    ``data`` is uint8 (N, T, 1, 64, 64); ``split`` None keeps all 20 frames, 'train' the first
    ``split_ratio`` and 'test' the rest. Items are the uint8 tensor (T, 1, 64, 64) of one sequence
    (there is no target)."""

    _URL = "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"
    _MD5 = "be083ec986bfe91a449d63653c411eb2"

    def __init__(self, root, split=None, split_ratio=10, download=False, transform=None):
        super().__init__(root, transform=transform)
        self._base_folder = os.path.join(self.root, self.__class__.__name__)
        self._filename = self._URL.split("/")[-1]
        if split is not None:
            verify_str_arg(split, "split", ("train", "test"))
        self.split = split
        if not isinstance(split_ratio, int):
            raise TypeError(f"`split_ratio` should be an integer, but got {type(split_ratio)}")
        if not 1 <= split_ratio <= 19:
            raise ValueError(f"`split_ratio` should be `1 <= split_ratio <= 19`, but got {split_ratio} instead.")
        self.split_ratio = split_ratio
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it.")
        frames = np.load(os.path.join(self._base_folder, self._filename))
        if self.split == "train":
            frames = frames[:self.split_ratio]
        elif self.split == "test":
            frames = frames[self.split_ratio:]
        # (T, N, H, W) -> (N, T, 1, H, W)
        self.data = torch.tensor(np.ascontiguousarray(frames.swapaxes(0, 1)[:, :, None]))

    def __getitem__(self, idx):
        data = torch.tensor(self._host("data")[as_index(idx)])
        return self.transform(data) if self.transform is not None else data

    def __len__(self):
        return len(self.data)

    def _check_exists(self):
        return os.path.exists(os.path.join(self._base_folder, self._filename))

    def download(self):
        if self._check_exists():
            return
        download_url(url=self._URL, root=self._base_folder, filename=self._filename, md5=self._MD5)
