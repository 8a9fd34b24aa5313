"""MNIST and its drop-in relatives, read from the IDX files under ``root/<ClassName>/raw``."""
import gzip
import os
import shutil
import string
import warnings

import numpy as np
from PIL import Image

import jtorch as torch

from ._arrays import ArrayCache, as_index
from .utils import check_integrity, download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset

# IDX type codes -> big-endian numpy dtypes
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    """The file's bytes; ``path.gz`` is read instead when only the compressed file is there."""
    if not os.path.isfile(path) and os.path.isfile(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            return f.read()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def read_idx(path):
    """An IDX ("SN3 Pascal Vincent") file as a numpy array in native byte order."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or not 1 <= raw[3] <= 3:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    nd = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    flat = np.frombuffer(raw, dtype=dtype, offset=4 * (nd + 1))
    return flat.astype(dtype.newbyteorder("="))[:int(np.prod(shape))].reshape(shape)


def read_image_file(path):
    x = read_idx(path)
    if x.dtype != np.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {torch.tensor(x[:0]).dtype}")
    if x.ndim != 3:
        raise ValueError(f"x should have 3 dimension instead of {x.ndim}")
    return torch.tensor(x)


def read_label_file(path):
    x = read_idx(path)
    if x.dtype != np.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {torch.tensor(x[:0]).dtype}")
    if x.ndim != 1:
        raise ValueError(f"x should have 1 dimension instead of {x.ndim}")
    return torch.tensor(x.astype(np.int64))


def _exists(path):
    return check_integrity(path) or check_integrity(path + ".gz")


class MNIST(ArrayCache, VisionDataset):
    """MNIST: 28x28 grayscale digits. Items are ``(PIL image mode 'L', int target)``.

    Files: ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (or the same names
    with ``.gz``). ``download=True`` fetches them from torchvision's mirrors, checking md5s.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if self._check_legacy_exist():
            self.data, self.targets = self._load_legacy_data()
            return
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    def _check_legacy_exist(self):
        # old torchvision releases kept (data, targets) in processed/{training,test}.pt
        return all(check_integrity(os.path.join(self.processed_folder, f)) for f in (self.training_file,
                                                                                     self.test_file))

    def _load_legacy_data(self):
        name = self.training_file if self.train else self.test_file
        return torch.load(os.path.join(self.processed_folder, name), weights_only=True)

    @property
    def raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return (os.path.join(self.raw_folder, f"{prefix}-images-idx3-ubyte"),
                os.path.join(self.raw_folder, f"{prefix}-labels-idx1-ubyte"))

    def _load_data(self):
        images, labels = self._split_files()
        return read_image_file(images), read_label_file(labels)

    def _check_exists(self):
        return all(_exists(os.path.join(self.raw_folder, os.path.splitext(os.path.basename(name))[0]))
                   for name, _ in self.resources)

    def download(self):
        """Fetch and unpack the raw files (each from the first mirror that works)."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors = []
            for mirror in self.mirrors:
                try:
                    download_and_extract_archive(f"{mirror}{filename}", download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                    break
                except (RuntimeError, OSError) as e:  # URLError is an OSError
                    errors.append(f"Tried {mirror}, got:\n{e}\n")
            else:
                raise RuntimeError(f"Error downloading {filename}:\n" + "".join(errors))

    def __getitem__(self, index):
        index = as_index(index)
        img = Image.fromarray(self._host("data")[index])
        return self._apply_transforms(img, int(self._host("targets")[index]))

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"

    # torchvision's old names
    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets")
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets")
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data")
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data")
        return self.data


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format, clothing classes. Files under ``root/FashionMNIST/raw``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: cursive Japanese characters in MNIST's format. Files under ``root/KMNIST/raw``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """EMNIST letters and digits; ``split`` is one of byclass, bymerge, balanced, letters, digits,
    mnist. Files ``root/EMNIST/raw/emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte``."""

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # letters whose upper and lower case look alike are merged in bymerge/balanced
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split, **kwargs):
        self.split = verify_str_arg(split, "split", self.splits)
        self.training_file = f"training_{split}.pt"
        self.test_file = f"test_{split}.pt"
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    @property
    def _file_prefix(self):
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    @property
    def images_file(self):
        return os.path.join(self.raw_folder, f"{self._file_prefix}-images-idx3-ubyte")

    @property
    def labels_file(self):
        return os.path.join(self.raw_folder, f"{self._file_prefix}-labels-idx1-ubyte")

    def _split_files(self):
        return self.images_file, self.labels_file

    def _check_exists(self):
        return all(_exists(f) for f in (self.images_file, self.labels_file))

    def download(self):
        """Fetch the zip of all splits and unpack its gzipped IDX files into the raw folder."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)


class QMNIST(MNIST):
    """QMNIST: MNIST's digits reconstructed with their NIST metadata. ``what`` is 'train', 'test',
    'test10k' (the first 10000 test digits, MNIST's test set), 'test50k' (the other 50000) or
    'nist' (all 402953); by default 'train' or 'test' from ``train``.

    Files ``root/QMNIST/raw/qmnist-{train,test}-{images-idx3-ubyte,labels-idx2-int}`` and
    ``xnist-...`` for 'nist'. The labels hold 8 integers per digit (class, NIST writer, ...):
    ``targets`` is int64 (N, 8); with ``compat=True`` an item's target is the class as an int,
    otherwise the whole int64 row.
    """

    _URL = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test", "nist": "nist"}
    resources = {
        "train": [(_URL + "qmnist-train-images-idx3-ubyte.gz", "ed72d4157d28c017586c42bc6afe6370"),
                  (_URL + "qmnist-train-labels-idx2-int.gz", "0058f8dd561b90ffdd0f734c6a30e5e4")],
        "test": [(_URL + "qmnist-test-images-idx3-ubyte.gz", "1394631089c404de565df7b7aeaf9412"),
                 (_URL + "qmnist-test-labels-idx2-int.gz", "5b5b05890a5e13444e108efe57b788aa")],
        "nist": [(_URL + "xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
                 (_URL + "xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d")],
    }

    def __init__(self, root, what=None, compat=True, train=True, **kwargs):
        if what is None:
            what = "train" if train else "test"
        self.what = verify_str_arg(what, "what", tuple(self.subsets))
        self.compat = compat
        self.data_file = what + ".pt"
        self.training_file = self.test_file = self.data_file  # the legacy processed file
        super().__init__(root, train, **kwargs)

    def _unpacked(self, position):
        url = self.resources[self.subsets[self.what]][position][0]
        return os.path.join(self.raw_folder, os.path.splitext(os.path.basename(url))[0])

    @property
    def images_file(self):
        return self._unpacked(0)

    @property
    def labels_file(self):
        return self._unpacked(1)

    def _check_exists(self):
        return all(check_integrity(f) for f in (self.images_file, self.labels_file))

    def _load_data(self):
        data = read_idx(self.images_file)
        if data.dtype != np.uint8:
            raise TypeError(f"data should be of dtype torch.uint8 instead of {torch.tensor(data[:0]).dtype}")
        if data.ndim != 3:
            raise ValueError(f"data should have 3 dimensions instead of {data.ndim}")
        targets = read_idx(self.labels_file).astype(np.int64)
        if targets.ndim != 2:
            raise ValueError(f"targets should have 2 dimensions instead of {targets.ndim}")
        # the test files hold MNIST's 10000 test digits first, then 50000 more
        if self.what == "test10k":
            data, targets = data[:10000], targets[:10000]
        elif self.what == "test50k":
            data, targets = data[10000:], targets[10000:]
        return torch.tensor(np.ascontiguousarray(data)), torch.tensor(np.ascontiguousarray(targets))

    def download(self):
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for url, md5 in self.resources[self.subsets[self.what]]:
            download_and_extract_archive(url, self.raw_folder, md5=md5)

    def __getitem__(self, index):
        index = as_index(index)
        img = Image.fromarray(self._host("data")[index])
        row = self._host("targets")[index]
        target = int(row[0]) if self.compat else torch.tensor(row)
        return self._apply_transforms(img, target)

    def extra_repr(self):
        return f"Split: {self.what}"
