"""PASCAL VOC 2007-2012: segmentation masks and detection annotations."""
import collections
import os

from PIL import Image

from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

try:  # safer XML parsing when the package is there, as in torchvision
    from defusedxml.ElementTree import parse as ET_parse
except ImportError:
    from xml.etree.ElementTree import parse as ET_parse

_THOR = "https://thor.robots.ox.ac.uk/pascal/VOC/"


def _year(url, filename, md5, *base_dir):
    return {"url": _THOR + url, "filename": filename, "md5": md5, "base_dir": os.path.join(*base_dir)}


DATASET_YEAR_DICT = {
    "2012": _year("voc2012/VOCtrainval_11-May-2012.tar", "VOCtrainval_11-May-2012.tar",
                  "6cd6e144f989b92b3379bac3b3de84fd", "VOCdevkit", "VOC2012"),
    "2011": _year("voc2011/VOCtrainval_25-May-2011.tar", "VOCtrainval_25-May-2011.tar",
                  "6c3384ef61512963050cb5d687e5bf1e", "TrainVal", "VOCdevkit", "VOC2011"),
    "2010": _year("voc2010/VOCtrainval_03-May-2010.tar", "VOCtrainval_03-May-2010.tar",
                  "da459979d0c395079b5c75ee67908abb", "VOCdevkit", "VOC2010"),
    "2009": _year("voc2009/VOCtrainval_11-May-2009.tar", "VOCtrainval_11-May-2009.tar",
                  "a3e00b113cfcfebf17e343f59da3caa1", "VOCdevkit", "VOC2009"),
    # torchvision saves the 2008 archive under the 2012 file name; kept so that roots match
    "2008": _year("voc2008/VOCtrainval_14-Jul-2008.tar", "VOCtrainval_11-May-2012.tar",
                  "2629fa636546599198acfcfbfcf1904a", "VOCdevkit", "VOC2008"),
    "2007": _year("voc2007/VOCtrainval_06-Nov-2007.tar", "VOCtrainval_06-Nov-2007.tar",
                  "c52e279531787c972589f7e41ab4ae64", "VOCdevkit", "VOC2007"),
    "2007-test": _year("voc2007/VOCtest_06-Nov-2007.tar", "VOCtest_06-Nov-2007.tar",
                       "b6e924de25625d8de591ea690078ad9f", "VOCdevkit", "VOC2007"),
}


class _VOCBase(VisionDataset):
    """The image list of ``year`` (2007..2012, a string) and ``image_set`` ('train', 'trainval',
    'val', and 'test' for 2007) from ``<base_dir>/ImageSets/<_SPLITS_DIR>/<image_set>.txt``;
    images in ``JPEGImages/<id>.jpg`` and targets in ``<_TARGET_DIR>/<id><_TARGET_FILE_EXT>``."""

    _SPLITS_DIR: str
    _TARGET_DIR: str
    _TARGET_FILE_EXT: str

    def __init__(self, root, year="2012", image_set="train", download=False, transform=None,
                 target_transform=None, transforms=None):
        super().__init__(root, transforms, transform, target_transform)
        self.year = verify_str_arg(year, "year", valid_values=[str(y) for y in range(2007, 2013)])
        valid_sets = ["train", "trainval", "val"] + (["test"] if year == "2007" else [])
        self.image_set = verify_str_arg(image_set, "image_set", valid_sets)
        entry = DATASET_YEAR_DICT["2007-test" if year == "2007" and image_set == "test" else year]
        self.url, self.filename, self.md5 = entry["url"], entry["filename"], entry["md5"]
        voc_root = os.path.join(self.root, entry["base_dir"])
        if download:
            download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.md5)
        if not os.path.isdir(voc_root):
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        with open(os.path.join(voc_root, "ImageSets", self._SPLITS_DIR, image_set + ".txt")) as f:
            ids = [line.strip() for line in f.readlines()]
        self.images = [os.path.join(voc_root, "JPEGImages", i + ".jpg") for i in ids]
        self.targets = [os.path.join(voc_root, self._TARGET_DIR, i + self._TARGET_FILE_EXT) for i in ids]

    def __len__(self):
        return len(self.images)

    def _transformed(self, img, target):
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target


class VOCSegmentation(_VOCBase):
    """Items are (RGB PIL image, the class mask PNG as opened: a palette 'P' image)."""

    _SPLITS_DIR = "Segmentation"
    _TARGET_DIR = "SegmentationClass"
    _TARGET_FILE_EXT = ".png"

    @property
    def masks(self):
        return self.targets

    def __getitem__(self, index):
        return self._transformed(Image.open(self.images[index]).convert("RGB"), Image.open(self.masks[index]))


class VOCDetection(_VOCBase):
    """Items are (RGB PIL image, the annotation XML as nested dicts, see ``parse_voc_xml``)."""

    _SPLITS_DIR = "Main"
    _TARGET_DIR = "Annotations"
    _TARGET_FILE_EXT = ".xml"

    @property
    def annotations(self):
        return self.targets

    def __getitem__(self, index):
        target = self.parse_voc_xml(ET_parse(self.annotations[index]).getroot())
        return self._transformed(Image.open(self.images[index]).convert("RGB"), target)

    @staticmethod
    def parse_voc_xml(node):
        """``{tag: text}`` for a leaf element; ``{tag: {child tag: value or list of values}}`` for
        an element with children, a tag repeated among the children giving a list. The
        annotation's 'object' is always a list, even of one object."""
        result = {}
        children = list(node)
        if children:
            grouped = collections.defaultdict(list)
            for child in children:
                for tag, value in VOCDetection.parse_voc_xml(child).items():
                    grouped[tag].append(value)
            if node.tag == "annotation":
                grouped["object"] = [grouped["object"]]
            result = {node.tag: {tag: vals[0] if len(vals) == 1 else vals for tag, vals in grouped.items()}}
        if node.text and not children:
            result[node.tag] = node.text.strip()
        return result
