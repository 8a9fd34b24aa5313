"""LFW: Labeled Faces in the Wild, as identities (LFWPeople) or same/different pairs (LFWPairs)."""
import os

from .folder import default_loader
from .utils import check_integrity, download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset


class _LFW(VisionDataset):
    """Files under ``root/lfw-py``: the image archive of ``image_set`` ('original', 'funneled' or
    'deepfunneled') next to its unpacked folder, and the list ``<view><''|DevTrain|DevTest>.txt``
    of ``split`` '10fold', 'train' or 'test' (plus ``lfw-names.txt`` for people), all md5-checked.
    Images are ``<folder>/<name>/<name>_NNNN.jpg``."""

    base_folder = "lfw-py"
    download_url_prefix = "http://vis-www.cs.umass.edu/lfw/"
    file_dict = {  # image_set -> (folder, archive, md5)
        "original": ("lfw", "lfw.tgz", "a17d05bd522c52d84eca14327a23d494"),
        "funneled": ("lfw_funneled", "lfw-funneled.tgz", "1b42dfed7d15c9b2dd63d5e5840c86ad"),
        "deepfunneled": ("lfw-deepfunneled", "lfw-deepfunneled.tgz", "68331da3eb755a505a502b5aacb3c201"),
    }
    checksums = {
        "pairs.txt": "9f1ba174e4e1c508ff7cdf10ac338a7d",
        "pairsDevTest.txt": "5132f7440eb68cf58910c8a45a2ac10b",
        "pairsDevTrain.txt": "4f27cbf15b2da4a85c1907eb4181ad21",
        "people.txt": "450f0863dd89e85e73936a6d71a3474b",
        "peopleDevTest.txt": "e4bf5be0a43b5dcd9dc5ccfcb8fb19c5",
        "peopleDevTrain.txt": "54eaac34beb6d042ed3a7d883e247a21",
        "lfw-names.txt": "a6d0a479bd074669f656265a6e693f6d",
    }
    annot_file = {"10fold": "", "train": "DevTrain", "test": "DevTest"}
    names = "lfw-names.txt"

    def __init__(self, root, split, image_set, view, transform=None, target_transform=None, download=False,
                 loader=default_loader):
        super().__init__(os.path.join(root, self.base_folder), transform=transform, target_transform=target_transform)
        self.image_set = verify_str_arg(image_set.lower(), "image_set", self.file_dict.keys())
        images_dir, self.filename, self.md5 = self.file_dict[self.image_set]
        self.view = verify_str_arg(view.lower(), "view", ["people", "pairs"])
        self.split = verify_str_arg(split.lower(), "split", ["10fold", "train", "test"])
        self.labels_file = f"{self.view}{self.annot_file[self.split]}.txt"
        self.data = []
        if download:
            # the university server is gone, as in torchvision
            raise ValueError("LFW dataset is no longer available for automatic download. Please download the "
                             "dataset manually and place it in the specified directory. A commonly used mirror is "
                             "available at: https://www.kaggle.com/datasets/jessicali9530/lfw-dataset")
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        self.images_dir = os.path.join(self.root, images_dir)
        self._loader = loader

    def _check_integrity(self):
        if not (check_integrity(os.path.join(self.root, self.filename), self.md5)
                and check_integrity(os.path.join(self.root, self.labels_file), self.checksums[self.labels_file])):
            return False
        if self.view == "people":
            return check_integrity(os.path.join(self.root, self.names), self.checksums[self.names])
        return True

    def download(self):
        if self._check_integrity():
            return
        download_and_extract_archive(f"{self.download_url_prefix}{self.filename}", self.root, filename=self.filename,
                                     md5=self.md5)
        download_url(f"{self.download_url_prefix}{self.labels_file}", self.root)
        if self.view == "people":
            download_url(f"{self.download_url_prefix}{self.names}", self.root)

    def _get_path(self, identity, no):
        return os.path.join(self.images_dir, identity, f"{identity}_{int(no):04d}.jpg")

    def extra_repr(self):
        return f"Alignment: {self.image_set}\nSplit: {self.split}"

    def __len__(self):
        return len(self.data)


class LFWPeople(_LFW):
    """Face images with the identity's index (in ``lfw-names.txt`` order) as target. The list
    file holds ``<name>\\t<number of images>`` lines, after a fold count and per-fold line counts
    for '10fold'."""

    def __init__(self, root, split="10fold", image_set="funneled", transform=None, target_transform=None,
                 download=False, loader=default_loader):
        super().__init__(root, split, image_set, "people", transform, target_transform, download, loader=loader)
        self.class_to_idx = self._get_classes()
        self.data, self.targets = self._get_people()

    def _get_people(self):
        data, targets = [], []
        with open(os.path.join(self.root, self.labels_file)) as f:
            lines = f.readlines()
        n_folds, pos = (int(lines[0]), 1) if self.split == "10fold" else (1, 0)
        for _ in range(n_folds):
            n_lines = int(lines[pos])
            people = [line.strip().split("\t") for line in lines[pos + 1:pos + n_lines + 1]]
            pos += n_lines + 1
            for identity, n_images in people:
                for number in range(1, int(n_images) + 1):
                    data.append(self._get_path(identity, number))
                    targets.append(self.class_to_idx[identity])
        return data, targets

    def _get_classes(self):
        with open(os.path.join(self.root, self.names)) as f:
            names = [line.strip().split()[0] for line in f.readlines()]
        return {name: i for i, name in enumerate(names)}

    def __getitem__(self, index):
        return self._apply_transforms(self._loader(self.data[index]), self.targets[index])

    def extra_repr(self):
        return super().extra_repr() + f"\nClasses (identities): {len(self.class_to_idx)}"


class LFWPairs(_LFW):
    """Pairs of face images, target 1 (same person) or 0. Each fold of the list file has
    ``n`` matched lines ``<name> <i> <j>`` then ``n`` mismatched ``<name1> <i> <name2> <j>``.
    Items are (image1, image2, target); ``transform`` applies to both images."""

    def __init__(self, root, split="10fold", image_set="funneled", transform=None, target_transform=None,
                 download=False, loader=default_loader):
        super().__init__(root, split, image_set, "pairs", transform, target_transform, download, loader=loader)
        self.pair_names, self.data, self.targets = self._get_pairs(self.images_dir)

    def _get_pairs(self, images_dir):
        pair_names, data, targets = [], [], []
        with open(os.path.join(self.root, self.labels_file)) as f:
            lines = f.readlines()
        if self.split == "10fold":
            n_folds, n_pairs = (int(v) for v in lines[0].split("\t"))
        else:
            n_folds, n_pairs = 1, int(lines[0])
        pos = 1
        for _ in range(n_folds):
            matched = [line.strip().split("\t") for line in lines[pos:pos + n_pairs]]
            mismatched = [line.strip().split("\t") for line in lines[pos + n_pairs:pos + 2 * n_pairs]]
            pos += 2 * n_pairs
            for name, i, j in matched:
                pair_names.append((name, name))
                data.append((self._get_path(name, i), self._get_path(name, j)))
                targets.append(1)
            for name1, i, name2, j in mismatched:
                pair_names.append((name1, name2))
                data.append((self._get_path(name1, i), self._get_path(name2, j)))
                targets.append(0)
        return pair_names, data, targets

    def __getitem__(self, index):
        path1, path2 = self.data[index]
        img1, img2 = self._loader(path1), self._loader(path2)
        target = self.targets[index]
        if self.transform is not None:
            img1, img2 = self.transform(img1), self.transform(img2)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img1, img2, target
