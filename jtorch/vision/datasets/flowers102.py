"""Oxford 102 Flowers: 102 flower categories, with the official train/val/test split."""
from pathlib import Path

from .folder import default_loader
from .utils import check_integrity, download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset


class Flowers102(VisionDataset):
    """Oxford 102 Flowers under ``root/flowers-102``: images ``jpg/image_NNNNN.jpg``, labels
    (1-based, made 0-based here) in ``imagelabels.mat`` and the split's image ids in
    ``setid.mat`` (both need scipy). ``split`` is 'train', 'val' or 'test'.
    """

    _download_url_prefix = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
    _file_dict = {
        "image": ("102flowers.tgz", "52808999861908f626f3c1f4e79d11fa"),
        "label": ("imagelabels.mat", "e0620be6f572b9609742df49c70aed4d"),
        "setid": ("setid.mat", "a5357ecc9cb78c4bef273ce3793fc85c"),
    }
    _splits_map = {"train": "trnid", "val": "valid", "test": "tstid"}

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False,
                 loader=default_loader):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        self._base_folder = Path(self.root) / "flowers-102"
        self._images_folder = self._base_folder / "jpg"
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        from scipy.io import loadmat  # optional dependency, as in torchvision

        image_ids = loadmat(self._base_folder / self._file_dict["setid"][0],
                            squeeze_me=True)[self._splits_map[self._split]].tolist()
        labels = loadmat(self._base_folder / self._file_dict["label"][0], squeeze_me=True)["labels"]
        # image ids start at 1; labels keep the file's number type, like torchvision's
        label_of = dict(enumerate((labels - 1).tolist(), 1))
        self._labels = [label_of[image_id] for image_id in image_ids]
        self._image_files = [self._images_folder / f"image_{image_id:05d}.jpg" for image_id in image_ids]
        self.loader = loader

    def __len__(self):
        return len(self._image_files)

    def __getitem__(self, idx):
        return self._apply_transforms(self.loader(self._image_files[idx]), self._labels[idx])

    def extra_repr(self):
        return f"split={self._split}"

    def _check_integrity(self):
        if not self._images_folder.is_dir():
            return False
        return all(check_integrity(str(self._base_folder / self._file_dict[key][0]), self._file_dict[key][1])
                   for key in ("label", "setid"))

    def download(self):
        if self._check_integrity():
            return
        name, md5 = self._file_dict["image"]
        download_and_extract_archive(self._download_url_prefix + name, str(self._base_folder), md5=md5)
        for key in ("label", "setid"):
            name, md5 = self._file_dict[key]
            download_url(self._download_url_prefix + name, str(self._base_folder), md5=md5)

    classes = ['pink primrose', 'hard-leaved pocket orchid', 'canterbury bells', 'sweet pea', 'english marigold',
        'tiger lily', 'moon orchid', 'bird of paradise', 'monkshood', 'globe thistle', 'snapdragon', "colt's foot",
        'king protea', 'spear thistle', 'yellow iris', 'globe-flower', 'purple coneflower', 'peruvian lily',
        'balloon flower', 'giant white arum lily', 'fire lily', 'pincushion flower', 'fritillary', 'red ginger',
        'grape hyacinth', 'corn poppy', 'prince of wales feathers', 'stemless gentian', 'artichoke', 'sweet william',
        'carnation', 'garden phlox', 'love in the mist', 'mexican aster', 'alpine sea holly', 'ruby-lipped cattleya',
        'cape flower', 'great masterwort', 'siam tulip', 'lenten rose', 'barbeton daisy', 'daffodil', 'sword lily',
        'poinsettia', 'bolero deep blue', 'wallflower', 'marigold', 'buttercup', 'oxeye daisy', 'common dandelion',
        'petunia', 'wild pansy', 'primula', 'sunflower', 'pelargonium', 'bishop of llandaff', 'gaura', 'geranium',
        'orange dahlia', 'pink-yellow dahlia?', 'cautleya spicata', 'japanese anemone', 'black-eyed susan',
        'silverbush', 'californian poppy', 'osteospermum', 'spring crocus', 'bearded iris', 'windflower',
        'tree poppy', 'gazania', 'azalea', 'water lily', 'rose', 'thorn apple', 'morning glory', 'passion flower',
        'lotus', 'toad lily', 'anthurium', 'frangipani', 'clematis', 'hibiscus', 'columbine', 'desert-rose',
        'tree mallow', 'magnolia', 'cyclamen', 'watercress', 'canna lily', 'hippeastrum', 'bee balm', 'ball moss',
        'foxglove', 'bougainvillea', 'camellia', 'mallow', 'mexican petunia', 'bromelia', 'blanket flower',
        'trumpet creeper', 'blackberry lily']
