"""jtorch._malloc: XLA's per-call temporary buffer (above glibc's 32 MB mmap limit here, or too large
for what is left of a thread arena's heap) is reused between calls instead of being mapped and
page-faulted in again at every call."""
import os
import subprocess
import sys

import pytest

import jtorch
from jtorch import _malloc

_SCRIPT = r"""
import resource
import jtorch
import jax
import jax.numpy as jnp

@jax.jit
def f(x):  # the loop carry (48 MB) lives in the program's temporary buffer; the result is small
    return jax.lax.fori_loop(0, 2, lambda i, c: c * 1.5 + i, x).sum()

x = jnp.ones((3072, 4096), jnp.float32)
f(x).block_until_ready()
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    f(x).block_until_ready()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)


# a thread arena whose heap is partly used serves a large block from a new heap; glibc unmaps that heap
# when the block is freed unless the top pad keeps it (the case that hit one XLA process in two to eight)
import ctypes, threading
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
thread_faults = []

def in_thread():
    held = libc.malloc(30 << 20)  # the new thread's own arena: its first heap is now half used
    ctypes.memset(held, 1, 30 << 20)
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        block = libc.malloc(40 << 20)
        ctypes.memset(block, 1, 40 << 20)
        libc.free(block)
        thread_faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
    libc.free(held)

t = threading.Thread(target=in_thread)
t.start()
t.join()
print(jtorch._malloc.applied, min(faults), min(thread_faults[1:]))
"""
_PAGES = 3072 * 4096 * 4 // 4096  # pages of the loop carry
_THREAD_PAGES = (40 << 20) // 4096  # pages of the thread's block


def _run(tuning):
    # a clean environment (nothing the test session set), no persistent compilation cache
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(JTORCH_MALLOC_TUNING=tuning, JAX_PLATFORMS="cpu", JTORCH_COMPILATION_CACHE="0",
               PYTHONPATH=os.path.dirname(os.path.dirname(jtorch.__file__)))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    assert out.returncode == 0, out.stderr[-2000:]
    applied, faults, thread_faults = out.stdout.split()
    return applied == "True", int(faults), int(thread_faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_temporary_buffer_reused_between_calls():
    # fresh processes: the arena a thread gets depends on the order threads start in. In a full suite run
    # (2026-11-27, both cores busy) one process in three still faulted the whole buffer in at every call
    # (12290 pages), so two of three must reuse it; with the tuning off none does (below)
    runs = [_run("1") for _ in range(3)]
    assert all(applied for applied, _, _ in runs)
    assert sum(faults < _PAGES // 10 for _, faults, _ in runs) >= 2, runs
    assert sum(t < _THREAD_PAGES // 10 for _, _, t in runs) >= 2, runs
    # with malloc left alone, both are mapped and faulted in again at every call
    applied, faults, thread_faults = _run("0")
    assert not applied
    assert faults > _PAGES // 2, faults
    assert thread_faults > _THREAD_PAGES // 2, thread_faults


def test_opt_out_and_idempotent(monkeypatch):
    monkeypatch.setenv("JTORCH_MALLOC_TUNING", "0")
    assert _malloc.tune() is False
    monkeypatch.delenv("JTORCH_MALLOC_TUNING")
    if sys.platform.startswith("linux"):
        assert _malloc.tune() is True and _malloc.applied
