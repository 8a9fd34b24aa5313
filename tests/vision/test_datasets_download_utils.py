"""The Google Drive part of jtorch.vision.datasets.utils (ids from links, the gdown path and its
checks) against torchvision's, and a new dataset feeding a DataLoader like torchvision's does."""
import os
import sys
import types

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.datasets as JD
from jtorch.vision import transforms as JT
from jtorch.vision.datasets import utils as ju
from ds_oracle import md5
from helpers import assert_close
from tv import torchvision

tv = torchvision()
TD = tv.datasets

_LINKS = ["https://drive.google.com/file/d/1abcDEF_-x/view?usp=sharing", "https://docs.google.com/file/d/XYZ/edit",
          "https://drive.google.com/open?id=XYZ", "https://example.com/file/d/XYZ", "http://drive.google.com/file/d/"]


def test_google_drive_file_id_matches_torchvision():
    for url in _LINKS:
        assert ju._google_drive_file_id(url) == TD.utils._get_google_drive_file_id(url), url


@pytest.fixture
def fake_gdown(monkeypatch, tmp_path):
    """A stand-in gdown that 'downloads' a local file (Google Drive cannot be reached here)."""
    calls = []
    source = tmp_path / "drive_file.bin"
    source.write_bytes(b"drive contents")

    def download(id, output, quiet=False, user_agent=None):
        calls.append((id, output, user_agent))
        with open(output, "wb") as f:
            f.write(source.read_bytes())

    monkeypatch.setitem(sys.modules, "gdown", types.SimpleNamespace(download=download))
    return calls, md5(source)


def test_download_file_from_google_drive(tmp_path, fake_gdown):
    calls, checksum = fake_gdown
    ju.download_file_from_google_drive("FILEID", str(tmp_path / "root"), "data.bin", checksum)
    assert calls == [("FILEID", str(tmp_path / "root" / "data.bin"), "pytorch/vision")]
    ju.download_file_from_google_drive("FILEID", str(tmp_path / "root"), "data.bin", checksum)
    assert len(calls) == 1  # already there with the right checksum
    ju.download_file_from_google_drive("OTHER", str(tmp_path / "root"))
    assert os.path.isfile(tmp_path / "root" / "OTHER")  # named after the id by default
    with pytest.raises(RuntimeError, match="File not found or corrupted."):
        ju.download_file_from_google_drive("BAD", str(tmp_path / "root"), "bad.bin", "0" * 32)


def test_download_url_routes_drive_links(tmp_path, fake_gdown):
    calls, checksum = fake_gdown
    ju.download_url("https://drive.google.com/file/d/THEID/view", str(tmp_path), "x.bin", checksum)
    assert calls[0][0] == "THEID" and (tmp_path / "x.bin").read_bytes() == b"drive contents"


def test_download_file_from_google_drive_needs_gdown(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gdown", None)
    for fn in (ju.download_file_from_google_drive, TD.utils.download_file_from_google_drive):
        with pytest.raises(RuntimeError, match="To download files from GDrive, 'gdown' is required"):
            fn("ID", str(tmp_path))


def test_svhn_through_dataloader_matches_torchvision(tmp_path, rng):
    scipy_io = pytest.importorskip("scipy.io")
    scipy_io.savemat(str(tmp_path / "test_32x32.mat"), {"X": rng.integers(0, 256, (32, 32, 3, 10), dtype=np.uint8),
                                                        "y": rng.integers(1, 11, (10, 1)).astype(np.uint8)})
    split_list = dict(JD.SVHN.split_list, test=["", "test_32x32.mat", md5(tmp_path / "test_32x32.mat")])
    J, T = (type("SVHN", (b,), {"split_list": split_list}) for b in (JD.SVHN, TD.SVHN))
    mean, std = (0.44, 0.44, 0.47), (0.2, 0.2, 0.2)
    j = J(str(tmp_path), split="test", transform=JT.Compose([JT.ToTensor(), JT.Normalize(mean, std)]))
    t = T(str(tmp_path), split="test", transform=tv.transforms.Compose([tv.transforms.ToTensor(),
                                                                       tv.transforms.Normalize(mean, std)]))
    for (jx, jy), (tx, ty) in zip(jtorch.utils.data.DataLoader(j, batch_size=4),
                                  torch.utils.data.DataLoader(t, batch_size=4)):
        assert_close(jx, tx)
        assert_close(jy, ty)
