"""Shared by the dataset tests: fake files in the real formats, and item-by-item comparison of a
jtorch.vision dataset with the torchvision one reading the same files."""
import hashlib
import os

import numpy as np
from PIL import Image

import jtorch


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def write_image(path, rng, size=(6, 5), mode="RGB"):
    """A random image (w, h) saved at ``path`` (format from the suffix); returns its pixels."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(arr).save(path)  # uint8 (h, w) is mode L, (h, w, 3) RGB
    return arr


def same_value(j, t):
    """Equal values of equal types: PIL images by mode, size and pixels; tensors by dtype and
    values; numpy arrays by dtype and values; containers element-wise."""
    if isinstance(t, Image.Image):
        assert isinstance(j, Image.Image), type(j)
        assert (j.mode, j.size) == (t.mode, t.size)
        assert j.tobytes() == t.tobytes()
        if t.mode == "P":
            assert j.getpalette() == t.getpalette()
    elif type(t).__module__.startswith("torch"):
        assert isinstance(j, jtorch.Tensor), type(j)
        assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
        np.testing.assert_array_equal(j.numpy(), t.numpy())
    elif isinstance(t, np.ndarray):
        assert isinstance(j, np.ndarray) and j.dtype == t.dtype
        np.testing.assert_array_equal(j, t)
    elif isinstance(t, (tuple, list)):
        assert type(j) is type(t) and len(j) == len(t), (j, t)
        for a, b in zip(j, t):
            same_value(a, b)
    elif isinstance(t, dict):
        assert type(j) is type(t) and list(j) == list(t), (j, t)
        for k in t:
            same_value(j[k], t[k])
    else:
        assert type(j) is type(t) and j == t, (j, t)


def same_items(j_ds, t_ds):
    assert len(j_ds) == len(t_ds)
    for k in range(len(t_ds)):
        same_value(j_ds[k], t_ds[k])

