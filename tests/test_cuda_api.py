"""torch.cuda, torch.Stream/Event/Tag: against torch's CPU-only build without a GPU (values and exception
types), and their behaviour on a GPU when jax has one."""
import time
import warnings

import numpy as np
import pytest
import torch

import jtorch

GPU = jtorch.cuda.is_available()
cpu_only = pytest.mark.skipif(GPU or torch.cuda.is_available(), reason="compares with torch's CPU-only build")
gpu_only = pytest.mark.skipif(not GPU, reason="needs a GPU")


def outcome(f):
    """('ok', value) or ('raise', exception type name)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", f()
        except BaseException as e:  # noqa: BLE001 - the type is what is compared
            return "raise", type(e).__name__


NO_GPU_CALLS = {
    "memory_stats": lambda m: dict(m.cuda.memory_stats()),
    "memory_stats_as_nested_dict": lambda m: m.cuda.memory_stats_as_nested_dict(),
    "memory_summary": lambda m: m.cuda.memory_summary(),
    "mem_get_info": lambda m: m.cuda.mem_get_info(),
    "reset_peak_memory_stats": lambda m: m.cuda.reset_peak_memory_stats(),
    "reset_max_memory_allocated": lambda m: m.cuda.reset_max_memory_allocated(),
    "reset_max_memory_cached": lambda m: m.cuda.reset_max_memory_cached(),
    "reset_accumulated_memory_stats": lambda m: m.cuda.reset_accumulated_memory_stats(),
    "memory_allocated": lambda m: m.cuda.memory_allocated(),
    "max_memory_allocated": lambda m: m.cuda.max_memory_allocated(),
    "memory_reserved": lambda m: m.cuda.memory_reserved(),
    "max_memory_reserved": lambda m: m.cuda.max_memory_reserved(),
    "memory_cached": lambda m: m.cuda.memory_cached(),
    "max_memory_cached": lambda m: m.cuda.max_memory_cached(),
    "set_per_process_memory_fraction": lambda m: m.cuda.set_per_process_memory_fraction(0.5),
    "get_per_process_memory_fraction": lambda m: m.cuda.get_per_process_memory_fraction(),
    "Stream": lambda m: m.cuda.Stream(),
    "Event": lambda m: m.cuda.Event(enable_timing=True),
    "current_stream": lambda m: m.cuda.current_stream(),
    "default_stream": lambda m: m.cuda.default_stream(),
    "stream(None)": lambda m: m.cuda.stream(None).__enter__(),
    "StreamContext(None)": lambda m: m.cuda.StreamContext(None).__enter__(),
    "set_stream(None)": lambda m: m.cuda.set_stream(None),
    "ExternalStream": lambda m: m.cuda.ExternalStream(0, device=0),
    "get_rng_state_all": lambda m: m.cuda.get_rng_state_all(),
    "set_rng_state_all": lambda m: m.cuda.set_rng_state_all([]),
    "get_rng_state": lambda m: m.cuda.get_rng_state(),
    "set_rng_state": lambda m: m.cuda.set_rng_state(m.zeros(16, dtype=m.uint8)),
    "default_generators": lambda m: m.cuda.default_generators,
    "CUDAGraph": lambda m: m.cuda.CUDAGraph(),
    "graph(None)": lambda m: m.cuda.graph(None),
    "make_graphed_callables": lambda m: m.cuda.make_graphed_callables(m.nn.Linear(2, 2), (m.ones(1, 2),)),
    "is_current_stream_capturing": lambda m: m.cuda.is_current_stream_capturing(),
    "graph_pool_handle": lambda m: m.cuda.graph_pool_handle(),
    "FloatTensor()": lambda m: m.cuda.FloatTensor(),
    "LongTensor([1])": lambda m: m.cuda.LongTensor([1]),
    "isinstance cuda.FloatTensor": lambda m: isinstance(m.zeros(1), m.cuda.FloatTensor),
    "cuda.FloatTensor.dtype": lambda m: str(m.cuda.FloatTensor.dtype),
    "cuda.FloatTensor.is_cuda": lambda m: (m.cuda.FloatTensor.is_cuda, m.FloatTensor.is_cuda),
    "device(0)": lambda m: m.cuda.device(0).__enter__(),
    "device(-1)": lambda m: m.cuda.device(-1).__enter__(),
    "device(cpu)": lambda m: m.cuda.device("cpu"),
    "device(cuda)": lambda m: m.cuda.device(m.device("cuda")).idx,
    "utilization": lambda m: m.cuda.utilization(),
    "temperature": lambda m: m.cuda.temperature(),
    "power_draw": lambda m: m.cuda.power_draw(),
    "clock_rate": lambda m: m.cuda.clock_rate(),
    "memory_usage": lambda m: m.cuda.memory_usage(),
    "device_memory_used": lambda m: m.cuda.device_memory_used(),
    "list_gpu_processes": lambda m: m.cuda.list_gpu_processes(),
    "is_tf32_supported": lambda m: m.cuda.is_tf32_supported(),
    "is_bf16_supported": lambda m: m.cuda.is_bf16_supported(),
    "can_device_access_peer": lambda m: m.cuda.can_device_access_peer(0, 1),
    "synchronize": lambda m: m.cuda.synchronize(),
    "accelerator.synchronize": lambda m: m.accelerator.synchronize(),
    "current_device": lambda m: m.cuda.current_device(),
    "is_initialized": lambda m: m.cuda.is_initialized(),
    "ipc_collect": lambda m: m.cuda.ipc_collect(),
    "empty_cache": lambda m: m.cuda.empty_cache(),
    "get_sync_debug_mode": lambda m: m.cuda.get_sync_debug_mode(),
    "has_half/has_magma": lambda m: (m.cuda.has_half, m.cuda.has_magma),
    "get_gencode_flags": lambda m: m.cuda.get_gencode_flags(),
    "get_stream_from_external": lambda m: m.cuda.get_stream_from_external(0),
    "OutOfMemoryError": lambda m: (m.cuda.OutOfMemoryError is m.OutOfMemoryError,
                                   issubclass(m.cuda.OutOfMemoryError, RuntimeError)),
    "AcceleratorError": lambda m: m.cuda.AcceleratorError is m.AcceleratorError,
    "CudaError": lambda m: issubclass(m.cuda.CudaError, RuntimeError),
    "DeferredCudaCallError": lambda m: (issubclass(m.cuda.DeferredCudaCallError, Exception),
                                        issubclass(m.cuda.DeferredCudaCallError, RuntimeError)),
    # the device-generic classes
    "torch.Stream()": lambda m: (str(m.Stream().device), m.Stream().stream_id, m.Stream().device_type,
                                 m.Stream().device_index, m.Stream().query(), m.Stream().synchronize(),
                                 m.Stream() == m.Stream(), hash(m.Stream()) == hash(m.Stream()), repr(m.Stream()),
                                 m.Stream().is_capturing()),
    "torch.Stream(cuda)": lambda m: m.Stream("cuda"),
    "torch.Stream.record_event": lambda m: m.Stream().record_event(),
    "torch.Stream.wait_stream": lambda m: m.Stream().wait_stream(m.Stream()),
    "torch.Stream.native_handle": lambda m: m.Stream().native_handle,
    "torch.Stream ctx": lambda m: repr(m.Stream().__enter__()),
    "torch.Event()": lambda m: (repr(m.Event()), str(m.Event().device), m.Event().query(), m.Event().synchronize(),
                                m.Event().wait(), repr(m.Event(enable_timing=True, blocking=True))),
    "torch.Event(cuda)": lambda m: m.Event(device="cuda"),
    "torch.Event.record": lambda m: m.Event().record(),
    "torch.Event.elapsed no timing": lambda m: m.Event().elapsed_time(m.Event()),
    "torch.Event.elapsed unrecorded": lambda m: m.Event(enable_timing=True).elapsed_time(m.Event(enable_timing=True)),
}


@cpu_only
@pytest.mark.parametrize("name", list(NO_GPU_CALLS))
def test_cuda_without_gpu_matches_torch(name):
    f = NO_GPU_CALLS[name]
    assert outcome(lambda: f(jtorch)) == outcome(lambda: f(torch)), name


@cpu_only
def test_deprecated_memory_names_warn():
    for name in ("memory_cached", "max_memory_cached"):
        with pytest.warns(FutureWarning):
            assert getattr(jtorch.cuda, name)() == 0


def test_tag_enum_matches_torch():
    assert [(k, v.value) for k, v in jtorch.Tag.__members__.items()] == \
        [(k, v.value) for k, v in torch.Tag.__members__.items()]
    assert jtorch.Tag(16) is jtorch.Tag.pointwise and repr(jtorch.Tag.core) == repr(torch.Tag.core)
    assert str(jtorch.Tag.reduction) == str(torch.Tag.reduction) and int(jtorch.Tag.out) == int(torch.Tag.out)
    assert (jtorch.Tag.core == 0) == (torch.Tag.core == 0)


def test_stream_context_nesting_restores():
    s = jtorch.Stream()
    before = dict(jtorch._streams.CURRENT)
    with s as entered:
        assert entered is s and jtorch._streams.CURRENT[("cpu", None)] is s
    assert jtorch._streams.CURRENT == before


# ---------------------------------------------------------------- with a GPU
@gpu_only
def test_gpu_memory_stats_follow_allocations():
    jtorch.cuda.synchronize()
    before = jtorch.cuda.memory_allocated()
    x = jtorch.ones(1024, 1024, device="cuda")  # 4 MiB
    jtorch.cuda.synchronize()
    stats = jtorch.cuda.memory_stats()
    assert stats["allocated_bytes.all.current"] >= before + 4 * 2 ** 20
    assert stats["allocated_bytes.all.peak"] >= stats["allocated_bytes.all.current"]
    assert jtorch.cuda.max_memory_allocated() >= jtorch.cuda.memory_allocated()
    assert jtorch.cuda.memory_reserved() >= jtorch.cuda.memory_allocated()
    nested = jtorch.cuda.memory_stats_as_nested_dict()
    assert nested["allocated_bytes"]["all"]["current"] == stats["allocated_bytes.all.current"]
    free, total = jtorch.cuda.mem_get_info()
    assert 0 < free <= total
    assert "Allocated memory" in jtorch.cuda.memory_summary()
    del x
    jtorch.cuda.synchronize()
    assert jtorch.cuda.memory_allocated() <= before + 1024


@gpu_only
def test_gpu_reset_peak():
    x = jtorch.ones(2048, 2048, device="cuda")  # 16 MiB
    jtorch.cuda.synchronize()
    del x
    jtorch.cuda.synchronize()
    high = jtorch.cuda.max_memory_allocated()
    jtorch.cuda.reset_peak_memory_stats()
    now = jtorch.cuda.memory_allocated()
    assert jtorch.cuda.max_memory_allocated() == now < high
    jtorch.cuda.reset_accumulated_memory_stats()
    assert jtorch.cuda.memory_stats()["allocation.all.allocated"] == 0
    y = jtorch.ones(256, device="cuda") + 1
    jtorch.cuda.synchronize()
    assert jtorch.cuda.memory_stats()["allocation.all.allocated"] > 0
    del y


@gpu_only
def test_gpu_memory_fraction():
    assert jtorch.cuda.get_per_process_memory_fraction() == 1.0
    jtorch.cuda.set_per_process_memory_fraction(0.75)
    assert jtorch.cuda.get_per_process_memory_fraction() == 0.75
    with pytest.raises(TypeError):
        jtorch.cuda.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError):
        jtorch.cuda.set_per_process_memory_fraction(1.5)
    jtorch.cuda.set_per_process_memory_fraction(1.0)


@gpu_only
def test_gpu_streams():
    d = jtorch.cuda.current_stream()
    assert d == jtorch.cuda.default_stream() and d.cuda_stream == 0
    s = jtorch.cuda.Stream()
    assert s != d and s.cuda_stream != 0 and s.device == jtorch.device("cuda", 0)
    with jtorch.cuda.stream(s):
        assert jtorch.cuda.current_stream() == s
        y = jtorch.ones(64, 64, device="cuda") @ jtorch.ones(64, 64, device="cuda")
    assert jtorch.cuda.current_stream() == d
    s.wait_stream(d)
    s.synchronize()
    assert s.query() and float(y[0, 0]) == 64.0
    jtorch.cuda.set_stream(s)
    assert jtorch.cuda.current_stream() == s
    jtorch.cuda.set_stream(d)
    e = s.record_event()
    assert isinstance(e, jtorch.cuda.Event) and e.query()
    ext = jtorch.cuda.ExternalStream(12345)
    assert ext.cuda_stream == 12345
    g = jtorch.Stream("cuda")
    assert g.device_type == 1 and g.device_index == 0


@gpu_only
def test_gpu_event_times_device_work():
    a = jtorch.randn(4096, 4096, device="cuda")
    start, end = jtorch.cuda.Event(enable_timing=True), jtorch.cuda.Event(enable_timing=True)
    start.record()
    t0 = time.perf_counter()
    b = a
    for _ in range(20):
        b = b @ a
        b = b / b.abs().max()
    end.record()
    end.synchronize()
    wall = (time.perf_counter() - t0) * 1000
    ms = start.elapsed_time(end)
    assert 0 < ms <= wall + 1.0
    with pytest.raises(RuntimeError):
        jtorch.cuda.Event().elapsed_time(end)
    with pytest.raises(RuntimeError):
        start.elapsed_time(jtorch.cuda.Event(enable_timing=True))


@gpu_only
def test_gpu_rng_and_types_and_device():
    states = jtorch.cuda.get_rng_state_all()
    assert len(states) == jtorch.cuda.device_count() == len(jtorch.cuda.default_generators)
    a = jtorch.randn(4, device="cuda")
    jtorch.cuda.set_rng_state_all(states)
    b = jtorch.randn(4, device="cuda")
    assert np.array_equal(a.cpu().numpy(), b.cpu().numpy())
    t = jtorch.cuda.FloatTensor([1, 2])
    assert t.is_cuda and t.dtype == jtorch.float32 and isinstance(t, jtorch.cuda.FloatTensor)
    assert not isinstance(t, jtorch.FloatTensor)
    with jtorch.cuda.device(0):
        assert jtorch.cuda.current_device() == 0
    assert jtorch.cuda.is_tf32_supported() == (jtorch.cuda.get_device_capability() >= (8, 0))
    assert jtorch.cuda.can_device_access_peer(0, 0) is False
    with pytest.raises(AssertionError):
        jtorch.cuda.can_device_access_peer(0, 99)


@gpu_only
def test_gpu_graphs():
    assert jtorch.cuda.is_current_stream_capturing() is False
    g = jtorch.cuda.CUDAGraph()
    with pytest.raises(RuntimeError):
        with jtorch.cuda.graph(g):
            pass
    lin = jtorch.nn.Linear(8, 4).cuda()
    x = jtorch.randn(3, 8, device="cuda")
    want = lin(x)
    graphed = jtorch.cuda.make_graphed_callables(lin, (x,))
    assert graphed is lin
    for _ in range(3):
        got = graphed(x)
    assert np.allclose(got.detach().cpu().numpy(), want.detach().cpu().numpy(), atol=1e-5)
    f = jtorch.cuda.make_graphed_callables(lambda a: (a * 2).sum(), (x,))
    assert abs(float(f(x)) - float((x * 2).sum())) < 1e-3


@gpu_only
def test_gpu_raw_allocations():
    before = jtorch.cuda.memory_allocated()
    ptr = jtorch.cuda.caching_allocator_alloc(1 << 20)
    assert isinstance(ptr, int) and ptr != 0
    assert jtorch.cuda.memory_allocated() >= before + (1 << 20)
    jtorch.cuda.caching_allocator_delete(ptr)
    jtorch.cuda.synchronize()
    assert jtorch.cuda.memory_allocated() < before + (1 << 20)
    with pytest.raises(RuntimeError):
        jtorch.cuda.caching_allocator_delete(ptr)
    assert jtorch.cuda.get_allocator_backend() == "native"


@gpu_only
def test_gpu_nvml_queries():
    pytest.importorskip("pynvml")
    assert 0 <= jtorch.cuda.utilization() <= 100 and 0 <= jtorch.cuda.memory_usage() <= 100
    assert 0 < jtorch.cuda.temperature() < 150
    assert jtorch.cuda.power_draw() > 0 and jtorch.cuda.clock_rate() > 0
    assert jtorch.cuda.device_memory_used() > 0
    assert jtorch.cuda.list_gpu_processes().startswith("GPU:0")


@gpu_only
def test_gpu_storages_and_tensor_methods():
    x = jtorch.arange(6.0, device="cuda")
    s = x.untyped_storage()
    assert s.device == jtorch.device("cuda", 0) and s.nbytes() == 24 and s.is_cuda
    x.storage()[1] = 10.0
    assert float(x[1]) == 10.0 and x.device.type == "cuda"
    y = jtorch.empty(0, device="cuda").set_(x, 1, (2, 2), (1, 2))
    y.mul_(2)
    assert x.cpu().tolist() == [0.0, 20.0, 4.0, 6.0, 8.0, 5.0]
    cs = jtorch.cuda.FloatStorage([1, 2])
    assert cs.is_cuda and isinstance(cs, jtorch.cuda.FloatStorage) and not isinstance(cs, jtorch.FloatStorage)
    assert x.storage_type() is jtorch.cuda.FloatStorage
    x.record_stream(jtorch.cuda.current_stream())  # nothing to defer on XLA
    q = jtorch.fake_quantize_per_tensor_affine(jtorch.tensor([0.26, 20.0], device="cuda"), 0.1, 0, -128, 127)
    assert q.device.type == "cuda" and np.allclose(q.cpu().numpy(), [0.3, 12.7])
    m, inv = jtorch.batch_norm_stats(jtorch.randn(8, 3, 4, device="cuda"), 1e-5)
    assert m.device.type == "cuda" and tuple(inv.shape) == (3,)


EXTRA_NO_GPU = {
    "host_memory_stats": lambda m: dict(m.cuda.host_memory_stats()),
    "host_memory_stats_as_nested_dict": lambda m: m.cuda.host_memory_stats_as_nested_dict(),
    "reset_peak_host_memory_stats": lambda m: m.cuda.reset_peak_host_memory_stats(),
    "reset_accumulated_host_memory_stats": lambda m: m.cuda.reset_accumulated_host_memory_stats(),
    "check_error": lambda m: m.cuda.check_error(0),
    "cudaStatus": lambda m: (m.cuda.cudaStatus.SUCCESS, m.cuda.cudaStatus.ERROR_NOT_READY),
    "Device": lambda m: str(m.cuda.Device).count("str"),
    "caching_allocator_alloc": lambda m: m.cuda.caching_allocator_alloc(10),
    "caching_allocator_delete": lambda m: m.cuda.caching_allocator_delete(0),
    "caching_allocator_enable": lambda m: m.cuda.caching_allocator_enable(False),
    "get_allocator_backend": lambda m: m.cuda.get_allocator_backend(),
}


@cpu_only
@pytest.mark.parametrize("name", list(EXTRA_NO_GPU))
def test_cuda_extras_without_gpu_match_torch(name):
    f = EXTRA_NO_GPU[name]
    assert outcome(lambda: f(jtorch)) == outcome(lambda: f(torch)), name
