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


def load_sobol_directions(dimension):
    """The first ``dimension`` rows of the Joe–Kuo Sobol' table (see ``sobol_joe_kuo.txt``):
    ``(poly, minit)`` as int64 arrays of shapes ``(dimension,)`` and ``(dimension, 18)``."""
    with np.load(os.path.join(_HERE, "sobol_joe_kuo.npz")) as f:
        return f["poly"][:dimension].astype(np.int64), f["minit"][:dimension].astype(np.int64)
