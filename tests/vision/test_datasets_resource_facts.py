"""The download URLs, file names and MD5 checksums of every dataset are torchvision's (a typo here
would only show on a real download, which cannot run in the tests)."""
import inspect

import pytest

import jtorch.vision.datasets as JD
import jtorch.vision.datasets.imagenet as j_imagenet
import jtorch.vision.datasets.inaturalist as j_inat
import jtorch.vision.datasets.voc as j_voc
from tv import torchvision

tv = torchvision()
TD = tv.datasets

# (class name, attribute) pairs held as class attributes by both libraries
_SAME_ATTRIBUTES = [
    ("MNIST", "resources"), ("MNIST", "mirrors"), ("SVHN", "split_list"), ("STL10", "url"), ("STL10", "tgz_md5"),
    ("STL10", "train_list"), ("STL10", "test_list"), ("CIFAR10", "url"), ("CIFAR10", "tgz_md5"),
    ("Flowers102", "_download_url_prefix"), ("Flowers102", "_file_dict"), ("Food101", "_URL"), ("Food101", "_MD5"),
    ("OxfordIIITPet", "_RESOURCES"), ("CelebA", "file_list"), ("DTD", "_URL"), ("DTD", "_MD5"),
    ("Country211", "_URL"), ("Country211", "_MD5"), ("FGVCAircraft", "_URL"), ("Imagenette", "_ARCHIVES"),
    ("Imagenette", "_WNID_TO_CLASS"), ("SEMEION", "url"), ("SEMEION", "md5_checksum"), ("USPS", "split_list"),
    ("QMNIST", "resources"), ("Omniglot", "download_url_prefix"), ("Omniglot", "zips_md5"), ("LFWPeople", "file_dict"),
    ("LFWPeople", "checksums"), ("LFWPeople", "download_url_prefix"), ("SUN397", "_DATASET_URL"),
    ("SUN397", "_DATASET_MD5"), ("Places365", "_BASE_URL"), ("Places365", "_DEVKIT_META"),
    ("Places365", "_CATEGORIES_META"), ("Places365", "_FILE_LIST_META"), ("Places365", "_IMAGES_META"),
    ("MovingMNIST", "_URL"), ("WIDERFace", "FILE_LIST"), ("WIDERFace", "ANNOTATIONS_FILE"), ("SBU", "url"),
    ("SBU", "md5_checksum"), ("Kitti", "data_url"), ("Kitti", "resources"), ("PCAM", "_FILES"), ("SBDataset", "url"),
    ("SBDataset", "md5"), ("SBDataset", "voc_train_url"), ("SBDataset", "voc_split_md5"),
    ("CLEVRClassification", "_URL"), ("CLEVRClassification", "_MD5"), ("RenderedSST2", "_URL"),
    ("RenderedSST2", "_MD5"), ("PhotoTour", "urls"), ("PhotoTour", "lens"), ("PhotoTour", "means"),
    ("PhotoTour", "stds"), ("Middlebury2014Stereo", "splits"), ("Cityscapes", "classes"), ("Flowers102", "classes"),
]


@pytest.mark.parametrize("name,attr", _SAME_ATTRIBUTES)
def test_class_resources_are_torchvisions(name, attr):
    assert getattr(getattr(JD, name), attr) == getattr(getattr(TD, name), attr)


def test_module_resources_are_torchvisions():
    assert j_imagenet.ARCHIVE_META == TD.imagenet.ARCHIVE_META and j_imagenet.META_FILE == TD.imagenet.META_FILE
    assert j_voc.DATASET_YEAR_DICT == TD.voc.DATASET_YEAR_DICT
    assert j_inat.DATASET_URLS == TD.inaturalist.DATASET_URLS and j_inat.DATASET_MD5 == TD.inaturalist.DATASET_MD5


@pytest.mark.parametrize("name,strings", [
    ("Caltech101", lambda c: c._ARCHIVE), ("Caltech256", lambda c: c._ARCHIVE),
    ("GTSRB", lambda c: [c._BASE_URL] + [s for files in c._RESOURCES.values() for pair in files for s in pair]),
    ("EuroSAT", lambda c: (c._URL, c._MD5)), ("MovingMNIST", lambda c: (c._MD5,)),
    ("Middlebury2014Stereo", lambda c: (c._SCENES_URL, c._TEST_URL)),
])
def test_resources_written_in_torchvisions_methods(name, strings):
    """Where torchvision writes the URL or checksum inside a method, it is in that source text."""
    source = inspect.getsource(getattr(TD, name))
    for s in strings(getattr(JD, name)):
        assert s in source, s
