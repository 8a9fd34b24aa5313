"""LSUN scene categories, stored as LMDB databases of encoded images (needs the lmdb package)."""
import io
import os
import pickle
import string
from collections.abc import Iterable

from PIL import Image

from .utils import iterable_to_str, verify_str_arg
from .vision import VisionDataset


class LSUNClass(VisionDataset):
    """One LSUN LMDB database ``root``: items are (RGB PIL image, None), in key order. The key list
    is cached, as torchvision does, in a pickle named ``_cache_<letters of root>`` in the current
    directory, and read from there when present."""

    def __init__(self, root, transform=None, target_transform=None):
        import lmdb  # optional dependency, as in torchvision

        super().__init__(root, transform=transform, target_transform=target_transform)
        self.env = lmdb.open(root, max_readers=1, readonly=True, lock=False, readahead=False, meminit=False)
        with self.env.begin(write=False) as txn:
            self.length = txn.stat()["entries"]
        cache_file = "_cache_" + "".join(c for c in root if c in string.ascii_letters)
        if os.path.isfile(cache_file):
            with open(cache_file, "rb") as f:
                self.keys = pickle.load(f)
        else:
            with self.env.begin(write=False) as txn:
                self.keys = list(txn.cursor().iternext(keys=True, values=False))
            with open(cache_file, "wb") as f:
                pickle.dump(self.keys, f)

    def __getitem__(self, index):
        with self.env.begin(write=False) as txn:
            encoded = txn.get(self.keys[index])
        img = Image.open(io.BytesIO(encoded)).convert("RGB")
        target = None
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return self.length


class LSUN(VisionDataset):
    """LSUN from ``root/<class>_lmdb`` databases. ``classes`` is 'train', 'val' (the 10 scene
    categories of that split), 'test', or a list like ['bedroom_train', 'church_outdoor_val'];
    the target is the position of the item's database in that list."""

    _CATEGORIES = ["bedroom", "bridge", "church_outdoor", "classroom", "conference_room", "dining_room", "kitchen",
                   "living_room", "restaurant", "tower"]
    _SPLITS = ["train", "val", "test"]

    def __init__(self, root, classes="train", transform=None, target_transform=None):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.classes = self._verify_classes(classes)
        self.dbs = [LSUNClass(root=os.path.join(root, f"{c}_lmdb"), transform=transform) for c in self.classes]
        self.indices, count = [], 0
        for db in self.dbs:
            count += len(db)
            self.indices.append(count)  # cumulative ends
        self.length = count

    def _verify_classes(self, classes):
        if isinstance(classes, str) and classes in self._SPLITS:
            return [classes] if classes == "test" else [f"{c}_{classes}" for c in self._CATEGORIES]
        if isinstance(classes, str):  # not a split name: report it as torchvision does
            verify_str_arg(classes, "classes", self._SPLITS)
        if not isinstance(classes, Iterable):
            raise ValueError(f"Expected type str or Iterable for argument classes, but got type {type(classes)}.")
        classes = list(classes)
        for c in classes:
            verify_str_arg(c)  # a str
            *words, split = c.split("_")
            category = "_".join(words)
            verify_str_arg(category, valid_values=self._CATEGORIES,
                           custom_msg=f"Unknown value '{category}' for LSUN class. "
                                      f"Valid values are {{{iterable_to_str(self._CATEGORIES)}}}.")
            verify_str_arg(split, valid_values=self._SPLITS,
                           custom_msg=f"Unknown value '{split}' for postfix. "
                                      f"Valid values are {{{iterable_to_str(self._SPLITS)}}}.")
        return classes

    def __getitem__(self, index):
        target, start = 0, 0
        for end in self.indices:
            if index < end:
                break
            target += 1
            start = end
        if self.target_transform is not None:
            target = self.target_transform(target)
        img, _ = self.dbs[target][index - start]
        return img, target

    def __len__(self):
        return self.length

    def extra_repr(self):
        return f"Classes: {self.classes}"
