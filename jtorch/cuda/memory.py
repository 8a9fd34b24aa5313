"""torch.cuda's memory statistics from XLA's GPU allocator (``jax.Device.memory_stats()``).

torch's names map onto XLA's counters: allocated/active/requested bytes are XLA's ``bytes_in_use``
(XLA frees a buffer when its last array goes, so nothing is allocated-but-inactive), reserved bytes
are the allocator's pool (``pool_bytes``), the allocation count is ``num_allocs``. XLA cannot reset
its peaks, so ``reset_peak_memory_stats`` keeps a baseline: after a reset the peak is XLA's peak if
that grew since, else the most seen by any query since the reset (at least the usage at the reset).
Without a GPU the functions answer as torch's CPU-only build does (empty statistics, zeros, or its
exceptions). ``set_per_process_memory_fraction`` is checked and remembered, but XLA's pool limit is
fixed when the backend starts (``XLA_PYTHON_CLIENT_MEM_FRACTION``), so it does not cap allocations.
"""
import collections
import warnings

from .._device import gpu_devices

_BASE = {}  # device index -> {"peak": (xla peak, seen max), "reserved_peak": ..., "allocs": count} at the last reset
_SEEN = {}  # device index -> {"peak": max seen since reset, "reserved_peak": ...}
_FRACTION = {}


def _cuda():
    from .. import cuda
    return cuda


def _idx(device):
    c = _cuda()
    return c._device_index(device, optional=True) if device is not None else c._current[0]


def _no_gpu_attr(name):
    raise AttributeError(f"module 'torch._C' has no attribute '{name}' (torch.cuda without a GPU)")


def _xla_stats(idx):
    return gpu_devices()[idx].memory_stats() or {}


def _peak(idx, key, xla_peak, current):
    """The peak of ``key`` since the last reset (see the module docstring)."""
    seen = _SEEN.setdefault(idx, {})
    base = _BASE.get(idx, {}).get(key)
    seen[key] = max(seen.get(key, 0), current)
    if base is None:
        return max(xla_peak, current)
    base_xla, base_current = base
    if xla_peak > base_xla:
        return xla_peak
    return max(base_current, seen[key])


def memory_stats_as_nested_dict(device=None):
    c = _cuda()
    if not c.is_initialized():
        return {}
    idx = _idx(device)
    s = _xla_stats(idx)
    used = int(s.get("bytes_in_use", 0))
    pool = int(s.get("pool_bytes", s.get("bytes_reserved", used)))
    used_peak = _peak(idx, "peak", int(s.get("peak_bytes_in_use", used)), used)
    pool_peak = _peak(idx, "reserved_peak", int(s.get("peak_pool_bytes", s.get("peak_bytes_reserved", pool))), pool)
    allocs = int(s.get("num_allocs", 0)) - _BASE.get(idx, {}).get("allocs", 0)

    def stat(current, peak):
        return {"all": {"current": current, "peak": peak}}
    nested = {
        "allocated_bytes": stat(used, used_peak),
        "active_bytes": stat(used, used_peak),
        "requested_bytes": stat(used, used_peak),
        "reserved_bytes": stat(pool, pool_peak),
        "allocation": {"all": {"allocated": allocs}},
    }
    if "largest_alloc_size" in s:
        nested["largest_alloc_size"] = int(s["largest_alloc_size"])
    if "bytes_limit" in s:
        nested["bytes_limit"] = int(s["bytes_limit"])
    return nested


def memory_stats(device=None):
    """torch's flat view: nested keys joined with '.', sorted (``allocated_bytes.all.current``, ...)."""
    flat = []

    def walk(prefix, obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(prefix + "." + k if prefix else k, v)
        else:
            flat.append((prefix, obj))
    walk("", memory_stats_as_nested_dict(device))
    return collections.OrderedDict(sorted(flat))


def memory_allocated(device=None):
    return memory_stats(device).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device=None):
    return memory_stats(device).get("allocated_bytes.all.peak", 0)


def memory_reserved(device=None):
    return memory_stats(device).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device=None):
    return memory_stats(device).get("reserved_bytes.all.peak", 0)


def memory_cached(device=None):
    warnings.warn("torch.cuda.memory_cached has been renamed to torch.cuda.memory_reserved", FutureWarning,
                  stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None):
    warnings.warn("torch.cuda.max_memory_cached has been renamed to torch.cuda.max_memory_reserved",
                  FutureWarning, stacklevel=2)
    return max_memory_reserved(device)


def reset_peak_memory_stats(device=None):
    c = _cuda()
    if not c.is_available():
        _no_gpu_attr("_cuda_resetPeakMemoryStats")
    idx = _idx(device)
    s = _xla_stats(idx)
    used = int(s.get("bytes_in_use", 0))
    pool = int(s.get("pool_bytes", s.get("bytes_reserved", used)))
    base = _BASE.setdefault(idx, {})
    base["peak"] = (int(s.get("peak_bytes_in_use", used)), used)
    base["reserved_peak"] = (int(s.get("peak_pool_bytes", s.get("peak_bytes_reserved", pool))), pool)
    _SEEN[idx] = {"peak": used, "reserved_peak": pool}


