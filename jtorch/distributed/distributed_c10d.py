"""Process groups: init_process_group and the queries (rank, world size, backend, groups).

A process group is a list of member processes (torch's global ranks = JAX process indices).
The default group spans all of them; ``new_group`` makes subsets. Collectives live in
``_tensor_ops.py`` (tensors) and ``_objects.py`` (picklable objects).
"""
import datetime
import os
import urllib.parse

from . import _runtime
from ._types import Backend, GroupMember, group as _group_ns


class ProcessGroup:
    """``ranks``: member global ranks in group order (sorted, as torch does)."""

    def __init__(self, ranks, backend, timeout, name, is_world=False):
        self.ranks = tuple(ranks)
        self.backend = backend
        self.timeout = timeout
        self.group_name = name
        self.is_world = is_world
        self._barriers = 0

    def rank(self):
        me = _default().my_rank
        return self.ranks.index(me) if me in self.ranks else -1

    def size(self):
        return len(self.ranks)

    def name(self):
        return self.group_name

    def _get_backend_name(self):
        return str(self.backend)

    def __repr__(self):
        return f"ProcessGroup(ranks={list(self.ranks)}, backend={self.backend!r})"


class _World(ProcessGroup):
    def __init__(self, rank, world, backend, timeout, name):
        super().__init__(range(world), backend, timeout, name or "0", is_world=True)
        self.my_rank = rank
        self.n_groups = 0


_state = {"world": None}

_NOT_INIT = "Default process group has not been initialized, please make sure to call init_process_group."


def _default():
    w = _state["world"]
    if w is None:
        raise ValueError(_NOT_INIT)
    return w


def _resolve(group):
    """The ProcessGroup a collective runs on (ValueError before init_process_group)."""
    w = _default()
    if group is None or group is GroupMember.WORLD:
        return w
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup, got {type(group).__name__}")
    return group


def _not_member(group):
    """torch returns quietly from a collective on a group this process is not in."""
    return group is GroupMember.NON_GROUP_MEMBER


# ------------------------------------------------------------------ availability

def is_available():
    return True


def is_initialized():
    return _state["world"] is not None


def is_gloo_available():
    return True


def is_nccl_available():
    return _runtime._gpu_count() > 0


def is_mpi_available():
    return False


def is_ucc_available():
    return False


def is_xccl_available():
    return False


def is_backend_available(backend):
    return str(Backend(backend)) in ("gloo", "nccl")


def is_torchelastic_launched():
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


# ------------------------------------------------------------------ init

def _parse_backend(backend, gpu):
    """``None`` -> the device's default; ``"cpu:gloo,cuda:nccl"`` -> a map; checks names."""
    if backend is None:
        return Backend("cpu:gloo,cuda:nccl") if gpu else Backend("gloo")
    name = str(Backend(backend))
    parts = name.split(",")
    for part in parts:
        dev, _, be = part.rpartition(":")
        if be not in ("gloo", "nccl"):
            raise ValueError(f"Invalid backend: '{be}' (jtorch supports gloo and nccl)")
        if dev and dev not in ("cpu", "cuda"):
            raise ValueError(f"Invalid device type '{dev}' in backend string {name!r}")
    return Backend(name)


