"""Per-op eager latency, small and large tensors: jtorch against torch and raw (jitted) JAX.

    python bench/ops.py [--quick] [--small | --large]   (the same table as `python -m bench --only ops`;
                                              --small / --large: only the 32x32 / 1024x1024 rows)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.run import bench_ops  # noqa: E402

if __name__ == "__main__":
    bench_ops("--quick" in sys.argv, sizes=(32,) if "--small" in sys.argv else (1024,) if "--large" in sys.argv else (32, 1024))
