"""KITTI 2D object detection (left color camera images and their labels)."""
import csv
import os

from PIL import Image

from .utils import download_and_extract_archive
from .vision import VisionDataset


class Kitti(VisionDataset):
    """KITTI under ``root/Kitti/raw/<training|testing>/image_2`` (images, in directory-listing
    order) with ``training/label_2/<id>.txt``. Training items are (PIL image as opened, list of
    dicts per object: 'type', 'truncated', 'occluded', 'alpha', 'bbox' (4 floats), 'dimensions'
    (3), 'location' (3), 'rotation_y'); test items have target None."""

    data_url = "https://s3.eu-central-1.amazonaws.com/avg-kitti/"
    resources = ["data_object_image_2.zip", "data_object_label_2.zip"]
    image_dir_name = "image_2"
    labels_dir_name = "label_2"

    def __init__(self, root, train=True, transform=None, target_transform=None, transforms=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform, transforms=transforms)
        self.images, self.targets = [], []
        self.train = train
        self._location = "training" if self.train else "testing"
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You may use download=True to download it.")
        image_dir = os.path.join(self._raw_folder, self._location, self.image_dir_name)
        labels_dir = os.path.join(self._raw_folder, self._location, self.labels_dir_name)
        for img_file in os.listdir(image_dir):
            self.images.append(os.path.join(image_dir, img_file))
            if self.train:
                self.targets.append(os.path.join(labels_dir, f"{img_file.split('.')[0]}.txt"))

    def __getitem__(self, index):
        image = Image.open(self.images[index])
        target = self._parse_target(index) if self.train else None
        if self.transforms:
            image, target = self.transforms(image, target)
        return image, target

    def _parse_target(self, index):
        target = []
        with open(self.targets[index]) as f:
            for line in csv.reader(f, delimiter=" "):
                target.append({
                    "type": line[0],
                    "truncated": float(line[1]),
                    "occluded": int(line[2]),
                    "alpha": float(line[3]),
                    "bbox": [float(x) for x in line[4:8]],
                    "dimensions": [float(x) for x in line[8:11]],
                    "location": [float(x) for x in line[11:14]],
                    "rotation_y": float(line[14]),
                })
        return target

    def __len__(self):
        return len(self.images)

    @property
    def _raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    def _check_exists(self):
        folders = [self.image_dir_name] + ([self.labels_dir_name] if self.train else [])
        return all(os.path.isdir(os.path.join(self._raw_folder, self._location, name)) for name in folders)

    def download(self):
        if self._check_exists():
            return
        os.makedirs(self._raw_folder, exist_ok=True)
        for name in self.resources:
            download_and_extract_archive(url=f"{self.data_url}{name}", download_root=self._raw_folder, filename=name)
