"""WIDER FACE: face detection with per-box blur, expression, illumination, occlusion, pose flags."""
import os
from os.path import abspath, expanduser

import numpy as np
from PIL import Image

import jtorch as torch

from .utils import download_and_extract_archive, download_file_from_google_drive, extract_archive, verify_str_arg
from .vision import VisionDataset


class WIDERFace(VisionDataset):
    """WIDER FACE under ``root/widerface``: ``WIDER_<split>/images/...`` and the annotation folder
    ``wider_face_split`` (each image: its path, the box count, then one line of 10 integers per
    box: x, y, w, h and six flags). ``split`` is 'train', 'val' or 'test'. Items are (PIL image
    as opened, dict of int64 tensors 'bbox' (n, 4) and one per flag column, named as torchvision
    names columns 4..9), target None for 'test'."""

    BASE_FOLDER = "widerface"
    FILE_LIST = [  # (Google Drive file id, md5, file name)
        ("15hGDLhsx8bLgLcIRD5DhYt5iBxnjNF1M", "3fedf70df600953d25982bcd13d91ba2", "WIDER_train.zip"),
        ("1GUCogbp16PMGa39thoMMeWxp7Rp5oM8Q", "dfa7d7e790efa35df3788964cf0bbaea", "WIDER_val.zip"),
        ("1HIfDbVEWKmsYKJZm4lchTBDLW5N7dY5T", "e5d8f4248ed24c334bbd12f49c29dd40", "WIDER_test.zip"),
    ]
    ANNOTATIONS_FILE = ("http://shuoyang1213.me/WIDERFACE/support/bbx_annotation/wider_face_split.zip",
                        "0e3767bcf0e326556d407bf5bff5d27c", "wider_face_split.zip")

    # the columns of a box line, in file order, and the key each goes to
    _COLUMNS = {"blur": 4, "expression": 5, "illumination": 6, "occlusion": 7, "pose": 8, "invalid": 9}

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        super().__init__(root=os.path.join(root, self.BASE_FOLDER), transform=transform,
                         target_transform=target_transform)
        self.split = verify_str_arg(split, "split", ("train", "val", "test"))
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download and prepare it")
        self.img_info = []
        if self.split in ("train", "val"):
            self.parse_train_val_annotations_file()
        else:
            self.parse_test_annotations_file()

    def __getitem__(self, index):
        img = Image.open(self.img_info[index]["img_path"])
        if self.transform is not None:
            img = self.transform(img)
        target = None if self.split == "test" else self.img_info[index]["annotations"]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.img_info)

    def extra_repr(self):
        return f"Split: {self.split}"

    def _image_path(self, name):
        return abspath(expanduser(os.path.join(self.root, f"WIDER_{self.split}", "images", name)))

    def parse_train_val_annotations_file(self):
        filename = "wider_face_train_bbx_gt.txt" if self.split == "train" else "wider_face_val_bbx_gt.txt"
        filepath = os.path.join(self.root, "wider_face_split", filename)
        with open(filepath) as f:
            lines = [line.rstrip() for line in f.readlines()]
        pos = 0
        while pos < len(lines):
            img_path = self._image_path(lines[pos])
            try:
                n_boxes = int(lines[pos + 1])
            except (IndexError, ValueError):
                raise RuntimeError(f"Error parsing annotation file {filepath}") from None
            # an image without faces still has one line (of zeros)
            rows = lines[pos + 2:pos + 2 + max(n_boxes, 1)]
            pos += 2 + max(n_boxes, 1)
            boxes = np.array([[int(v) for v in row.split(" ")] for row in rows], dtype=np.int64)
            annotations = {"bbox": torch.tensor(boxes[:, 0:4])}
            annotations.update({key: torch.tensor(boxes[:, col]) for key, col in self._COLUMNS.items()})
            self.img_info.append({"img_path": img_path, "annotations": annotations})

    def parse_test_annotations_file(self):
        filepath = abspath(expanduser(os.path.join(self.root, "wider_face_split", "wider_face_test_filelist.txt")))
        with open(filepath) as f:
            self.img_info = [{"img_path": self._image_path(line.rstrip())} for line in f.readlines()]

    def _check_integrity(self):
        # the archives are not kept: their unpacked folders are what must be there
        return all(os.path.exists(os.path.join(self.root, os.path.splitext(filename)[0]))
                   for _, _, filename in self.FILE_LIST + [self.ANNOTATIONS_FILE])

    def download(self):
        if self._check_integrity():
            return
        for file_id, md5, filename in self.FILE_LIST:
            download_file_from_google_drive(file_id, self.root, filename, md5)
            extract_archive(os.path.join(self.root, filename))
        download_and_extract_archive(url=self.ANNOTATIONS_FILE[0], download_root=self.root,
                                     md5=self.ANNOTATIONS_FILE[1])
