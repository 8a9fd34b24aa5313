"""Per-op eager latency, small and large tensors: jtorch against torch and raw (jitted) JAX.

    python bench/ops.py [--quick]      (the same table as `python -m bench --only ops`)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.run import bench_ops  # noqa: E402

if __name__ == "__main__":
    bench_ops("--quick" in sys.argv)
