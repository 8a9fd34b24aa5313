"""MS COCO detection and captions, read from the annotation JSON by a small index with the part of
pycocotools' COCO API the datasets use (so pycocotools is not needed)."""
import json
import os
from collections import defaultdict

from PIL import Image

from .vision import VisionDataset


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) or hasattr(x, "__array__") else [x]


class COCOIndex:
    """An annotation file's ``dataset`` dict indexed like ``pycocotools.coco.COCO``: ``anns``,
    ``imgs``, ``cats`` by id, ``imgToAnns`` and ``catToImgs``, and the get*Ids/load* queries."""

    def __init__(self, annotation_file=None):
        self.dataset = {}
        if annotation_file is not None:
            with open(annotation_file) as f:
                dataset = json.load(f)
            if not isinstance(dataset, dict):
                raise TypeError(f"annotation file format {type(dataset)} not supported")
            self.dataset = dataset
        self.createIndex()

    def createIndex(self):
        self.anns, self.imgs, self.cats = {}, {}, {}
        self.imgToAnns, self.catToImgs = defaultdict(list), defaultdict(list)
        for ann in self.dataset.get("annotations", []):
            self.imgToAnns[ann["image_id"]].append(ann)
            self.anns[ann["id"]] = ann
        for img in self.dataset.get("images", []):
            self.imgs[img["id"]] = img
        for cat in self.dataset.get("categories", []):
            self.cats[cat["id"]] = cat
        if "annotations" in self.dataset and "categories" in self.dataset:
            for ann in self.dataset["annotations"]:
                self.catToImgs[ann["category_id"]].append(ann["image_id"])

    def getAnnIds(self, imgIds=(), catIds=(), areaRng=(), iscrowd=None):
        """Ids of the annotations of the given images (file order within an image), of the given
        categories, with area strictly inside ``areaRng``; an empty filter keeps everything."""
        imgIds, catIds, areaRng = _as_list(imgIds), _as_list(catIds), list(areaRng)
        if imgIds:
            anns = [ann for i in imgIds if i in self.imgToAnns for ann in self.imgToAnns[i]]
        else:
            anns = self.dataset.get("annotations", [])
        if catIds:
            anns = [ann for ann in anns if ann["category_id"] in catIds]
        if areaRng:
            anns = [ann for ann in anns if areaRng[0] < ann["area"] < areaRng[1]]
        return [ann["id"] for ann in anns if iscrowd is None or ann["iscrowd"] == iscrowd]

    def getCatIds(self, catNms=(), supNms=(), catIds=()):
        catNms, supNms, catIds = _as_list(catNms), _as_list(supNms), _as_list(catIds)
        cats = self.dataset.get("categories", [])
        if catNms:
            cats = [c for c in cats if c["name"] in catNms]
        if supNms:
            cats = [c for c in cats if c["supercategory"] in supNms]
        if catIds:
            cats = [c for c in cats if c["id"] in catIds]
        return [c["id"] for c in cats]

    def getImgIds(self, imgIds=(), catIds=()):
        """All image ids, or those given that show every one of the given categories."""
        imgIds, catIds = _as_list(imgIds), _as_list(catIds)
        if not imgIds and not catIds:
            return list(self.imgs)
        ids = set(imgIds)
        for k, cat in enumerate(catIds):
            ids = set(self.catToImgs[cat]) if k == 0 and not ids else ids & set(self.catToImgs[cat])
        return list(ids)

    @staticmethod
    def _load(table, ids):
        if isinstance(ids, int):
            return [table[ids]]
        return [table[i] for i in _as_list(ids)]

    def loadAnns(self, ids=()):
        return self._load(self.anns, ids)

    def loadCats(self, ids=()):
        return self._load(self.cats, ids)

    def loadImgs(self, ids=()):
        return self._load(self.imgs, ids)


class CocoDetection(VisionDataset):
    """COCO images in ``root`` (``file_name`` of each image entry) with the annotation dicts of
    ``annFile``. Items, ordered by image id, are (RGB PIL image, list of the image's annotation
    dicts). ``coco`` is the index of the file (``COCOIndex``)."""

    def __init__(self, root, annFile, transform=None, target_transform=None, transforms=None):
        super().__init__(root, transforms, transform, target_transform)
        self.coco = COCOIndex(annFile)
        self.ids = sorted(self.coco.imgs)

    def _load_image(self, id):
        path = self.coco.loadImgs(id)[0]["file_name"]
        return Image.open(os.path.join(self.root, path)).convert("RGB")

    def _load_target(self, id):
        return self.coco.loadAnns(self.coco.getAnnIds(id))

    def __getitem__(self, index):
        if not isinstance(index, int):
            raise ValueError(f"Index must be of type integer, got {type(index)} instead.")
        id = self.ids[index]
        image, target = self._load_image(id), self._load_target(id)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def __len__(self):
        return len(self.ids)


class CocoCaptions(CocoDetection):
    """COCO captions: items are (RGB PIL image, list of the image's caption strings)."""

    def _load_target(self, id):
        return [ann["caption"] for ann in super()._load_target(id)]
