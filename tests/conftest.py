"""Test setup: cheap XLA codegen and a persistent compilation cache (tests only, never benchmarks)."""
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


@pytest.fixture(autouse=True, scope="module")
def _release_model_programs(request):
    """After a model-zoo file (ResNet-50/VGG/video/RAFT models, train and eval programs), drop its
    compiled programs and garbage before the next file: an xdist worker otherwise keeps growing
    (two workers reached 10 GB each in a full run on the 24 GB machine)."""
    yield
    if request.module.__name__.split(".")[-1].startswith("test_models"):
        import gc

        import jax
        gc.collect()
        jax.clear_caches()
