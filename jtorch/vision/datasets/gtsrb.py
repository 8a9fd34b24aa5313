"""GTSRB: the German Traffic Sign Recognition Benchmark (43 classes)."""
import csv
import pathlib

from PIL import Image

from .folder import make_dataset
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset


class GTSRB(VisionDataset):
    """GTSRB under ``root/gtsrb``: the training images in class folders
    ``GTSRB/Training/<00000..00042>/*.ppm``; the test images in ``GTSRB/Final_Test/Images`` with
    their classes in ``GT-final_test.csv`` (';'-separated, columns Filename and ClassId).
    Items are (RGB PIL image, int class)."""

    _BASE_URL = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
    _RESOURCES = {  # split -> [(archive, md5)]
        "train": [("GTSRB-Training_fixed.zip", "513f3c79a4c5141765e10e952eaa2478")],
        "test": [("GTSRB_Final_Test_Images.zip", "c7e4e6327067d32654124b0fe9e82185"),
                 ("GTSRB_Final_Test_GT.zip", "fe31e9c9270bbcd7b84b7f21a9d9d9e5")],
    }

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = pathlib.Path(self.root) / "gtsrb"
        self._target_folder = self._base_folder / "GTSRB" / ("Training" if self._split == "train"
                                                             else "Final_Test/Images")
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        if self._split == "train":
            self._samples = make_dataset(str(self._target_folder), extensions=(".ppm",))
        else:
            with open(self._base_folder / "GT-final_test.csv") as f:
                self._samples = [(str(self._target_folder / row["Filename"]), int(row["ClassId"]))
                                 for row in csv.DictReader(f, delimiter=";", skipinitialspace=True)]

    def __len__(self):
        return len(self._samples)

    def __getitem__(self, index):
        path, target = self._samples[index]
        return self._apply_transforms(Image.open(path).convert("RGB"), target)

    def _check_exists(self):
        return self._target_folder.is_dir()

    def download(self):
        if self._check_exists():
            return
        for name, md5 in self._RESOURCES[self._split]:
            download_and_extract_archive(self._BASE_URL + name, download_root=str(self._base_folder), md5=md5)
