"""The process's link to JAX's distributed runtime (``jax.distributed``).

JAX's runtime must be initialised before XLA's backends start (the CPU/GPU clients are
built knowing the other processes). ``import jtorch`` therefore never touches the backend;
scripts started by jtorch's launcher (``python -m jtorch.distributed.run``, which sets
``JTORCH_DIST_AUTOINIT``) join the runtime already at ``import jtorch``, so they may create
tensors before ``init_process_group``, which then only checks the arguments agree.

Everything here is imported by ``jtorch/__init__.py``: keep it free of backend calls.
"""
import datetime
import glob
import os

AUTOINIT_ENV = "JTORCH_DIST_AUTOINIT"
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)

# what this process joined: {"address", "rank", "world", "timeout"}; None when single-process
_joined = None


def backend_started():
    from jax._src import xla_bridge
    return xla_bridge.backends_are_initialized()


def joined():
    return _joined


def _gpu_count():
    """GPUs on this machine, without starting a backend (CUDA_VISIBLE_DEVICES, else /dev/nvidiaN)."""
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis is not None:
        return len([v for v in vis.split(",") if v.strip() and v.strip() != "-1"])
    return len(glob.glob("/dev/nvidia[0-9]*"))


def join(address, rank, world, timeout, local_rank=None, want_gpu=None):
    """Join JAX's runtime as process ``rank`` of ``world`` with the coordinator at ``address``
    (process 0 hosts it). One process per GPU: ``local_rank`` picks this process's GPU."""
    global _joined
    import jax
    from ._types import DistStoreError
    if _joined is not None:
        if (_joined["rank"], _joined["world"]) != (rank, world):
            raise ValueError(f"this process already joined the distributed runtime as rank {_joined['rank']} "
                             f"of {_joined['world']}; got rank={rank}, world_size={world}")
        return
    if backend_started():
        raise RuntimeError(
            "init_process_group with world_size > 1 must run before jtorch starts its XLA backend "
            "(before any tensor is created or any device is queried): JAX's distributed runtime "
            "(jax.distributed.initialize) cannot join once the backend is up. Call "
            "init_process_group first, or start the script with python -m jtorch.distributed.run, "
            "which joins the runtime at import jtorch.")
    secs = max(1, int(timeout.total_seconds()))
    local_ids = None
    if local_rank is not None and want_gpu is not False and local_rank < _gpu_count():
        local_ids = [local_rank]
    # gloo gives XLA's CPU client cross-process collectives (the default CPU client has none)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(address, num_processes=world, process_id=rank, local_device_ids=local_ids,
                                   initialization_timeout=secs, heartbeat_timeout_seconds=min(100, max(10, secs)),
                                   shutdown_timeout_seconds=min(300, secs))
    except Exception as e:  # noqa: BLE001  (JAX raises its runtime error; say what it means)
        msg = str(e)
        if "DEADLINE_EXCEEDED" in msg or "timed out" in msg.lower():
            raise DistStoreError(
                f"Timed out after {secs} seconds waiting for all {world} processes to join the "
                f"distributed runtime at {address} (this is rank {rank}). Check that every rank was "
                f"started with the same MASTER_ADDR/MASTER_PORT and world_size={world}. ({msg.splitlines()[0]})"
            ) from e
        raise
    _joined = {"address": address, "rank": rank, "world": world, "timeout": timeout}
    _check_world_sizes(rank, world, secs)


def _check_world_sizes(rank, world, secs):
    """Every process states its world size in the coordinator's key-value store: a process
    started with another world size makes all of them raise instead of mismatching silently."""
    from jax._src import distributed
    client = distributed.global_state.client
    client.key_value_set(f"jtorch/world_size/{rank}", str(world))
    for r in range(world):
        theirs = client.blocking_key_value_get(f"jtorch/world_size/{r}", secs * 1000)
        if int(theirs) != world:
            raise ValueError(f"mismatched world sizes: rank {rank} was started with world_size={world} "
                             f"but rank {r} with world_size={theirs}")


def client():
    from jax._src import distributed
    return distributed.global_state.client


def autoinit():
    """Join the runtime at ``import jtorch`` when jtorch's launcher started this process."""
    if os.environ.get(AUTOINIT_ENV) != "1" or _joined is not None:
        return
    world = int(os.environ["WORLD_SIZE"])
    if world <= 1:
        return
    secs = float(os.environ.get("JTORCH_DIST_TIMEOUT", DEFAULT_TIMEOUT.total_seconds()))
    join(f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", int(os.environ["RANK"]), world,
         datetime.timedelta(seconds=secs), local_rank=int(os.environ.get("LOCAL_RANK", 0)))
