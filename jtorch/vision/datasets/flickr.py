"""Flickr8k and Flickr30k: images with five captions each."""
import glob
import os
from collections import defaultdict
from html.parser import HTMLParser

from .folder import default_loader
from .vision import VisionDataset


class Flickr8kParser(HTMLParser):
    """Reads the Flickr8k annotation HTML: in its table, a link names an image (its id is the
    second-to-last part of the URL; the file is ``root/<id>_*.jpg``) and the list items after it
    are that image's captions. 'Image Not Found' rows are skipped."""

    def __init__(self, root):
        super().__init__()
        self.root = root
        self.annotations = {}
        self.in_table = False
        self.current_tag = None
        self.current_img = None

    def handle_starttag(self, tag, attrs):
        self.current_tag = tag
        if tag == "table":
            self.in_table = True

    def handle_endtag(self, tag):
        self.current_tag = None
        if tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if not self.in_table:
            return
        if data == "Image Not Found":
            self.current_img = None
        elif self.current_tag == "a":
            image_id = data.split("/")[-2]
            self.current_img = glob.glob(os.path.join(self.root, image_id + "_*.jpg"))[0]
            self.annotations[self.current_img] = []
        elif self.current_tag == "li" and self.current_img:
            self.annotations[self.current_img].append(data.strip())


class Flickr8k(VisionDataset):
    """Flickr8k: images in ``root``, captions from the annotation HTML ``ann_file``. Items,
    ordered by image path, are (image, list of caption strings)."""

    def __init__(self, root, ann_file, transform=None, target_transform=None, loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.ann_file = os.path.expanduser(ann_file)
        parser = Flickr8kParser(self.root)
        with open(self.ann_file) as f:
            parser.feed(f.read())
        self.annotations = parser.annotations
        self.ids = sorted(self.annotations)
        self.loader = loader

    def __getitem__(self, index):
        img_id = self.ids[index]
        return self._apply_transforms(self.loader(img_id), self.annotations[img_id])

    def __len__(self):
        return len(self.ids)


class Flickr30k(VisionDataset):
    """Flickr30k: images in ``root``, captions from ``ann_file`` lines ``<file>#<n>\\t<caption>``.
    Items, ordered by file name, are (image, list of caption strings)."""

    def __init__(self, root, ann_file, transform=None, target_transform=None, loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.ann_file = os.path.expanduser(ann_file)
        self.annotations = defaultdict(list)
        with open(self.ann_file) as f:
            for line in f:
                img_id, caption = line.strip().split("\t")
                self.annotations[img_id[:-2]].append(caption)  # drop the '#<n>' caption number
        self.ids = sorted(self.annotations)
        self.loader = loader

    def __getitem__(self, index):
        img_id = self.ids[index]
        return self._apply_transforms(self.loader(os.path.join(self.root, img_id)), self.annotations[img_id])

    def __len__(self):
        return len(self.ids)
