"""wrap_dataset_for_transforms_v2: a dataset whose samples come back as tv_tensors (boxes as
BoundingBoxes, segmentation masks as Mask) so that transforms.v2 transform them with the image. The
wrapper takes over the dataset's transforms and applies them to the wrapped sample."""
import collections.abc
import contextlib
from collections import defaultdict
from copy import copy

import jtorch as torch
from jtorch.vision import datasets, tv_tensors
from jtorch.vision.transforms.v2 import functional as F

__all__ = ["wrap_dataset_for_transforms_v2"]


def wrap_dataset_for_transforms_v2(dataset, target_keys=None):
    """Wrap a torchvision-style dataset for transforms.v2 (target_keys: None for the defaults, "all", or
    a collection of key names; only the detection datasets take it)."""
    if not (target_keys is None or target_keys == "all" or (
            isinstance(target_keys, collections.abc.Collection) and all(isinstance(k, str) for k in target_keys))):
        raise ValueError("`target_keys` can be None, 'all', or a collection of strings denoting the keys to be "
                         f"returned, but got {target_keys}")
    wrapped_cls = type(f"Wrapped{type(dataset).__name__}", (_TVTensorDatasetWrapper, type(dataset)), {})
    return wrapped_cls(dataset, target_keys)


_FACTORIES = {}


def _factory_for(*dataset_classes):
    def register(factory):
        for cls in dataset_classes:
            _FACTORIES[cls] = factory
        return factory
    return register


class _TVTensorDatasetWrapper:
    def __init__(self, dataset, target_keys):
        dataset_cls = type(dataset)
        if not isinstance(dataset, datasets.VisionDataset):
            raise TypeError("This wrapper is meant for subclasses of `torchvision.datasets.VisionDataset`, but got a "
                            f"'{dataset_cls.__name__}' instead.")
        for cls in dataset_cls.mro():
            if cls in _FACTORIES:
                factory = _FACTORIES[cls]
                if target_keys is not None and cls not in (datasets.CocoDetection, datasets.VOCDetection):
                    raise ValueError("`target_keys` is currently only supported for `CocoDetection`, `VOCDetection`, "
                                     f"`Kitti`, and `WIDERFace`, but got {cls.__name__}.")
                break
            if cls is datasets.VisionDataset:
                raise TypeError(f"No wrapper exists for dataset class {dataset_cls.__name__}. Please wrap the output "
                                "yourself.")
        self._dataset = dataset
        self._target_keys = target_keys
        self._wrapper = factory(dataset, target_keys)
        # the wrapper applies the transforms, after wrapping
        self.transform, dataset.transform = dataset.transform, None
        self.target_transform, dataset.target_transform = dataset.target_transform, None
        self.transforms, dataset.transforms = dataset.transforms, None

    def __getattr__(self, item):
        with contextlib.suppress(AttributeError):
            return object.__getattribute__(self, item)
        return getattr(self._dataset, item)

    def __getitem__(self, idx):
        sample = self._wrapper(idx, self._dataset[idx])
        if self.transforms is not None:
            sample = self.transforms(*sample)
        return sample

    def __len__(self):
        return len(self._dataset)

    def __reduce__(self):
        dataset = copy(self._dataset)
        dataset.transform, dataset.transforms = self.transform, self.transforms
        dataset.target_transform = self.target_transform
        return wrap_dataset_for_transforms_v2, (dataset, self._target_keys)


def _parse_target_keys(target_keys, *, available, default):
    if target_keys is None:
        return default
    if target_keys == "all":
        return available
    target_keys = set(target_keys)
    extra = target_keys - available
    if extra:
        raise ValueError(f"Target keys {sorted(extra)} are not available")
    return target_keys


def _batched(list_of_dicts):
    out = defaultdict(list)
    for d in list_of_dicts:
        for k, v in d.items():
            out[k].append(v)
    return dict(out)


@_factory_for(datasets.Caltech256, datasets.CIFAR10, datasets.CIFAR100, datasets.ImageNet, datasets.MNIST,
              datasets.FashionMNIST, datasets.GTSRB, datasets.DatasetFolder, datasets.ImageFolder,
              datasets.Imagenette, datasets.CocoCaptions)
def _identity_factory(dataset, target_keys):
    return lambda idx, sample: sample


@_factory_for(datasets.VOCSegmentation)
def _segmentation_factory(dataset, target_keys):
    def wrapper(idx, sample):
        image, mask = sample
        return image, tv_tensors.Mask(mask)
    return wrapper


VOC_DETECTION_CATEGORIES = ["__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
                            "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
                            "sheep", "sofa", "train", "tvmonitor"]
_VOC_INDEX = {name: i for i, name in enumerate(VOC_DETECTION_CATEGORIES)}


@_factory_for(datasets.VOCDetection)
def _voc_detection_factory(dataset, target_keys):
    target_keys = _parse_target_keys(target_keys, available={"annotation", "boxes", "labels"},
                                     default={"boxes", "labels"})

    def wrapper(idx, sample):
        image, target = sample
        objects = _batched(target["annotation"]["object"])
        if "annotation" not in target_keys:
            target = {}
        if "boxes" in target_keys:
            target["boxes"] = tv_tensors.BoundingBoxes(
                [[int(b[part]) for part in ("xmin", "ymin", "xmax", "ymax")] for b in objects["bndbox"]],
                format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=(image.height, image.width))
        if "labels" in target_keys:
            target["labels"] = torch.tensor([_VOC_INDEX[name] for name in objects["name"]])
        return image, target
    return wrapper


@_factory_for(datasets.CocoDetection)
def _coco_detection_factory(dataset, target_keys):
    target_keys = _parse_target_keys(
        target_keys, available={"segmentation", "area", "iscrowd", "image_id", "bbox", "category_id", "boxes", "masks",
                                "labels"},
        default={"image_id", "boxes", "labels"})

    def segmentation_to_mask(segmentation, canvas_size):
        from pycocotools import mask  # as torchvision: COCO's polygons and RLEs are decoded by pycocotools
        if isinstance(segmentation, dict):
            if not isinstance(segmentation["counts"], str):
                segmentation = mask.frPyObjects(segmentation, *canvas_size)
        elif isinstance(segmentation, list):
            segmentation = mask.merge(mask.frPyObjects(segmentation, *canvas_size))
        else:
            raise ValueError(f"COCO segmentation expected to be a dict or a list, got {type(segmentation)}")
        return torch.from_numpy(mask.decode(segmentation))

    def wrapper(idx, sample):
        image_id = dataset.ids[idx]
        image, target = sample
        if not target:
            return image, dict(image_id=image_id)
        canvas_size = tuple(F.get_size(image))
        batched = _batched(target)
        target = {}
        if "image_id" in target_keys:
            target["image_id"] = image_id
        if "boxes" in target_keys:
            target["boxes"] = F.convert_bounding_box_format(
                tv_tensors.BoundingBoxes(batched["bbox"], format=tv_tensors.BoundingBoxFormat.XYWH,
                                         canvas_size=canvas_size),
                new_format=tv_tensors.BoundingBoxFormat.XYXY)
        if "masks" in target_keys:
            target["masks"] = tv_tensors.Mask(torch.stack([segmentation_to_mask(s, canvas_size)
                                                           for s in batched["segmentation"]]))
        if "labels" in target_keys:
            target["labels"] = torch.tensor(batched["category_id"])
        for key in target_keys - {"image_id", "boxes", "masks", "labels"}:
            target[key] = batched[key]
        return image, target
    return wrapper
