"""Keep large freed blocks inside the process (glibc malloc on Linux).

XLA's CPU runtime allocates each program's temporary buffer (all its intermediate arrays, 42 MB
for the bench CNN's training step) at every call and frees it afterwards. glibc serves blocks above
32 MB with a fresh ``mmap``, and a thread arena serves a block that does not fit its current heap
from a new heap, which it deletes (unmaps) as soon as the block is freed. Either way every call
page-faulted the whole buffer back in: ~10,000 minor faults and 15-29 ms of kernel time per CNN
step, more than a third of its CPU time (docs/internals.md, "CNN lowerings on CPU", third and
fourth rounds). Served from a heap that stays, the buffer is reused and faults no more.

Applied once, at ``import jtorch``: ``mmap`` only for blocks of 1 GiB and more (so a huge array freed
is still given back at once); free memory at the top of a heap returned to the system only above
1 GiB; and a top pad of 64 MiB. The pad is what keeps a thread arena's emptied heap: glibc deletes a
heap that has become free unless the room left in the heap before it (its free top plus what it may
still grow) is under the pad, and heaps are at most 64 MiB. Without the pad, a process whose XLA
thread had its arena's heap partly used (one in two to eight, depending on the order in which its
threads first allocate) mapped, faulted in and unmapped the buffer at every call.
The pad also makes the main heap grow by 64 MiB more at a time (address space, not memory: pages
are only backed once written). The cost: the process keeps its peak heap (as PyTorch's and most
allocators' caches do). Limiting the process to one malloc arena instead cost the compiled MLP step
~10% (its threads then share one lock), so threads keep their arenas.
``JTORCH_MALLOC_TUNING=0`` leaves malloc as it is.
"""
import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -2, -3, -4  # glibc's mallopt (malloc.h)
_THRESHOLD = 1 << 30  # blocks this large still get their own mmap (given back when freed)
_TOP_PAD = 64 << 20  # glibc's largest thread-arena heap (HEAP_MAX_SIZE on 64-bit)

applied = False


def tune():
    """Set the malloc parameters above; returns whether they were set (glibc on Linux only)."""
    global applied
    if os.environ.get("JTORCH_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (absent from musl and other C libraries)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # (a glibc that refuses so high an mmap threshold gets no mmap for large blocks at all)
    applied = bool((mallopt(_M_MMAP_THRESHOLD, _THRESHOLD) or mallopt(_M_MMAP_MAX, 0))
                   and mallopt(_M_TRIM_THRESHOLD, _THRESHOLD) and mallopt(_M_TOP_PAD, _TOP_PAD))
    return applied