def _rendezvous(init_method, rank, world_size):
    """(address, rank, world size, store) from ``env://`` or ``tcp://host:port`` (the address of
    the TCPStore rank 0 serves; store None) or ``file:///path`` (a FileStore; address None)."""
    url = urllib.parse.urlparse(init_method)
    query = dict(urllib.parse.parse_qsl(url.query))
    if "rank" in query:
        rank = int(query["rank"])
    if "world_size" in query:
        world_size = int(query["world_size"])
    if url.scheme == "env":
        def env(name):
            if name not in os.environ:
                raise ValueError("Error initializing torch.distributed using env:// rendezvous: environment "
                                 f"variable {name} expected, but not set")
            return os.environ[name]
        if rank < 0:
            rank = int(env("RANK"))
        if world_size < 0:
            world_size = int(env("WORLD_SIZE"))
        address = f"{env('MASTER_ADDR')}:{int(env('MASTER_PORT'))}"
    elif url.scheme == "tcp":
        for what, val in (("rank", rank), ("world size", world_size)):
            if val < 0:
                raise ValueError(f"Error initializing torch.distributed using tcp:// rendezvous: {what} "
                                 "parameter missing")
        if not url.hostname or not url.port:
            raise ValueError(f"Error initializing torch.distributed using tcp:// rendezvous: port number "
                             f"missing in {init_method!r}")
        address = f"{url.hostname}:{url.port}"
    elif url.scheme == "file":
        if not url.path:
            raise ValueError("Error initializing torch.distributed using file:// rendezvous: path missing")
        for what, val in (("rank", rank), ("world size", world_size)):
            if val < 0:
                raise ValueError(f"Error initializing torch.distributed using file:// rendezvous: {what} "
                                 "parameter missing")
        from ._file_store import FileStore
        store = FileStore(url.path, world_size)
        address = None
    else:
        raise ValueError(f"No rendezvous handler for {url.scheme}:// (jtorch supports env://, tcp:// and file://)")
    if world_size < 1:
        raise ValueError(f"world_size must be positive, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"Invalid rank {rank}: rank must be in [0, {world_size - 1}] for world_size {world_size}")
    return address, rank, world_size, (store if url.scheme == "file" else None)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join (or, under jtorch's launcher, confirm) JAX's distributed runtime and create the
    default group. Must come before the first tensor when world_size > 1 and the script was
    not started by ``python -m jtorch.distributed.run``."""
    if _state["world"] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is None:
        timeout = _runtime.DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")
    if store is not None:
        if init_method is not None:
            raise ValueError("Cannot specify both init_method and store.")
        from ._store import Store
        if not isinstance(store, Store):
            raise TypeError(f"store must be a torch.distributed.Store, got {type(store).__name__}")
        if not world_size > 0:
            raise AssertionError("world_size must be positive if using store")
        if not rank >= 0:
            raise AssertionError("rank must be non-negative if using store")
        if rank >= world_size:
            raise ValueError(f"Invalid rank {rank}: rank must be in [0, {world_size - 1}] for world_size {world_size}")
        address = None
    else:
        address, rank, world_size, store = _rendezvous(init_method or "env://", rank, world_size)
    gpu = _runtime._gpu_count() > 0
    backend = _parse_backend(backend, gpu)
    wants_cuda = "nccl" in backend
    if world_size > 1:
        local = os.environ.get("LOCAL_RANK")
        if device_id is not None:
            local = getattr(device_id, "index", device_id)
        _runtime.join(address, rank, world_size, timeout, local_rank=None if local is None else int(local),
                      want_gpu=wants_cuda or None, store=store)
    elif _runtime.joined() is not None:
        _runtime.join(address, rank, world_size, timeout)  # raises: this process joined a bigger world
    if str(backend) == "nccl":
        from .._device import gpu_devices
        if not gpu_devices():
            raise RuntimeError("ProcessGroupNCCL is only supported with GPUs, no GPUs found!")
    w = _World(rank, world_size, backend, timeout, group_name)
    joined = _runtime.joined()
    w.store = store if store is not None else (joined or {}).get("store")
    _state["world"] = w
    GroupMember.WORLD = _group_ns.WORLD = w


def _get_default_store():
    """The store the default group met in (torch's private helper; None for a world of one
    process that was given none)."""
    return _default().store


def destroy_process_group(group=None):
    """Forget the default group (and every subgroup). JAX's runtime stays joined: a later
    init_process_group in this process must use the same rank and world size."""
    if group is None or group is GroupMember.WORLD:
        if _state["world"] is None:
            raise AssertionError("Process group cannot be None")  # torch's message
        _state["world"] = None
        GroupMember.WORLD = _group_ns.WORLD = None


# ------------------------------------------------------------------ queries

def get_rank(group=None):
    if _not_member(group):
        return -1
    return _resolve(group).rank()


def get_world_size(group=None):
    if _not_member(group):
        return -1
    return _resolve(group).size()


def get_backend(group=None):
    if _not_member(group):
        raise ValueError("Invalid process group specified")
    return _resolve(group).backend


def get_process_group_ranks(group):
    if group is None:
        group = GroupMember.WORLD
    if group is None or _not_member(group):
        raise ValueError("Invalid process group specified" if group is not None else _NOT_INIT)
    return list(_resolve(group).ranks)


def get_global_rank(group, group_rank):
    ranks = get_process_group_ranks(group)
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {ranks}")
    return ranks[group_rank]


def get_group_rank(group, global_rank):
    ranks = get_process_group_ranks(group)
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {ranks}")
    return ranks.index(global_rank)


def get_default_backend_for_device(device):
    dev = getattr(device, "type", str(device).split(":")[0])
    if dev not in Backend.default_device_backend_map:
        raise ValueError(f"Default backend not registered for device : {device}")
    return Backend.default_device_backend_map[dev]


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of a subset of ranks. Every process must call it (same order of calls), like
    torch; a process not in ``ranks`` gets ``GroupMember.NON_GROUP_MEMBER``."""
    w = _default()
    ranks = sorted(range(w.size()) if ranks is None else {int(r) for r in ranks})
    for r in ranks:
        if not 0 <= r < w.size():
            raise ValueError(f"Invalid rank {r} in new_group ranks: world size is {w.size()}")
    w.n_groups += 1
    g = ProcessGroup(ranks, Backend(backend) if backend else w.backend, timeout or w.timeout, str(w.n_groups))
    return g if w.my_rank in ranks else GroupMember.NON_GROUP_MEMBER


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None, group_desc=None):
    """Equal consecutive subgroups of ``group_size`` ranks: (this rank's subgroup, all of them)."""
    w = _default()
    if group_size is None:
        group_size = int(os.environ.get("LOCAL_WORLD_SIZE", w.size()))
    if group_size <= 0 or w.size() % group_size:
        raise ValueError(f"The world size ({w.size()}) must be divisible by group_size={group_size}")
    groups = [new_group(range(s, s + group_size), timeout, backend) for s in range(0, w.size(), group_size)]
    mine = groups[w.my_rank // group_size]
    return mine, groups
