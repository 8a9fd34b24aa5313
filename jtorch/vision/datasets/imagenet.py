"""ImageNet 2012 (ILSVRC2012) classification from the official archives, which must be placed
in ``root`` by hand (they are not downloadable without an account)."""
import os
import shutil
import tempfile

import jtorch as torch

from .folder import ImageFolder
from .utils import check_integrity, extract_archive, verify_str_arg

ARCHIVE_META = {
    "train": ("ILSVRC2012_img_train.tar", "1d675b47d978889d74fa0da5fadfb00e"),
    "val": ("ILSVRC2012_img_val.tar", "29b22e2961454d5413ddabcf34fc5622"),
    "devkit": ("ILSVRC2012_devkit_t12.tar.gz", "fa75699e90414af021442c21a62c3abf"),
}
META_FILE = "meta.bin"


class ImageNet(ImageFolder):
    """ImageNet ``split`` 'train' or 'val' as an ImageFolder over ``root/<split>/<wnid>/*.JPEG``.

    On first use the archives in ``root`` are unpacked: the devkit gives ``root/meta.bin``
    (the class names of each WordNet id and the validation labels), the train tar holds one tar
    per class, and the flat validation images are sorted into class folders. ``wnids`` and
    ``wnid_to_idx`` index the folders; ``classes`` holds each class's tuple of names and
    ``class_to_idx`` maps every one of those names to the class index.
    """

    def __init__(self, root, split="train", **kwargs):
        root = self.root = os.path.expanduser(root)
        self.split = verify_str_arg(split, "split", ("train", "val"))
        self.parse_archives()
        wnid_to_classes = load_meta_file(self.root)[0]
        super().__init__(self.split_folder, **kwargs)
        self.root = root
        self.wnids = self.classes
        self.wnid_to_idx = self.class_to_idx
        self.classes = [wnid_to_classes[wnid] for wnid in self.wnids]
        self.class_to_idx = {name: idx for idx, names in enumerate(self.classes) for name in names}

    def parse_archives(self):
        if not check_integrity(os.path.join(self.root, META_FILE)):
            parse_devkit_archive(self.root)
        if not os.path.isdir(self.split_folder):
            (parse_train_archive if self.split == "train" else parse_val_archive)(self.root)

    @property
    def split_folder(self):
        return os.path.join(self.root, self.split)

    def extra_repr(self):
        return f"Split: {self.split}"


def load_meta_file(root, file=None):
    """(wnid -> tuple of class names, list of the validation images' wnids) from ``root/meta.bin``."""
    path = os.path.join(root, file or META_FILE)
    if not check_integrity(path):
        raise RuntimeError(f"The meta file {path} is not present in the root directory or is corrupted. "
                           "This file is automatically created by the ImageNet dataset.")
    return torch.load(path, weights_only=True)


def _verify_archive(root, file, md5):
    if not check_integrity(os.path.join(root, file), md5):
        raise RuntimeError(f"The archive {file} is not present in the root directory or is corrupted. "
                           f"You need to download it externally and place it in {root}.")


def _parse_meta_mat(devkit_root):
    """The leaf synsets (the 1000 classes) of ``data/meta.mat``: idx -> wnid and wnid -> names."""
    import scipy.io  # optional dependency, as in torchvision

    synsets = scipy.io.loadmat(os.path.join(devkit_root, "data", "meta.mat"), squeeze_me=True)["synsets"]
    leaves = [s for s in synsets if s["num_children"] == 0]  # inner nodes of the hierarchy are not classes
    idx_to_wnid = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in leaves}
    wnid_to_classes = {str(s["WNID"]): tuple(str(s["words"]).split(", ")) for s in leaves}
    return idx_to_wnid, wnid_to_classes


def parse_devkit_archive(root, file=None):
    """Write ``root/meta.bin`` from the devkit archive (needs scipy for its meta.mat)."""
    file = file or ARCHIVE_META["devkit"][0]
    _verify_archive(root, file, ARCHIVE_META["devkit"][1])
    with tempfile.TemporaryDirectory() as tmp:
        extract_archive(os.path.join(root, file), tmp)
        devkit_root = os.path.join(tmp, "ILSVRC2012_devkit_t12")
        idx_to_wnid, wnid_to_classes = _parse_meta_mat(devkit_root)
        with open(os.path.join(devkit_root, "data", "ILSVRC2012_validation_ground_truth.txt")) as f:
            val_wnids = [idx_to_wnid[int(line)] for line in f.readlines()]
    torch.save((wnid_to_classes, val_wnids), os.path.join(root, META_FILE))


def parse_train_archive(root, file=None, folder="train"):
    """Unpack the training tar into ``root/folder``, then each per-class tar into its own folder."""
    file = file or ARCHIVE_META["train"][0]
    _verify_archive(root, file, ARCHIVE_META["train"][1])
    train_root = os.path.join(root, folder)
    extract_archive(os.path.join(root, file), train_root)
    for name in os.listdir(train_root):
        archive = os.path.join(train_root, name)
        extract_archive(archive, os.path.splitext(archive)[0], remove_finished=True)


def parse_val_archive(root, file=None, wnids=None, folder="val"):
    """Unpack the validation tar into ``root/folder`` and move the images (in sorted name order,
    matching the devkit's ground truth) into one folder per wnid."""
    file = file or ARCHIVE_META["val"][0]
    if wnids is None:
        wnids = load_meta_file(root)[1]
    _verify_archive(root, file, ARCHIVE_META["val"][1])
    val_root = os.path.join(root, folder)
    extract_archive(os.path.join(root, file), val_root)
    images = sorted(os.path.join(val_root, name) for name in os.listdir(val_root))
    for wnid in set(wnids):
        os.mkdir(os.path.join(val_root, wnid))
    for wnid, image in zip(wnids, images):
        shutil.move(image, os.path.join(val_root, wnid, os.path.basename(image)))
