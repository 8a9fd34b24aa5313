"""SBD: the Semantic Boundaries Dataset (VOC images with class boundaries and segmentations)."""
import os
import shutil

import numpy as np
from PIL import Image

from .utils import download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset


class SBDataset(VisionDataset):
    """SBD under ``root`` (needs scipy): images ``img/<id>.jpg``, targets ``cls/<id>.mat`` (struct
    ``GTcls``), the lists ``train.txt``, ``val.txt`` and ``train_noval.txt`` (train without VOC2012
    val). ``mode='segmentation'`` gives the class mask as a PIL image; ``'boundaries'`` a
    (20, H, W) array of the per-class boundary maps. ``transforms`` takes (image, target).
    """

    url = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz"
    md5 = "82b4d87ceb2ed10f6038a1cba92111cb"
    filename = "benchmark.tgz"
    voc_train_url = "https://www.cs.cornell.edu/~bharathh/train_noval.txt"
    voc_split_filename = "train_noval.txt"
    voc_split_md5 = "79bff800c5f0b1ec6b21080a3c066722"

    def __init__(self, root, image_set="train", mode="boundaries", download=False, transforms=None):
        try:
            from scipy.io import loadmat
        except ImportError:
            raise RuntimeError("Scipy is not found. This dataset needs to have scipy installed: pip install scipy")
        self._loadmat = loadmat
        super().__init__(root, transforms)
        self.image_set = verify_str_arg(image_set, "image_set", ("train", "val", "train_noval"))
        self.mode = verify_str_arg(mode, "mode", ("segmentation", "boundaries"))
        self.num_classes = 20
        sbd_root = self.root
        if download:
            download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.md5)
            extracted = os.path.join(self.root, "benchmark_RELEASE", "dataset")
            for name in ("cls", "img", "inst", "train.txt", "val.txt"):
                shutil.move(os.path.join(extracted, name), sbd_root)
            if self.image_set == "train_noval":
                download_url(self.voc_train_url, sbd_root, self.voc_split_filename, self.voc_split_md5)
        if not os.path.isdir(sbd_root):
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        with open(os.path.join(sbd_root, image_set + ".txt")) as f:
            ids = [line.strip() for line in f.readlines()]
        self.images = [os.path.join(sbd_root, "img", i + ".jpg") for i in ids]
        self.masks = [os.path.join(sbd_root, "cls", i + ".mat") for i in ids]
        self._get_target = self._get_segmentation_target if self.mode == "segmentation" \
            else self._get_boundaries_target

    def _get_segmentation_target(self, filepath):
        return Image.fromarray(self._loadmat(filepath)["GTcls"][0]["Segmentation"][0])

    def _get_boundaries_target(self, filepath):
        boundaries = self._loadmat(filepath)["GTcls"][0]["Boundaries"][0]
        # one sparse matrix per class
        return np.stack([boundaries[k][0].toarray() for k in range(self.num_classes)])

    def __getitem__(self, index):
        img = Image.open(self.images[index]).convert("RGB")
        target = self._get_target(self.masks[index])
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target

    def __len__(self):
        return len(self.images)

    def extra_repr(self):
        return f"Image set: {self.image_set}\nMode: {self.mode}"
