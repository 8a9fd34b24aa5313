"""Build jtorch/data/digits.npz from scikit-learn's copy of the UCI 8x8 handwritten digits.

scikit-learn is not a dependency: this script downloads its wheel with pip (or takes a
wheel / ``digits.csv.gz`` path you already have), reads ``sklearn/datasets/data/digits.csv.gz``
straight out of the zip, and writes a small npz:

    images  uint8 (1797, 8, 8), values 0..16
    labels  int64 (1797,), values 0..9

Usage:  python scripts/make_digits.py [path/to/scikit_learn-*.whl | path/to/digits.csv.gz]
"""
import glob
import gzip
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

MEMBER = "sklearn/datasets/data/digits.csv.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "jtorch", "data", "digits.npz")


def _csv_gz_bytes(source):
    if source is None:  # fetch the wheel without installing it
        tmp = tempfile.mkdtemp()
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                               "scikit-learn", "-d", tmp])
        source = glob.glob(os.path.join(tmp, "scikit_learn-*.whl"))[0]
    if source.endswith(".whl"):
        with zipfile.ZipFile(source) as z:
            return z.read(MEMBER)
    with open(source, "rb") as f:
        return f.read()


def convert(csv_gz):
    table = np.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",", dtype=np.float64)
    assert table.shape == (1797, 65), table.shape
    images = table[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    assert images.max() == 16 and images.min() == 0 and sorted(set(labels.tolist())) == list(range(10))
    return images, labels


def main(argv):
    images, labels = convert(_csv_gz_bytes(argv[1] if len(argv) > 1 else None))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"wrote {os.path.normpath(OUT)}: images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}")


if __name__ == "__main__":
    main(sys.argv)
