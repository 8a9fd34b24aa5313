"""Eager sparse ops, jtorch against torch in one run (wall ms per call, minimum of rounds).

    python -m bench.sparse_ops [--n 2000] [--nnz 20000] [--k 64]

A random n x n COO matrix with nnz entries (duplicates possible) and a dense n x k matrix.
"""
import argparse
import time
import warnings

import numpy as np


def _best(f, rounds=7, calls=5):
    f()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        best = min(best, (time.perf_counter() - t) / calls)
    return best * 1e3


def main():
    import torch
    import jtorch
    warnings.filterwarnings("ignore", message="Sparse invariant checks")
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--nnz", type=int, default=20000)
    ap.add_argument("--k", type=int, default=64)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    idx = np.stack([rng.integers(0, a.n, a.nnz), rng.integers(0, a.n, a.nnz)])
    v = rng.standard_normal(a.nnz).astype(np.float32)
    d = rng.standard_normal((a.n, a.k)).astype(np.float32)
    rows = {}
    for name, m in (("torch", torch), ("jtorch", jtorch)):
        s = m.sparse_coo_tensor(m.tensor(idx), m.tensor(v), (a.n, a.n))
        c, dm = s.coalesce(), m.tensor(d)
        cases = {"coalesce": lambda: m.sparse_coo_tensor(s._indices(), s._values(), (a.n, a.n)).coalesce()._nnz(),
                 "sparse.mm": lambda: m.sparse.mm(c, dm).sum().item(),
                 "to_dense": lambda: c.to_dense().sum().item(),
                 "dense.to_sparse": lambda: dm.to_sparse()._nnz(),
                 "add (coalesced)": lambda: (c + c)._nnz()}
        rows[name] = {k: _best(f) for k, f in cases.items()}
    print(f"| op (n={a.n}, nnz={a.nnz}, k={a.k}) | torch ms | jtorch ms | jtorch/torch |")
    print("|---|---:|---:|---:|")
    for k in rows["torch"]:
        t, j = rows["torch"][k], rows["jtorch"][k]
        print(f"| {k} | {t:.2f} | {j:.2f} | {j / t:.2f} |")


if __name__ == "__main__":
    main()
