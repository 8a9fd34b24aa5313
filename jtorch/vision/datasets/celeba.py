"""CelebA: 200k aligned celebrity faces with 40 binary attributes, identities, boxes, landmarks."""
import csv
import os
from collections import namedtuple

import numpy as np
from PIL import Image

import jtorch as torch

from ._arrays import ArrayCache, as_index
from .utils import check_integrity, download_file_from_google_drive, extract_archive, verify_str_arg
from .vision import VisionDataset

CSV = namedtuple("CSV", ["header", "index", "data"])


class CelebA(ArrayCache, VisionDataset):
    """CelebA under ``root/celeba``: images in ``img_align_celeba/`` and the text tables
    ``list_eval_partition.txt`` (0 train, 1 valid, 2 test), ``identity_CelebA.txt``,
    ``list_bbox_celeba.txt``, ``list_landmarks_align_celeba.txt`` and ``list_attr_celeba.txt``
    (attributes as -1/1, made 0/1 here).

    ``split`` is 'train', 'valid', 'test' or 'all'. ``target_type`` is one of or a list of
    'attr' (int64 (40,)), 'identity' (int64 scalar tensor), 'bbox' (int64 (4,)) and 'landmarks'
    (int64 (10,)); a list gives a tuple, an empty list gives None. Images are returned as opened.
    """

    base_folder = "celeba"
    # (Google Drive file id, md5, file name)
    file_list = [
        ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb", "img_align_celeba.zip"),
        ("0B7EVK8r0v71pblRyaVFSWGxPY0U", "75e246fa4810816ffd6ee81facbd244c", "list_attr_celeba.txt"),
        ("1_ee_0u7vcNLOfNLegJRHmolfH5ICW-XS", "32bd1bd63d3c78cd57e08160ec5ed1e2", "identity_CelebA.txt"),
        ("0B7EVK8r0v71pbThiMVRxWXZ4dU0", "00566efa6fedff7a56946cd1c10f1c16", "list_bbox_celeba.txt"),
        ("0B7EVK8r0v71pd0FJY3Blby1HUTQ", "cc24ecafdb5b50baae59b03474781f8c", "list_landmarks_align_celeba.txt"),
        ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668", "list_eval_partition.txt"),
    ]

    def __init__(self, root, split="train", target_type="attr", transform=None, target_transform=None,
                 download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = split
        self.target_type = target_type if isinstance(target_type, list) else [target_type]
        if not self.target_type and self.target_transform is not None:
            raise RuntimeError("target_transform is specified but target_type is empty")
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")

        split_code = {"train": 0, "valid": 1, "test": 2, "all": None}[
            verify_str_arg(split.lower() if isinstance(split, str) else split, "split",
                           ("train", "valid", "test", "all"))]
        splits = self._load_csv("list_eval_partition.txt")
        identity = self._load_csv("identity_CelebA.txt")
        bbox = self._load_csv("list_bbox_celeba.txt", header=1)
        landmarks_align = self._load_csv("list_landmarks_align_celeba.txt", header=1)
        attr = self._load_csv("list_attr_celeba.txt", header=1)

        # the tables list the same images in the same order
        keep = np.ones(len(splits.index), bool) if split_code is None else splits.data[:, 0] == split_code
        self.filename = [name for name, k in zip(splits.index, keep) if k]
        self.identity = torch.tensor(identity.data[keep])
        self.bbox = torch.tensor(bbox.data[keep])
        self.landmarks_align = torch.tensor(landmarks_align.data[keep])
        self.attr = torch.tensor((attr.data[keep] + 1) // 2)  # -1/1 -> 0/1
        self.attr_names = attr.header

    def _load_csv(self, filename, header=None):
        """(header row, first column, int64 array of the other columns) of a space-separated table;
        ``header`` is the row of column names (rows before it are skipped)."""
        with open(os.path.join(self.root, self.base_folder, filename)) as f:
            rows = list(csv.reader(f, delimiter=" ", skipinitialspace=True))
        names = []
        if header is not None:
            names, rows = rows[header], rows[header + 1:]
        data = np.array([[int(v) for v in row[1:]] for row in rows], dtype=np.int64)
        return CSV(names, [row[0] for row in rows], data.reshape(len(rows), -1))

    def _check_integrity(self):
        for _, md5, filename in self.file_list:
            # the image archive is not kept checked: it is unpacked into img_align_celeba
            if os.path.splitext(filename)[1] not in (".zip", ".7z") and \
                    not check_integrity(os.path.join(self.root, self.base_folder, filename), md5):
                return False
        return os.path.isdir(os.path.join(self.root, self.base_folder, "img_align_celeba"))

    def download(self):
        if self._check_integrity():
            return
        for file_id, md5, filename in self.file_list:
            download_file_from_google_drive(file_id, os.path.join(self.root, self.base_folder), filename, md5)
        extract_archive(os.path.join(self.root, self.base_folder, "img_align_celeba.zip"))

    def __getitem__(self, index):
        index = as_index(index)
        img = Image.open(os.path.join(self.root, self.base_folder, "img_align_celeba", self.filename[index]))
        target = []
        for kind in self.target_type:
            if kind == "attr":
                target.append(torch.tensor(self._host("attr")[index]))
            elif kind == "identity":
                target.append(torch.tensor(self._host("identity")[index, 0]))
            elif kind == "bbox":
                target.append(torch.tensor(self._host("bbox")[index]))
            elif kind == "landmarks":
                target.append(torch.tensor(self._host("landmarks_align")[index]))
            else:
                raise ValueError(f'Target type "{kind}" is not recognized.')
        if self.transform is not None:
            img = self.transform(img)
        if not target:
            return img, None
        target = tuple(target) if len(target) > 1 else target[0]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.attr)

    def extra_repr(self):
        return f"Target type: {self.target_type}\nSplit: {self.split}"
