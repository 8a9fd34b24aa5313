"""PatchCamelyon (PCam): 96x96 histopathology patches labelled for metastatic tissue."""
import pathlib

from PIL import Image

from .utils import download_file_from_google_drive, extract_archive, verify_str_arg
from .vision import VisionDataset


class PCAM(VisionDataset):
    """PCam under ``root/pcam`` from the HDF5 files (needs h5py) of ``split`` 'train', 'val' or
    'test': images ``x`` (N, 96, 96, 3) uint8 and targets ``y`` (N, 1, 1, 1). Files are opened per
    access, so the dataset holds nothing in memory. Items are (RGB PIL image, int 0/1)."""

    _FILES = {  # split -> kind -> (file name, Google Drive id, md5 of the .gz)
        "train": {
            "images": ("camelyonpatch_level_2_split_train_x.h5", "1Ka0XfEMiwgCYPdTI-vv6eUElOBnKFKQ2",
                       "1571f514728f59376b705fc836ff4b63"),
            "targets": ("camelyonpatch_level_2_split_train_y.h5", "1269yhu3pZDP8UYFQs-NYs3FPwuK-nGSG",
                        "35c2d7259d906cfc8143347bb8e05be7"),
        },
        "test": {
            "images": ("camelyonpatch_level_2_split_test_x.h5", "1qV65ZqZvWzuIVthK8eVDhIwrbnsJdbg_",
                       "d8c2d60d490dbd479f8199bdfa0cf6ec"),
            "targets": ("camelyonpatch_level_2_split_test_y.h5", "17BHrSrwWKjYsOgTMmoqrIjDy6Fa2o_gP",
                        "60a7035772fbdb7f34eb86d4420cf66a"),
        },
        "val": {
            "images": ("camelyonpatch_level_2_split_valid_x.h5", "1hgshYGWK8V-eGRy8LToWJJgDU_rXWVJ3",
                       "d5b63470df7cfa627aeec8b9dc0c066e"),
            "targets": ("camelyonpatch_level_2_split_valid_y.h5", "1bH8ZRbhSVAhScTS0p9-ZzGnX91cHT3uO",
                        "2b85f58b927af9964a4c15b8f7e8f179"),
        },
    }

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        try:
            import h5py
        except ImportError:
            raise RuntimeError("h5py is not found. This dataset needs to have h5py installed: "
                               "please run pip install h5py") from None
        self.h5py = h5py
        self._split = verify_str_arg(split, "split", ("train", "test", "val"))
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._base_folder = pathlib.Path(self.root) / "pcam"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")

    def _path(self, kind):
        return self._base_folder / self._FILES[self._split][kind][0]

    def __len__(self):
        with self.h5py.File(self._path("images")) as images:
            return images["x"].shape[0]

    def __getitem__(self, idx):
        with self.h5py.File(self._path("images")) as images:
            image = Image.fromarray(images["x"][idx]).convert("RGB")
        with self.h5py.File(self._path("targets")) as targets:
            target = int(targets["y"][idx, 0, 0, 0])
        return self._apply_transforms(image, target)

    def _check_exists(self):
        return all(self._path(kind).exists() for kind in ("images", "targets"))

    def _download(self):
        if self._check_exists():
            return
        for file_name, file_id, md5 in self._FILES[self._split].values():
            archive = file_name + ".gz"
            download_file_from_google_drive(file_id, str(self._base_folder), filename=archive, md5=md5)
            extract_archive(str(self._base_folder / archive))  # a single gzipped file: decompressed beside it
