"""SBU Captioned Photo Dataset: Flickr photos with their captions."""
import os

from .folder import default_loader
from .utils import check_integrity, download_and_extract_archive, download_url
from .vision import VisionDataset


class SBU(VisionDataset):
    """SBU under ``root``: the archive ``SBUCaptionedPhotoDataset.tar.gz`` (md5-checked) unpacked to
    ``dataset/`` with the photo URL list and the caption list (line by line). Photos are
    fetched from their URLs by ``download`` (which defaults to True, as in torchvision; the ones
    no longer online are skipped); only the photos present are items: (image, caption)."""

    url = "https://www.cs.rice.edu/~vo9/sbucaptions/SBUCaptionedPhotoDataset.tar.gz"
    filename = "SBUCaptionedPhotoDataset.tar.gz"
    md5_checksum = "9aec147b3488753cf758b4d493422285"

    def __init__(self, root, transform=None, target_transform=None, download=True, loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.loader = loader
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        self.photos, self.captions = [], []
        folder = os.path.join(self.root, "dataset")
        with open(os.path.join(folder, "SBU_captioned_photo_dataset_urls.txt")) as urls, \
                open(os.path.join(folder, "SBU_captioned_photo_dataset_captions.txt")) as captions:
            for url, caption in zip(urls, captions):
                photo = os.path.basename(url.rstrip())
                if os.path.exists(os.path.join(folder, photo)):
                    self.photos.append(photo)
                    self.captions.append(caption.rstrip())

    def __getitem__(self, index):
        img = self.loader(os.path.join(self.root, "dataset", self.photos[index]))
        return self._apply_transforms(img, self.captions[index])

    def __len__(self):
        return len(self.photos)

    def _check_integrity(self):
        return check_integrity(os.path.join(self.root, self.filename), self.md5_checksum)

    def download(self):
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, self.root, self.filename, self.md5_checksum)
        folder = os.path.join(self.root, "dataset")
        with open(os.path.join(folder, "SBU_captioned_photo_dataset_urls.txt")) as f:
            for line in f:
                try:
                    download_url(line.rstrip(), folder)
                except OSError:  # many photos are gone from Flickr
                    pass
