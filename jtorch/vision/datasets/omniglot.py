"""Omniglot: 1623 handwritten characters from 50 alphabets (one-shot learning)."""
from os.path import join

from PIL import Image

from .utils import check_integrity, download_and_extract_archive, list_dir, list_files
from .vision import VisionDataset


class Omniglot(VisionDataset):
    """Omniglot under ``root/omniglot-py``: ``images_background`` (``background=True``) or
    ``images_evaluation``, each ``<alphabet>/<character>/*.png``. Every character is a class,
    numbered in directory-listing order (as torchvision does); the zip next to the folder must
    be present (it is what is checked). Items are (PIL image mode 'L', int character class)."""

    folder = "omniglot-py"
    download_url_prefix = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"
    zips_md5 = {"images_background": "68d2efa1b9178cc56df9314c21c6e718",
                "images_evaluation": "6b91aef0f799c5bb55b94e3f2daec811"}

    def __init__(self, root, background=True, transform=None, target_transform=None, download=False, loader=None):
        super().__init__(join(root, self.folder), transform=transform, target_transform=target_transform)
        self.background = background
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        self.target_folder = join(self.root, self._get_target_folder())
        self._alphabets = list_dir(self.target_folder)
        self._characters = [join(a, c) for a in self._alphabets for c in list_dir(join(self.target_folder, a))]
        self._character_images = [[(image, idx) for image in list_files(join(self.target_folder, character), ".png")]
                                  for idx, character in enumerate(self._characters)]
        self._flat_character_images = [item for images in self._character_images for item in images]
        self.loader = loader

    def __len__(self):
        return len(self._flat_character_images)

    def __getitem__(self, index):
        image_name, character_class = self._flat_character_images[index]
        image_path = join(self.target_folder, self._characters[character_class], image_name)
        image = Image.open(image_path, mode="r").convert("L") if self.loader is None else self.loader(image_path)
        return self._apply_transforms(image, character_class)

    def _check_integrity(self):
        name = self._get_target_folder()
        return check_integrity(join(self.root, name + ".zip"), self.zips_md5[name])

    def download(self):
        if self._check_integrity():
            return
        name = self._get_target_folder()
        download_and_extract_archive(f"{self.download_url_prefix}/{name}.zip", self.root, filename=name + ".zip",
                                     md5=self.zips_md5[name])

    def _get_target_folder(self):
        return "images_background" if self.background else "images_evaluation"
