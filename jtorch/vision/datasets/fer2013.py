"""FER2013: 48x48 grayscale faces labelled with 7 emotions, from the Kaggle CSV files."""
import csv
import pathlib

import numpy as np
from PIL import Image

from .utils import check_integrity, verify_str_arg
from .vision import VisionDataset


class FER2013(VisionDataset):
    """FER2013 under ``root/fer2013`` (no download: Kaggle needs an account). Read from
    ``fer2013.csv`` or ``icml_face_data.csv`` when present (all rows, with a Usage column:
    'Training' is the train split, 'PublicTest' and 'PrivateTest' the test split), else from
    ``<split>.csv`` (the test file has no labels: targets are None). Items are
    (PIL image mode 'L' 48x48, int emotion 0..6 or None)."""

    _RESOURCES = {
        "train": ("train.csv", "3f0dfb3d3fd99c811a1299cb947e3131"),
        "test": ("test.csv", "b02c2298636a634e8c2faabbf3ea9a23"),
        "fer": ("fer2013.csv", "f8428a1edbd21e88f42c73edd2a14f95"),
        "icml": ("icml_face_data.csv", "b114b9e04e6949e5fe8b6a98b3892b1d"),
    }

    def __init__(self, root, split="train", transform=None, target_transform=None):
        self._split = verify_str_arg(split, "split", ("train", "test"))
        super().__init__(root, transform=transform, target_transform=target_transform)
        base_folder = pathlib.Path(self.root) / "fer2013"
        use_fer = (base_folder / self._RESOURCES["fer"][0]).exists()
        use_icml = not use_fer and (base_folder / self._RESOURCES["icml"][0]).exists()
        file_name, md5 = self._RESOURCES["fer" if use_fer else "icml" if use_icml else self._split]
        data_file = base_folder / file_name
        if not check_integrity(str(data_file), md5=md5):
            raise RuntimeError(
                f"{file_name} not found in {base_folder} or corrupted. You can download it from "
                "https://www.kaggle.com/c/"
                "challenges-in-representation-learning-facial-expression-recognition-challenge")
        # the icml file's column names start with a space
        pixels_key, usage_key = (" pixels", " Usage") if use_icml else ("pixels", "Usage")
        labelled = use_fer or use_icml or self._split == "train"
        with open(data_file, newline="") as f:
            rows = csv.DictReader(f)
            if use_fer or use_icml:
                usages = ("Training",) if self._split == "train" else ("PublicTest", "PrivateTest")
                rows = (row for row in rows if row[usage_key] in usages)
            self._samples = [(self._pixels(row[pixels_key]), int(row["emotion"]) if labelled else None)
                             for row in rows]

    @staticmethod
    def _pixels(text):
        return np.array([int(v) for v in text.split()], dtype=np.uint8).reshape(48, 48)

    def __len__(self):
        return len(self._samples)

    def __getitem__(self, idx):
        pixels, target = self._samples[idx]
        return self._apply_transforms(Image.fromarray(pixels), target)

    def extra_repr(self):
        return f"split={self._split}"
