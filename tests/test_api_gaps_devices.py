"""torch.mps and torch.xpu on a machine without those devices: every call answers as torch's does
(the same value, or the same exception type and message). The oracle is torch's CPU build."""
import pytest
import torch

import jtorch

# torch.mps.Event's __del__ trips over the half-made object its failed __init__ leaves behind
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

def _state(lib):
    return (lib.zeros(8, dtype=lib.uint8),)


def _outcome(fn, args, lib=None):
    if callable(args):
        args = args(lib)
    try:
        r = fn(*args)
    except Exception as e:  # noqa: BLE001 (the exception is the answer being compared)
        return type(e).__name__, str(e)
    if hasattr(r, "__enter__"):
        return _outcome(lambda: r.__enter__(), ())
    return "value", r


MPS_CALLS = [("is_available", ()), ("device_count", ()), ("synchronize", ()), ("empty_cache", ()),
             ("manual_seed", (3,)), ("manual_seed", ("not a number",)), ("seed", ()), ("get_rng_state", ()),
             ("set_rng_state", _state), ("current_allocated_memory", ()), ("driver_allocated_memory", ()),
             ("recommended_max_memory", ()), ("set_per_process_memory_fraction", (0.5,)),
             ("set_per_process_memory_fraction", (3.0,)), ("set_per_process_memory_fraction", (-1,)),
             ("set_per_process_memory_fraction", (-1.0,)), ("compile_shader", ("kernel void f() {}",)),
             ("load_metallib", ("lib.metallib",)), ("Event", ()), ("profiler.start", ()), ("profiler.stop", ())]

XPU_CALLS = [("is_available", ()), ("device_count", ()), ("is_initialized", ()), ("init", ()),
             ("current_device", ()), ("set_device", (0,)), ("synchronize", ()), ("get_device_name", ()),
             ("get_device_properties", (0,)), ("get_device_capability", ()), ("can_device_access_peer", (0, 1)),
             ("mem_get_info", ()), ("set_per_process_memory_fraction", (0.5,)),
             ("get_per_process_memory_fraction", ()), ("get_arch_list", ()), ("get_gencode_flags", ()),
             ("is_bf16_supported", ()), ("is_tf32_supported", ()), ("manual_seed", (7,)),
             ("manual_seed", ("x",)), ("manual_seed_all", ("3",)), ("seed", ()), ("seed_all", ()),
             ("initial_seed", ()), ("get_rng_state", ()), ("get_rng_state_all", ()), ("set_rng_state", _state), ("set_rng_state_all", ([],)),
             ("empty_cache", ()), ("memory_stats", ()), ("memory_stats_as_nested_dict", ()), ("memory_snapshot", ()),
             ("memory_allocated", ()), ("max_memory_allocated", ("xpu:0",)), ("memory_reserved", ()),
             ("max_memory_reserved", ()), ("device", (0,)), ("device", (-1,)), ("stream", (None,)),
             ("StreamContext", (None,)), ("set_stream", (None,)), ("current_stream", ()), ("Stream", ()),
             ("Event", ()), ("_is_compiled", ())]


def _ids(calls):
    return [f"{n}{'(state)' if callable(a) else a}" for n, a in calls]


def _get(mod, dotted):
    for part in dotted.split("."):
        mod = getattr(mod, part)
    return mod


@pytest.mark.parametrize("name,args", MPS_CALLS, ids=_ids(MPS_CALLS))
def test_mps_without_the_device(name, args):
    assert _outcome(_get(jtorch.mps, name), args, jtorch) == _outcome(_get(torch.mps, name), args, torch)


@pytest.mark.parametrize("name,args", XPU_CALLS, ids=_ids(XPU_CALLS))
def test_xpu_without_the_device(name, args):
    assert _outcome(_get(jtorch.xpu, name), args, jtorch) == _outcome(_get(torch.xpu, name), args, torch)


def test_xpu_device_of_a_cpu_tensor_and_default_generators():
    assert _outcome(jtorch.xpu.device_of, (jtorch.ones(1),)) == _outcome(torch.xpu.device_of, (torch.ones(1),))
    assert jtorch.xpu.default_generators == torch.xpu.default_generators
    assert set(jtorch.xpu.__all__) <= set(torch.xpu.__all__)
    assert set(jtorch.mps.__all__) == set(torch.mps.__all__)


def test_mps_profile_context_fails_like_torch():
    def enter(lib):
        with lib.mps.profiler.profile():
            pass
    assert _outcome(enter, (jtorch,)) == _outcome(enter, (torch,))


@pytest.mark.parametrize("spec", ["xpu", "xpu:1", "mps"])
def test_device_strings_and_tensors_on_absent_devices(spec):
    assert str(jtorch.device(spec)) == str(torch.device(spec))
    assert jtorch.device(spec).type == torch.device(spec).type
    if spec.startswith("xpu"):  # torch's CPU build: AssertionError both for creation and for moves
        for lib in (torch, jtorch):
            with pytest.raises(AssertionError, match="not compiled with XPU"):
                lib.ones(1, device=spec)
            with pytest.raises(AssertionError, match="not compiled with XPU"):
                lib.ones(1).to(spec)