def reset_max_memory_allocated(device=None):
    warnings.warn("torch.cuda.reset_max_memory_allocated now calls torch.cuda.reset_peak_memory_stats, which "
                  "resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    return reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None):
    warnings.warn("torch.cuda.reset_max_memory_cached now calls torch.cuda.reset_peak_memory_stats, which "
                  "resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    return reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None):
    c = _cuda()
    if not c.is_available():
        _no_gpu_attr("_cuda_resetAccumulatedMemoryStats")
    idx = _idx(device)
    _BASE.setdefault(idx, {})["allocs"] = int(_xla_stats(idx).get("num_allocs", 0))


def mem_get_info(device=None):
    """(free, total) bytes of the memory XLA's allocator may use on the GPU: its limit, less what arrays use
    (XLA usually takes its whole pool at start, so the pool's size says nothing about what is free)."""
    c = _cuda()
    c._lazy_check()
    s = _xla_stats(_idx(device))
    total = int(s.get("bytes_limit", 0))
    return total - int(s.get("bytes_in_use", 0)), total


def set_per_process_memory_fraction(fraction, device=None):
    c = _cuda()
    c._lazy_check()
    idx = c._device_index(device if device is not None else c.current_device())
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if fraction < 0 or fraction > 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    _FRACTION[idx] = fraction


def get_per_process_memory_fraction(device=None):
    c = _cuda()
    c._lazy_check()
    idx = c._device_index(device if device is not None else c.current_device())
    return _FRACTION.get(idx, 1.0)


def _fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024


def memory_summary(device=None, abbreviated=False):
    """A table of the allocator's current and peak usage (from memory_stats)."""
    stats = memory_stats(device)
    idx = _idx(device)
    rows = [("Allocated memory", "allocated_bytes"), ("Active memory", "active_bytes"),
            ("Requested memory", "requested_bytes"), ("GPU reserved memory", "reserved_bytes")]
    width = 75
    lines = ["=" * width, f" PyTorch CUDA memory summary, device ID {idx} (jtorch: XLA's GPU allocator)".ljust(width),
             "-" * width, f"{'Metric':<24}|{'Cur Usage':>16} |{'Peak Usage':>16} |", "-" * width]
    for label, key in rows:
        cur = stats[f"{key}.all.current"]
        peak = stats[f"{key}.all.peak"]
        lines.append(f"{label:<24}|{_fmt_bytes(cur):>16} |{_fmt_bytes(peak):>16} |")
    lines.append("-" * width)
    lines.append(f"{'Allocations':<24}|{stats.get('allocation.all.allocated', 0):>16} |{'':>16} |")
    lines.append("=" * width)
    return "\n".join(lines) + "\n"


def host_memory_stats():
    """Pinned host memory statistics: jtorch pins no host memory (pin_memory() returns the tensor)."""
    return collections.OrderedDict()


def host_memory_stats_as_nested_dict():
    return {}


def reset_peak_host_memory_stats():
    if not _cuda().is_available():
        _no_gpu_attr("_cuda_resetPeakHostMemoryStats")


def reset_accumulated_host_memory_stats():
    if not _cuda().is_available():
        _no_gpu_attr("_cuda_resetAccumulatedHostMemoryStats")


_RAW = {}  # device pointer -> the jax array whose buffer caching_allocator_alloc handed out


def caching_allocator_alloc(size, device=None, stream=None):
    """``size`` bytes from XLA's allocator on the GPU (a uint8 array kept alive until
    ``caching_allocator_delete`` of its address); returns the device address."""
    import jax
    import jax.numpy as jnp
    c = _cuda()
    idx = c._device_index(device if device is not None else c.current_device())
    if stream is None:
        stream = c.current_stream(idx)
    if isinstance(stream, c.Stream):
        stream = stream.cuda_stream
    if not isinstance(stream, int):
        raise TypeError("Invalid type for stream argument, must be `torch.cuda.Stream` or `int` representing a pointer "
                        "to an existing stream")
    arr = jax.device_put(jnp.zeros(max(int(size), 1), jnp.uint8), gpu_devices()[idx])
    ptr = arr.unsafe_buffer_pointer()
    _RAW[ptr] = arr
    return ptr


def caching_allocator_delete(mem_ptr):
    if not _cuda().is_available():
        _no_gpu_attr("_cuda_cudaCachingAllocator_raw_delete")
    if _RAW.pop(int(mem_ptr), None) is None:
        raise RuntimeError(f"invalid device pointer: {hex(int(mem_ptr))}")


def caching_allocator_enable(value=True):
    pass  # XLA's allocator always pools


def get_allocator_backend():
    if not _cuda().is_available():
        _no_gpu_attr("_cuda_getAllocatorBackend")
    return "native"  # XLA's own pooling allocator, as torch names its caching allocator


def empty_cache():
    pass  # XLA returns a buffer to its pool when the last array using it goes


__all__ = ["memory_stats", "memory_stats_as_nested_dict", "memory_allocated", "max_memory_allocated",
           "memory_reserved", "max_memory_reserved", "memory_cached", "max_memory_cached", "reset_peak_memory_stats",
           "reset_max_memory_allocated", "reset_max_memory_cached", "reset_accumulated_memory_stats", "mem_get_info",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction", "memory_summary", "empty_cache",
           "host_memory_stats", "host_memory_stats_as_nested_dict", "reset_peak_host_memory_stats",
           "reset_accumulated_host_memory_stats", "caching_allocator_alloc", "caching_allocator_delete",
           "caching_allocator_enable", "get_allocator_backend"]
