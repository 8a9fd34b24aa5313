"""Writes jtorch/data/sobol_joe_kuo.npz: the Joe–Kuo Sobol' direction numbers (new-joe-kuo-6.21201, published
by S. Joe and F. Y. Kuo) that torch.quasirandom.SobolEngine uses, for all 21201 dimensions.

Run once at development time with scipy installed (scipy ships the same published table, BSD-licensed):
    python scripts/gen_sobol_directions.py
Row d holds dimension d's primitive polynomial (``poly``: its bits, leading and constant terms included)
and its initial direction numbers m_1..m_s (``minit``, zero-padded to 18 = the largest degree).
"""
import os

import numpy as np
import scipy.stats

src = np.load(os.path.join(os.path.dirname(scipy.stats.__file__), "_sobol_direction_numbers.npz"))
poly, minit = src["poly"], src["vinit"]
assert poly.shape == (21201,) and minit.shape == (21201, 18)
assert poly.max() < 2 ** 32 and minit.max() < 2 ** 18
out = os.path.join(os.path.dirname(__file__), "..", "jtorch", "data", "sobol_joe_kuo.npz")
np.savez_compressed(out, poly=poly.astype(np.uint32), minit=minit.astype(np.uint32))
print(out, os.path.getsize(out))
