"""jtorch.vision.datasets: torchvision.datasets' classes, reading the same on-disk formats."""
from .vision import VisionDataset, StandardTransform
from .mnist import MNIST, FashionMNIST, KMNIST, EMNIST, QMNIST
from .cifar import CIFAR10, CIFAR100
from .folder import DatasetFolder, ImageFolder, IMG_EXTENSIONS, default_loader, pil_loader, find_classes, \
    make_dataset, has_file_allowed_extension, is_image_file
from .fakedata import FakeData
from .digits import Digits
from .svhn import SVHN
from .stl10 import STL10
from .imagenet import ImageNet
from .caltech import Caltech101, Caltech256
from .flowers102 import Flowers102
from .food101 import Food101
from .oxford_iiit_pet import OxfordIIITPet
from .celeba import CelebA
from .voc import VOCSegmentation, VOCDetection
from .coco import CocoDetection, CocoCaptions
from .gtsrb import GTSRB
from .dtd import DTD
from .eurosat import EuroSAT
from .fer2013 import FER2013
from .country211 import Country211
from .stanford_cars import StanfordCars
from .fgvc_aircraft import FGVCAircraft
from .imagenette import Imagenette
from .semeion import SEMEION
from .usps import USPS
from .omniglot import Omniglot
from .lfw import LFWPeople, LFWPairs
from .sun397 import SUN397
from .places365 import Places365
from .moving_mnist import MovingMNIST
from .widerface import WIDERFace
from .flickr import Flickr8k, Flickr30k
from .sbu import SBU
from .kitti import Kitti
from .pcam import PCAM
from .cityscapes import Cityscapes
from .sbd import SBDataset
from .inaturalist import INaturalist
from .clevr import CLEVRClassification
from .rendered_sst2 import RenderedSST2
from ._optical_flow import FlyingChairs, FlyingThings3D, HD1K, KittiFlow, Sintel
from .phototour import PhotoTour
from .lsun import LSUN, LSUNClass
from ._stereo_matching import CarlaStereo, CREStereo, ETH3DStereo, FallingThingsStereo, InStereo2k, \
    Kitti2012Stereo, Kitti2015Stereo, Middlebury2014Stereo, SceneFlowStereo, SintelStereo
from .hmdb51 import HMDB51
from .ucf101 import UCF101
from .kinetics import Kinetics
from . import samplers, utils, video_utils

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "KMNIST", "EMNIST", "CIFAR10", "CIFAR100", "DatasetFolder",
           "ImageFolder", "FakeData", "Digits", "SVHN", "STL10", "ImageNet", "Caltech101", "Caltech256",
           "Flowers102", "Food101", "OxfordIIITPet", "QMNIST", "CelebA", "VOCSegmentation", "VOCDetection",
           "CocoDetection", "CocoCaptions", "GTSRB", "DTD", "EuroSAT", "FER2013", "Country211", "StanfordCars",
           "FGVCAircraft", "Imagenette", "SEMEION", "USPS", "Omniglot", "LFWPeople", "LFWPairs", "SUN397",
           "Places365", "MovingMNIST", "WIDERFace", "Flickr8k", "Flickr30k", "SBU", "Kitti", "PCAM",
           "Cityscapes", "SBDataset", "INaturalist", "CLEVRClassification", "RenderedSST2",
           "FlyingChairs", "FlyingThings3D", "HD1K", "KittiFlow", "Sintel",
           "PhotoTour", "LSUN", "LSUNClass", "CarlaStereo", "CREStereo", "ETH3DStereo", "FallingThingsStereo",
           "InStereo2k", "Kitti2012Stereo", "Kitti2015Stereo", "Middlebury2014Stereo", "SceneFlowStereo",
           "SintelStereo", "HMDB51", "UCF101", "Kinetics"]


def wrap_dataset_for_transforms_v2(dataset, target_keys=None):
    """Samples as tv_tensors for transforms.v2 (see _wrap_v2; loaded on use, as tv_tensors switch on
    __torch_function__ dispatch)."""
    from ._wrap_v2 import wrap_dataset_for_transforms_v2 as wrap
    return wrap(dataset, target_keys)


__all__.append("wrap_dataset_for_transforms_v2")
