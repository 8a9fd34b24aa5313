"""jtorch.vision.datasets: torchvision.datasets' classes, reading the same on-disk formats."""
from .vision import VisionDataset, StandardTransform
from .mnist import MNIST, FashionMNIST, KMNIST, EMNIST
from .cifar import CIFAR10, CIFAR100
from .folder import DatasetFolder, ImageFolder, IMG_EXTENSIONS, default_loader, pil_loader, find_classes, \
    make_dataset, has_file_allowed_extension, is_image_file
from .fakedata import FakeData
from .digits import Digits
from . import utils

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "KMNIST", "EMNIST", "CIFAR10", "CIFAR100", "DatasetFolder",
           "ImageFolder", "FakeData", "Digits"]
