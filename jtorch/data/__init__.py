"""Data shipped inside the package (see ``digits.txt`` for provenance)."""
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits():
    """The UCI 8x8 handwritten digits (scikit-learn's copy): 1797 images, 10 classes.

    Returns ``(images, labels)`` as numpy arrays: uint8 ``(1797, 8, 8)`` with values
    0..16 and int64 ``(1797,)`` with values 0..9 (fresh copies, safe to modify).
    """
    with np.load(os.path.join(_HERE, "digits.npz")) as f:
        return f["images"].copy(), f["labels"].copy()
