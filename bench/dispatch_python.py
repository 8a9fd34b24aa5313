"""Python cost of eager dispatch alone: every op's cached kernel is replaced by a stub that returns
its first input, so only jtorch's Python work is timed (CPU time, minimum of rounds).

    PYTHONPATH=<checkout A> python -m bench.dispatch_python
    PYTHONPATH=<checkout B> python -m bench.dispatch_python

Run it for two checkouts, alternating, to compare a change to ``_dispatch.apply`` (e.g. the sparse
reroute) on the dense path; the kernels' own time, which dominates and varies with load, is left out.
"""
import time

import jtorch as torch
from jtorch import _dispatch
from jtorch._ops import blas, reduction


def main(rounds=20, calls=3000):
    a, b, x = torch.randn(16, 16), torch.randn(16, 16), torch.randn(8, 8)
    cases = {"a+b": lambda: a + b, "torch.add": lambda: torch.add(a, b), "a.sum()": lambda: a.sum(),
             "x[0]": lambda: x[0], "a.t()": lambda: a.t(), "torch.mm": lambda: torch.mm(a, b)}
    for f in cases.values():
        for _ in range(50):
            f()
    for op in list(_dispatch.REGISTRY.values()) + [blas._matmul, reduction._sum]:
        jits = getattr(op, "_jits", None)
        if isinstance(jits, dict):
            for k in jits:
                jits[k] = _first
    res = {}
    for name, f in cases.items():
        best = float("inf")
        for _ in range(rounds):
            t = time.process_time()
            for _ in range(calls):
                f()
            best = min(best, (time.process_time() - t) / calls * 1e6)
        res[name] = best
    print(" ".join(f"{k}={v:.2f}us" for k, v in res.items()))


def _first(*arrays):
    return arrays[0]


if __name__ == "__main__":
    main()
