"""Compiled XLA programs are kept on disk between runs: jtorch compiles every eager op and every
compiled step once per shape, which dominates a script's first seconds (on a GPU, most of its
warm-up). ``JTORCH_COMPILATION_CACHE`` names the folder ('' or 0 turns the cache off, a folder named
there is never pruned); a cache folder set for JAX itself is left as it is.

jtorch's own folder is bounded, but not with JAX's size limit: with one, every program JAX writes
lists and reads the access-time file of every entry under a lock (with 48,000 entries, ~1 s per
compile: 20 fresh jits took 22 s instead of 1.2). Instead, at most once a day, a background thread
started at import removes the least recently used entries above ``MAX_BYTES`` (by the files' own
access and modification times).
"""
import os
import threading
import time

MAX_BYTES = 2 << 30
PRUNE_EVERY = 24 * 3600  # seconds
_MARKER = ".jtorch-pruned"  # its modification time: the last pruning


def configure(jax):
    path = os.environ.get("JTORCH_COMPILATION_CACHE")
    if path in ("", "0") or path is None and jax.config.jax_compilation_cache_dir is not None:
        return
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # small programs are most of them
    if path is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "jtorch", "xla")
        threading.Thread(target=prune, args=(path,), name="jtorch-cache-prune", daemon=True).start()
    jax.config.update("jax_compilation_cache_dir", path)


def prune(path, max_bytes=MAX_BYTES, every=PRUNE_EVERY):
    """Remove the least recently used files of ``path`` until at most ``max_bytes`` remain, unless that
    was done less than ``every`` seconds ago. Returns the number of files removed (None: not due)."""
    marker = os.path.join(path, _MARKER)
    try:
        if os.path.exists(marker) and time.time() - os.stat(marker).st_mtime < every:
            return None
        with open(marker, "a"):  # (claimed first: processes starting together prune once)
            os.utime(marker)
        entries = []
        with os.scandir(path) as it:
            for e in it:
                if e.name != _MARKER and e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    entries.append((max(st.st_atime, st.st_mtime), st.st_size, e.path))
    except OSError:  # no folder yet, or not ours to write
        return None
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, p in sorted(entries):
        if total <= max_bytes:
            break
        try:
            os.remove(p)  # (a process reading it meanwhile keeps its open file; a miss recompiles)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed
