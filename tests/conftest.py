"""Test setup: cheap XLA codegen and a persistent compilation cache (tests only, never benchmarks)."""
import gc
import os
import zlib

os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
os.environ.setdefault("JTORCH_COMPILATION_CACHE", os.path.expanduser("~/.cache/jtorch-test-xla"))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jtorch  # noqa: E402,F401


@pytest.fixture
def rng(request):
    """A numpy Generator seeded per test (from the test's name): reproducible random inputs."""
    seed = zlib.crc32(request.node.nodeid.encode())  # stable across runs (str hash() is salted)
    return np.random.default_rng(seed)


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: no reading, no release on size
        return 0


@pytest.fixture(autouse=True, scope="module")
def _release_model_programs(request):
    """After a model-zoo file (ResNet-50/VGG/video/RAFT models, train and eval programs), or any file that
    left the process over 3 GB, drop its compiled programs and garbage and hand the freed heap back to the
    OS: an xdist worker otherwise keeps growing (two workers reached 10 GB each in a full run on the 24 GB
    machine; most of it freed memory glibc kept: after fcos 2.7 GB resident, no live arrays, 0.8 GB after
    malloc_trim). A release costs 10-20 s (most of it XLA and MLIR objects being destroyed) and the worker
    then traces again every program it meets, but model files ran twice as slow without it before them
    (4 GB / 2.5 GB thresholds, session 15: detection fine-tuning 31 -> 72 s)."""
    yield
    if request.module.__name__.split(".")[-1].startswith("test_models") or _rss_bytes() > 3 << 30:
        import ctypes

        import jax
        gc.unfreeze()
        jax.clear_caches()
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


@pytest.fixture(autouse=True)
def _freeze_survivors():
    """After each test, collect its garbage and move what survives (jax's traces and programs, modules,
    torch's op tables: a million objects after a few hundred tests) out of the cyclic collector's reach.
    Otherwise every later collection walks all of it: tracing-heavy tests (jtorch.compile) spent most of
    their time in the collector (a compile test file 3x slower after two nn files; 225 s -> 85 s for
    seven such files in one process). This collection walks only what the test made; a frozen object
    that later becomes cyclic garbage waits for the release in _release_model_programs."""
    yield
    gc.collect()
    gc.freeze()
