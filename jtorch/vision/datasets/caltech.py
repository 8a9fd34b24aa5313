"""Caltech 101 and Caltech 256 object categories."""
import os
import shutil

from PIL import Image

from .utils import download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset


def _category_index(folder, categories, count):
    """(image number, category index) lists: images of each category are numbered from 1."""
    numbers, labels = [], []
    for i, category in enumerate(categories):
        n = count(os.path.join(folder, category))
        numbers.extend(range(1, n + 1))
        labels.extend([i] * n)
    return numbers, labels


class Caltech101(VisionDataset):
    """Caltech 101 under ``root/caltech101/101_ObjectCategories/<category>/image_NNNN.jpg``.

    ``target_type`` is 'category' (an int), 'annotation' (the object contour from
    ``Annotations/<category>/annotation_NNNN.mat``, a numpy array; needs scipy) or a list of
    both (a tuple target). Images are returned as opened, not converted (some are grayscale).
    The BACKGROUND_Google folder is not a category.
    """

    # the annotation folders of four categories have other names than their image folders
    _ANNOTATION_NAMES = {"Faces": "Faces_2", "Faces_easy": "Faces_3", "Motorbikes": "Motorbikes_16",
                         "airplanes": "Airplanes_Side_2"}
    _ARCHIVE = ("https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip", "caltech-101.zip",
                "3138e1922a9193bfa496528edbbc45d0")  # (url, file name, md5)

    def __init__(self, root, target_type="category", transform=None, target_transform=None, download=False):
        super().__init__(os.path.join(root, "caltech101"), transform=transform, target_transform=target_transform)
        os.makedirs(self.root, exist_ok=True)
        if isinstance(target_type, str):
            target_type = [target_type]
        self.target_type = [verify_str_arg(t, "target_type", ("category", "annotation")) for t in target_type]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        images = os.path.join(self.root, "101_ObjectCategories")
        self.categories = sorted(os.listdir(images))
        self.categories.remove("BACKGROUND_Google")
        self.annotation_categories = [self._ANNOTATION_NAMES.get(c, c) for c in self.categories]
        self.index, self.y = _category_index(images, self.categories, lambda d: len(os.listdir(d)))

    def __getitem__(self, index):
        category, number = self.y[index], self.index[index]
        img = Image.open(os.path.join(self.root, "101_ObjectCategories", self.categories[category],
                                      f"image_{number:04d}.jpg"))
        target = []
        for kind in self.target_type:
            if kind == "category":
                target.append(category)
            else:
                import scipy.io  # optional dependency, as in torchvision

                mat = scipy.io.loadmat(os.path.join(self.root, "Annotations", self.annotation_categories[category],
                                                    f"annotation_{number:04d}.mat"))
                target.append(mat["obj_contour"])
        target = tuple(target) if len(target) > 1 else target[0]
        return self._apply_transforms(img, target)

    def _check_integrity(self):
        return os.path.exists(os.path.join(self.root, "101_ObjectCategories"))

    def __len__(self):
        return len(self.index)

    def download(self):
        """Fetch the zip; it holds the image folders as an inner .tar.gz and the annotations as an
        inner .tar. Both are unpacked (torchvision unpacks only the .gz one, which leaves the
        'annotation' target without its files)."""
        if self._check_integrity():
            return
        url, filename, md5 = self._ARCHIVE
        download_and_extract_archive(url, download_root=self.root, filename=filename, md5=md5)
        inner = os.path.join(self.root, "caltech-101")
        for name in os.listdir(inner):
            if name.endswith((".gz", ".tar")):
                extract_archive(os.path.join(inner, name), self.root)
        shutil.rmtree(inner)
        os.remove(os.path.join(self.root, filename))

    def extra_repr(self):
        return f"Target type: {self.target_type}"


class Caltech256(VisionDataset):
    """Caltech 256 under ``root/caltech256/256_ObjectCategories/NNN.<name>/NNN_MMMM.jpg``; targets
    are the sorted category folders' indices. Images are returned as opened, not converted."""

    _ARCHIVE = ("https://data.caltech.edu/records/nyy15-4j048/files/256_ObjectCategories.tar",
                "256_ObjectCategories.tar", "67b4f42ca05d46448c6bb8ecd2220f6d")  # (url, file name, md5)

    def __init__(self, root, transform=None, target_transform=None, download=False):
        super().__init__(os.path.join(root, "caltech256"), transform=transform, target_transform=target_transform)
        os.makedirs(self.root, exist_ok=True)
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        images = os.path.join(self.root, "256_ObjectCategories")
        self.categories = sorted(os.listdir(images))
        self.index, self.y = _category_index(
            images, self.categories, lambda d: sum(name.endswith(".jpg") for name in os.listdir(d)))

    def __getitem__(self, index):
        category, number = self.y[index], self.index[index]
        img = Image.open(os.path.join(self.root, "256_ObjectCategories", self.categories[category],
                                      f"{category + 1:03d}_{number:04d}.jpg"))
        return self._apply_transforms(img, category)

    def _check_integrity(self):
        return os.path.exists(os.path.join(self.root, "256_ObjectCategories"))

    def __len__(self):
        return len(self.index)

    def download(self):
        if self._check_integrity():
            return
        url, filename, md5 = self._ARCHIVE
        download_and_extract_archive(url, self.root, filename=filename, md5=md5)
