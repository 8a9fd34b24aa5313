"""Optical flow datasets (Sintel, FlyingChairs, FlyingThings3D, KittiFlow, HD1K) and their file
readers (.flo, .pfm, 16-bit PNG) against real torchvision on the same fake files. torchvision reads
KITTI's 16-bit flow PNGs with its compiled decoder, which is not available here: those flows are
checked against the values written."""
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import jtorch.vision.datasets as JD
from jtorch.vision.datasets._png16 import decode_png_16, read_png_16
from jtorch.vision.datasets.utils import _read_pfm
from ds_oracle import same_items, same_value, write_image
from tv import torchvision

tv = torchvision()
TD = tv.datasets


def _write_flo(path, rng, h=4, w=5):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    flow = rng.standard_normal((h, w, 2)).astype("<f4")
    with open(path, "wb") as f:
        f.write(b"PIEH" + struct.pack("<ii", w, h) + flow.tobytes())
    return flow.transpose(2, 0, 1)


def _write_pfm(path, rng, h=4, w=5, channels=3, little=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = rng.standard_normal((h, w, channels)).astype("<f4" if little else ">f4")
    with open(path, "wb") as f:
        scale = b"-1.0\n" if little else b"1.0\n"  # the sign gives the byte order
        f.write((b"PF" if channels == 3 else b"Pf") + b"\n" + f"{w} {h}\n".encode() + scale)
        f.write(data[::-1].tobytes())  # bottom row first
    return data.transpose(2, 0, 1)


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _write_png16(path, values):
    """A 16-bit RGB PNG of uint16 (3, H, W) ``values``, rows filtered with each of the 5 PNG
    filters in turn (so that decoding exercises all of them)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    big_endian = np.ascontiguousarray(values.transpose(1, 2, 0), dtype=">u2")
    rows = big_endian.view(np.uint8).reshape(values.shape[1], -1).astype(np.int32)
    bpp, raw, prev = 6, b"", np.zeros(rows.shape[1], np.int32)
    for y, row in enumerate(rows):
        kind = y % 5
        a = np.concatenate([np.zeros(bpp, np.int32), row[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        pred = [0, a, prev, (a + prev) // 2, _paeth(a, prev, c)][kind]
        raw += bytes([kind]) + ((row - pred) % 256).astype(np.uint8).tobytes()
        prev = row
    header = struct.pack(">IIBBBBB", values.shape[2], values.shape[1], 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(raw))
                + _png_chunk(b"IEND", b""))


def _write_kitti_flow_png(path, rng, h=5, w=7):
    flow = np.round(rng.uniform(-100, 100, (2, h, w)) * 64) / 64
    valid = rng.integers(0, 2, (h, w))
    _write_png16(path, np.concatenate([flow * 64 + 2 ** 15, valid[None]]).astype(np.uint16))
    return flow.astype(np.float32), valid.astype(bool)


# ---------------------------------------------------------------- readers

@pytest.mark.parametrize("channels,little", [(3, True), (1, False), (3, False)])
def test_read_pfm_matches_torchvision(tmp_path, rng, channels, little):
    data = _write_pfm(str(tmp_path / "x.pfm"), rng, channels=channels, little=little)
    for k in (1, 2, 3):
        same_value(_read_pfm(str(tmp_path / "x.pfm"), k), TD.utils._read_pfm(str(tmp_path / "x.pfm"), k))
    np.testing.assert_array_equal(_read_pfm(str(tmp_path / "x.pfm"), 3), data.astype(np.float32))
    (tmp_path / "bad.pfm").write_bytes(b"P6\n1 1\n255\n")
    with pytest.raises(ValueError, match="Invalid PFM file"):
        _read_pfm(str(tmp_path / "bad.pfm"))


def test_read_png_16_all_filters_and_pillow_gray(tmp_path, rng):
    values = rng.integers(0, 2 ** 16, (3, 11, 6), dtype=np.uint16)
    _write_png16(str(tmp_path / "rgb.png"), values)
    for read in (read_png_16, decode_png_16):  # through Pillow's decoder, and the numpy one
        got = read(str(tmp_path / "rgb.png"))
        assert got.dtype == np.uint16 and got.shape == (3, 11, 6)
        np.testing.assert_array_equal(got, values)
        # a 16-bit grayscale PNG written by Pillow (its own choice of filters) reads back the same
        gray = rng.integers(0, 2 ** 16, (9, 13)).astype(np.uint16)
        Image.fromarray(gray).save(tmp_path / "gray.png")
        np.testing.assert_array_equal(read(str(tmp_path / "gray.png"))[0], gray)
    Image.fromarray(gray.astype(np.uint8)).save(tmp_path / "eight.png")
    with pytest.raises(ValueError, match="only non-interlaced 16-bit"):
        read_png_16(str(tmp_path / "eight.png"))


# ---------------------------------------------------------------- datasets with torchvision readers

def _write_sintel(root, rng):
    for split in ("training", "test"):
        for pass_name in ("clean", "final"):
            for scene, n in (("alley_1", 3), ("bamboo_2", 2)):
                for k in range(1, n + 1):
                    write_image(str(root / "Sintel" / split / pass_name / scene / f"frame_{k:04d}.png"), rng, (5, 4))
    for scene, n in (("alley_1", 3), ("bamboo_2", 2)):
        for k in range(1, n):
            _write_flo(str(root / "Sintel" / "training" / "flow" / scene / f"frame_{k:04d}.flo"), rng)


@pytest.mark.parametrize("split,pass_name", [("train", "clean"), ("train", "both"), ("test", "final")])
def test_sintel_matches_torchvision(tmp_path, rng, split, pass_name):
    _write_sintel(tmp_path, rng)
    j, t = JD.Sintel(str(tmp_path), split=split, pass_name=pass_name), \
        TD.Sintel(str(tmp_path), split=split, pass_name=pass_name)
    same_items(j, t)
    assert j._image_list == t._image_list and j._flow_list == t._flow_list and repr(j) == repr(t)
    assert len(3 * j) == 3 * len(j)
    with pytest.raises(ValueError, match="Unknown value 'albedo' for argument pass_name"):
        JD.Sintel(str(tmp_path), pass_name="albedo")


def test_flying_chairs_matches_torchvision(tmp_path, rng):
    data = tmp_path / "FlyingChairs" / "data"
    for k in range(1, 6):
        write_image(str(data / f"{k:05d}_img1.ppm"), rng, (5, 4))
        write_image(str(data / f"{k:05d}_img2.ppm"), rng, (5, 4))
        _write_flo(str(data / f"{k:05d}_flow.flo"), rng)
    with pytest.raises(FileNotFoundError, match="FlyingChairs_train_val.txt file was not found"):
        JD.FlyingChairs(str(tmp_path))
    (tmp_path / "FlyingChairs" / "FlyingChairs_train_val.txt").write_text("1\n2\n1\n1\n2\n")
    for split in ("train", "val"):
        j, t = JD.FlyingChairs(str(tmp_path), split=split), TD.FlyingChairs(str(tmp_path), split=split)
        same_items(j, t)
        assert j._image_list == t._image_list and len(j) == (3 if split == "train" else 2)

    def flip(img1, img2, flow, mask):
        return img2, img1, -flow, mask

    same_items(JD.FlyingChairs(str(tmp_path), transforms=flip), TD.FlyingChairs(str(tmp_path), transforms=flip))


def test_flying_things3d_matches_torchvision(tmp_path, rng):
    root = tmp_path / "FlyingThings3D"
    for seq in ("A/0000", "B/0003"):
        for frames in ("frames_cleanpass", "frames_finalpass"):
            for cam in ("left", "right"):
                for k in range(6, 9):
                    write_image(str(root / frames / "TRAIN" / seq / cam / f"{k:04d}.png"), rng, (5, 4))
        for direction, tag in (("into_future", "IntoFuture"), ("into_past", "IntoPast")):
            for cam in ("left", "right"):
                for k in range(6, 9):
                    _write_pfm(str(root / "optical_flow" / "TRAIN" / seq / direction / cam /
                                   f"OpticalFlow{tag}_{k:04d}_{cam[0].upper()}.pfm"), rng)
    for pass_name, camera in (("clean", "left"), ("both", "both")):
        j = JD.FlyingThings3D(str(tmp_path), pass_name=pass_name, camera=camera)
        t = TD.FlyingThings3D(str(tmp_path), pass_name=pass_name, camera=camera)
        same_items(j, t)
        assert j._image_list == t._image_list and j._flow_list == t._flow_list
    with pytest.raises(FileNotFoundError, match="Could not find the FlyingThings3D flow images"):
        JD.FlyingThings3D(str(tmp_path), split="test")


# ---------------------------------------------------------------- KITTI-format 16-bit flow PNGs

def test_kitti_flow(tmp_path, rng):
    root = tmp_path / "KittiFlow"
    flows = []
    for k in range(3):
        for split in ("training", "testing"):
            for frame in (10, 11):
                write_image(str(root / split / "image_2" / f"{k:06d}_{frame}.png"), rng, (7, 5))
        flows.append(_write_kitti_flow_png(str(root / "training" / "flow_occ" / f"{k:06d}_10.png"), rng))
    j, t = JD.KittiFlow(str(tmp_path)), TD.KittiFlow(str(tmp_path))
    assert j._image_list == t._image_list and j._flow_list == t._flow_list and repr(j) == repr(t)
    for k in range(3):
        img1, img2, flow, valid = j[k]
        same_value(img1, t._read_img(t._image_list[k][0]))
        same_value(img2, t._read_img(t._image_list[k][1]))
        assert flow.dtype == np.float32 and valid.dtype == bool
        np.testing.assert_array_equal(flow, flows[k][0])
        np.testing.assert_array_equal(valid, flows[k][1])
    same_items(JD.KittiFlow(str(tmp_path), split="test"), TD.KittiFlow(str(tmp_path), split="test"))
    assert JD.KittiFlow(str(tmp_path), split="test")[0][3] is None  # no flow: 4 items, mask None
    with pytest.raises(FileNotFoundError, match="Could not find the Kitti flow images"):
        JD.KittiFlow(str(tmp_path / "none"))


def test_hd1k(tmp_path, rng):
    root = tmp_path / "hd1k"
    flows = {}
    for seq, n in ((0, 3), (7, 2)):
        for k in range(n):
            write_image(str(root / "hd1k_input" / "image_2" / f"{seq:06d}_{k:04d}.png"), rng, (6, 5))
            path = root / "hd1k_flow_gt" / "flow_occ" / f"{seq:06d}_{k:04d}.png"
            flows[str(path)] = _write_kitti_flow_png(str(path), rng, h=5, w=6)
    for k in range(2):
        for frame in (10, 11):
            write_image(str(root / "hd1k_challenge" / "image_2" / f"{k:06d}_{frame}.png"), rng, (6, 5))
    j, t = JD.HD1K(str(tmp_path)), TD.HD1K(str(tmp_path))
    assert j._image_list == t._image_list and j._flow_list == t._flow_list and len(j) == 3
    for k in range(len(j)):
        _, _, flow, valid = j[k]
        np.testing.assert_array_equal(flow, flows[j._flow_list[k]][0])
        np.testing.assert_array_equal(valid, flows[j._flow_list[k]][1])
    same_items(JD.HD1K(str(tmp_path), split="test"), TD.HD1K(str(tmp_path), split="test"))
    with pytest.raises(FileNotFoundError, match="Could not find the HD1K images"):
        JD.HD1K(str(tmp_path / "none"))
