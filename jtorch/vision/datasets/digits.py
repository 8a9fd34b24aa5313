"""Digits: the 8x8 handwritten digits shipped with jtorch (no download)."""
import numpy as np
from PIL import Image

import jtorch as torch
from jtorch.data import load_digits

from ._arrays import ArrayCache, as_index
from .vision import VisionDataset


class Digits(ArrayCache, VisionDataset):
    """The UCI 8x8 handwritten digits (1797 images, classes 0-9), shipped in the package.

    Items are ``(PIL image mode 'L' of 8x8, int label)`` like MNIST's; pixel values 0..16 are
    scaled to 0..255. ``train`` picks one side of a fixed, seeded ``split`` (the training
    fraction), the same on every machine. ``root`` is accepted for signature compatibility
    and unused. ``data`` is a uint8 tensor (N, 8, 8) of the scaled images, ``targets`` int64.
    """

    classes = [str(i) for i in range(10)]
    _SPLIT_SEED = 0

    def __init__(self, root=None, train=True, transform=None, target_transform=None, split=0.8, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        if not 0.0 < split < 1.0:
            raise ValueError(f"split should be a fraction in (0, 1), but got split={split}")
        self.train = train
        self.split = split
        images, labels = load_digits()
        order = np.random.default_rng(self._SPLIT_SEED).permutation(len(labels))
        cut = int(round(split * len(labels)))
        keep = order[:cut] if train else order[cut:]
        scaled = (images[keep].astype(np.uint16) * 255 + 8) // 16  # 0..16 -> 0..255, rounded
        self.data = torch.tensor(scaled.astype(np.uint8))
        self.targets = torch.tensor(labels[keep])

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index):
        index = as_index(index)
        img = Image.fromarray(self._host("data")[index])
        return self._apply_transforms(img, int(self._host("targets")[index]))

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'} ({self.split:g} of 1797)"
