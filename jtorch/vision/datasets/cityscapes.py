"""Cityscapes: urban street scenes with fine or coarse semantic and instance annotations."""
import json
import os
from collections import namedtuple

from PIL import Image

from .utils import extract_archive, iterable_to_str, verify_str_arg
from .vision import VisionDataset


class Cityscapes(VisionDataset):
    """Cityscapes under ``root``: images ``leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` and
    targets ``gtFine`` (``mode='fine'``: splits train/test/val) or ``gtCoarse`` (``'coarse'``:
    train/train_extra/val) as ``<name>_<gtFine|gtCoarse>_<instanceIds.png|labelIds.png|color.png|
    polygons.json>``. ``target_type`` is one or a list of 'instance', 'semantic', 'color' (PIL
    images as opened) and 'polygon' (the JSON as a dict); a list gives a tuple. When the folders
    are missing, the official zips in ``root`` are unpacked. Samples are in directory-listing order.
    """

    CityscapesClass = namedtuple("CityscapesClass", ["name", "id", "train_id", "category", "category_id",
                                                     "has_instances", "ignore_in_eval", "color"])
    classes = [
        CityscapesClass('unlabeled', 0, 255, 'void', 0, False, True, (0, 0, 0)),
        CityscapesClass('ego vehicle', 1, 255, 'void', 0, False, True, (0, 0, 0)),
        CityscapesClass('rectification border', 2, 255, 'void', 0, False, True, (0, 0, 0)),
        CityscapesClass('out of roi', 3, 255, 'void', 0, False, True, (0, 0, 0)),
        CityscapesClass('static', 4, 255, 'void', 0, False, True, (0, 0, 0)),
        CityscapesClass('dynamic', 5, 255, 'void', 0, False, True, (111, 74, 0)),
        CityscapesClass('ground', 6, 255, 'void', 0, False, True, (81, 0, 81)),
        CityscapesClass('road', 7, 0, 'flat', 1, False, False, (128, 64, 128)),
        CityscapesClass('sidewalk', 8, 1, 'flat', 1, False, False, (244, 35, 232)),
        CityscapesClass('parking', 9, 255, 'flat', 1, False, True, (250, 170, 160)),
        CityscapesClass('rail track', 10, 255, 'flat', 1, False, True, (230, 150, 140)),
        CityscapesClass('building', 11, 2, 'construction', 2, False, False, (70, 70, 70)),
        CityscapesClass('wall', 12, 3, 'construction', 2, False, False, (102, 102, 156)),
        CityscapesClass('fence', 13, 4, 'construction', 2, False, False, (190, 153, 153)),
        CityscapesClass('guard rail', 14, 255, 'construction', 2, False, True, (180, 165, 180)),
        CityscapesClass('bridge', 15, 255, 'construction', 2, False, True, (150, 100, 100)),
        CityscapesClass('tunnel', 16, 255, 'construction', 2, False, True, (150, 120, 90)),
        CityscapesClass('pole', 17, 5, 'object', 3, False, False, (153, 153, 153)),
        CityscapesClass('polegroup', 18, 255, 'object', 3, False, True, (153, 153, 153)),
        CityscapesClass('traffic light', 19, 6, 'object', 3, False, False, (250, 170, 30)),
        CityscapesClass('traffic sign', 20, 7, 'object', 3, False, False, (220, 220, 0)),
        CityscapesClass('vegetation', 21, 8, 'nature', 4, False, False, (107, 142, 35)),
        CityscapesClass('terrain', 22, 9, 'nature', 4, False, False, (152, 251, 152)),
        CityscapesClass('sky', 23, 10, 'sky', 5, False, False, (70, 130, 180)),
        CityscapesClass('person', 24, 11, 'human', 6, True, False, (220, 20, 60)),
        CityscapesClass('rider', 25, 12, 'human', 6, True, False, (255, 0, 0)),
        CityscapesClass('car', 26, 13, 'vehicle', 7, True, False, (0, 0, 142)),
        CityscapesClass('truck', 27, 14, 'vehicle', 7, True, False, (0, 0, 70)),
        CityscapesClass('bus', 28, 15, 'vehicle', 7, True, False, (0, 60, 100)),
        CityscapesClass('caravan', 29, 255, 'vehicle', 7, True, True, (0, 0, 90)),
        CityscapesClass('trailer', 30, 255, 'vehicle', 7, True, True, (0, 0, 110)),
        CityscapesClass('train', 31, 16, 'vehicle', 7, True, False, (0, 80, 100)),
        CityscapesClass('motorcycle', 32, 17, 'vehicle', 7, True, False, (0, 0, 230)),
        CityscapesClass('bicycle', 33, 18, 'vehicle', 7, True, False, (119, 11, 32)),
        CityscapesClass('license plate', -1, -1, 'vehicle', 7, False, True, (0, 0, 142)),
    ]

    _SUFFIX = {"instance": "instanceIds.png", "semantic": "labelIds.png", "color": "color.png",
               "polygon": "polygons.json"}

    def __init__(self, root, split="train", mode="fine", target_type="instance", transform=None,
                 target_transform=None, transforms=None):
        super().__init__(root, transforms, transform, target_transform)
        self.mode = "gtFine" if mode == "fine" else "gtCoarse"
        self.images_dir = os.path.join(self.root, "leftImg8bit", split)
        self.targets_dir = os.path.join(self.root, self.mode, split)
        self.target_type = target_type
        self.split = split
        self.images, self.targets = [], []
        verify_str_arg(mode, "mode", ("fine", "coarse"))
        valid_splits = ("train", "test", "val") if mode == "fine" else ("train", "train_extra", "val")
        verify_str_arg(split, "split", valid_splits,
                       f"Unknown value '{split}' for argument split if mode is '{mode}'. "
                       f"Valid values are {{{iterable_to_str(valid_splits)}}}.")
        if not isinstance(target_type, list):
            self.target_type = [target_type]
        for value in self.target_type:
            verify_str_arg(value, "target_type", ("instance", "semantic", "polygon", "color"))

        if not os.path.isdir(self.images_dir) or not os.path.isdir(self.targets_dir):
            images_zip = os.path.join(self.root, "leftImg8bit_trainextra.zip" if split == "train_extra"
                                      else "leftImg8bit_trainvaltest.zip")
            targets_zip = os.path.join(self.root, "gtFine_trainvaltest.zip" if self.mode == "gtFine"
                                       else "gtCoarse.zip")
            if not (os.path.isfile(images_zip) and os.path.isfile(targets_zip)):
                raise RuntimeError("Dataset not found or incomplete. Please make sure all required folders for the "
                                   'specified "split" and "mode" are inside the "root" directory')
            extract_archive(from_path=images_zip, to_path=self.root)
            extract_archive(from_path=targets_zip, to_path=self.root)

        for city in os.listdir(self.images_dir):
            img_dir = os.path.join(self.images_dir, city)
            target_dir = os.path.join(self.targets_dir, city)
            for file_name in os.listdir(img_dir):
                stem = file_name.split("_leftImg8bit")[0]
                self.images.append(os.path.join(img_dir, file_name))
                self.targets.append([os.path.join(target_dir, f"{stem}_{self._get_target_suffix(self.mode, t)}")
                                     for t in self.target_type])

    def __getitem__(self, index):
        image = Image.open(self.images[index]).convert("RGB")
        targets = [self._load_json(path) if kind == "polygon" else Image.open(path)
                   for kind, path in zip(self.target_type, self.targets[index])]
        target = tuple(targets) if len(targets) > 1 else targets[0]
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def __len__(self):
        return len(self.images)

    def extra_repr(self):
        return f"Split: {self.split}\nMode: {self.mode}\nType: {self.target_type}"

    @staticmethod
    def _load_json(path):
        with open(path) as f:
            return json.load(f)

    def _get_target_suffix(self, mode, target_type):
        return f"{mode}_{self._SUFFIX[target_type]}"
