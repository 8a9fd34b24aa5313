"""Stanford Cars: 196 car models, annotations in MATLAB files."""
import pathlib

from .folder import default_loader
from .utils import verify_str_arg
from .vision import VisionDataset


class StanfordCars(VisionDataset):
    """Stanford Cars under ``root/stanford_cars`` (needs scipy): class names in
    ``devkit/cars_meta.mat``; the train annotations in ``devkit/cars_train_annos.mat`` with the
    images in ``cars_train``, the test ones in ``cars_test_annos_withlabels.mat`` and ``cars_test``.
    Targets are the 1-based 'class' fields minus 1 (numpy integers, as the .mat stores them).
    It cannot be downloaded any more: ``download=True`` raises ValueError."""

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False,
                 loader=default_loader):
        try:
            import scipy.io as sio
        except ImportError:
            raise RuntimeError("Scipy is not found. This dataset needs to have scipy installed: pip install scipy")
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = pathlib.Path(self.root) / "stanford_cars"
        devkit = self._base_folder / "devkit"
        if self._split == "train":
            self._annotations_mat_path = devkit / "cars_train_annos.mat"
            self._images_base_path = self._base_folder / "cars_train"
        else:
            self._annotations_mat_path = self._base_folder / "cars_test_annos_withlabels.mat"
            self._images_base_path = self._base_folder / "cars_test"
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found.")
        annotations = sio.loadmat(self._annotations_mat_path, squeeze_me=True)["annotations"]
        self._samples = [(str(self._images_base_path / a["fname"]), a["class"] - 1) for a in annotations]
        self.classes = sio.loadmat(str(devkit / "cars_meta.mat"), squeeze_me=True)["class_names"].tolist()
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.loader = loader

    def __len__(self):
        return len(self._samples)

    def __getitem__(self, idx):
        path, target = self._samples[idx]
        return self._apply_transforms(self.loader(path), target)

    def _check_exists(self):
        if not (self._base_folder / "devkit").is_dir():
            return False
        return self._annotations_mat_path.exists() and self._images_base_path.is_dir()

    def download(self):
        raise ValueError("The original URL is broken so the StanfordCars dataset cannot be downloaded anymore.")
