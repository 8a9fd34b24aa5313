"""The process's link to JAX's distributed runtime (``jax.distributed``).

JAX's runtime must be initialised before XLA's backends start (the CPU/GPU clients are
built knowing the other processes). ``import jtorch`` therefore never touches the backend;
scripts started by jtorch's launcher (``python -m jtorch.distributed.run``, which sets
``JTORCH_DIST_AUTOINIT``) join the runtime already at ``import jtorch``, so they may create
tensors before ``init_process_group``, which then only checks the arguments agree.

The ranks meet in a c10d store before JAX is started (``join``), collectives wait on a helper
thread with a timeout (``call_with_timeout``), and a rank dying of an exception tells the others
(``_announce_failure``): all so that failures raise in Python instead of ending in JAX's fatal
exit. See docs/internals.md ("Distributed").

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


def join(address, rank, world, timeout, local_rank=None, want_gpu=None, store=None):
    """Join JAX's runtime as process ``rank`` of ``world`` (one process per GPU: ``local_rank``
    picks this process's GPU). The ranks first meet in a c10d store, as torch's: ``store`` if
    given (``store=``, ``file://``), else a TCPStore at ``address`` ("host:port", served by rank 0;
    torch's env:// and tcp://). A rank missing there raises within ``timeout`` (DistStoreError on
    the master, DistNetworkError on a rank that cannot reach it). Only then, with every rank known
    to be up, rank 0 starts JAX's coordination service on a free port it publishes in the store,
    and all join it."""
    global _joined
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
    from ._tcp_store import TCPStore
    secs = max(1.0, timeout.total_seconds())
    host = None
    if store is None:
        host, _, port = address.rpartition(":")
        store = TCPStore(host, int(port), world, is_master=rank == 0, timeout=timeout, wait_for_workers=True)
    _meet(store, rank, world, secs)
    coordinator = _publish_coordinator(store, rank, host, secs)
    _initialize_jax(coordinator, rank, world, secs, local_rank, want_gpu)
    _joined = {"address": coordinator, "rank": rank, "world": world, "timeout": timeout, "store": store}
    _hook_uncaught_exceptions()


_RDZV = "jtorch/rdzv/"


def _meet(store, rank, world, secs):
    """Every rank states its world size in the store and waits for the others: a rank started
    with another world size makes all of them raise ValueError instead of mismatching silently;
    a rank that never comes makes them raise DistStoreError after ``secs``."""
    from ._types import DistStoreError
    td = datetime.timedelta(seconds=secs)
    store.set(f"{_RDZV}world_size/{rank}", str(world))

    def compare(r):
        theirs = int(store.get(f"{_RDZV}world_size/{r}"))
        if theirs != world:
            seen = store.add(f"{_RDZV}mismatch_seen", 1)
            if rank == 0:  # rank 0 may host the store: stay until the others have read it too
                import time
                ranks = sum(store.check([f"{_RDZV}world_size/{q}"]) for q in range(max(world, theirs)))
                deadline = time.monotonic() + min(secs, 5.0)
                while seen < ranks and time.monotonic() < deadline:
                    time.sleep(0.02)
                    seen = int(store.get(f"{_RDZV}mismatch_seen"))
            raise ValueError(f"mismatched world sizes: rank {rank} was started with world_size={world} "
                             f"but rank {r} with world_size={theirs}")
    keys = [f"{_RDZV}world_size/{r}" for r in range(world)]
    try:
        store.wait(keys[:1], td)
        compare(0)  # first rank 0's, which every rank has: a bigger world would wait for ranks never started
        store.wait(keys, td)
    except DistStoreError:
        joined = sum(store.check([k]) for k in keys)
        raise DistStoreError(f"Timed out after {secs:g} seconds waiting for clients. {joined}/{world} clients "
                             f"joined (this is rank {rank}; is every rank started, with the same world_size "
                             "and rendezvous address?)") from None
    for r in range(1, world):
        compare(r)


def _publish_coordinator(store, rank, host, secs):
    """Rank 0 picks the coordination service's address and puts it in the store."""
    key = f"{_RDZV}coordinator"
    if rank == 0:
        import socket
        if not host:
            host = os.environ.get("MASTER_ADDR") or _host_address()
        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        store.set(key, f"{host}:{port}")
    store.wait([key], datetime.timedelta(seconds=secs))
    return store.get(key).decode()


def _host_address():
    import socket
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _initialize_jax(coordinator, rank, world, secs, local_rank, want_gpu):
    import jax
    from ._types import DistStoreError
    local_ids = None
    if local_rank is not None and want_gpu is not False and local_rank < _gpu_count():
        local_ids = [local_rank]
    # gloo gives XLA's CPU client cross-process collectives (the default CPU client has none)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    # JAX's client ends the process itself (it cannot raise into Python) when its heartbeats
    # find a peer silent: keep that well behind our own timeouts, which raise (collectives,
    # barrier, p2p all wait at most the group's timeout)
    heartbeat = int(max(100, 2 * secs + 30))
    try:
        jax.distributed.initialize(coordinator, num_processes=world, process_id=rank, local_device_ids=local_ids,
                                   initialization_timeout=int(max(1, secs)), heartbeat_timeout_seconds=heartbeat,
                                   shutdown_timeout_seconds=int(min(300, max(1, secs))))
    except Exception as e:  # noqa: BLE001  (JAX raises its runtime error; say what it means)
        msg = str(e)
        if "DEADLINE_EXCEEDED" in msg or "timed out" in msg.lower():
            raise DistStoreError(
                f"Timed out after {secs:g} seconds joining JAX's distributed runtime at {coordinator} "
                f"(this is rank {rank} of {world}). ({msg.splitlines()[0]})") from e
        raise


_broken = []  # set when a collective failed because a peer is gone


def mark_broken():
    """After a peer failed, JAX's orderly shutdown at exit would abort the process (its
    coordination service reports the dead peer): leave with status 1 instead."""
    if not _broken:
        _broken.append(True)
        import atexit
        atexit.register(_exit_broken)  # registered after JAX's own hook, so it runs first


def _hook_uncaught_exceptions():
    """A script dying of an exception must exit now, as under torch: JAX's shutdown at exit
    would wait (up to the timeout) at a barrier for the ranks still working."""
    import sys
    previous = sys.excepthook

    def hook(*exc):
        previous(*exc)
        _announce_failure(exc[1])
        mark_broken()
    sys.excepthook = hook


def script_failed():
    """Called by jtorch's script runner when the script raised (it prints the traceback itself)."""
    import sys
    if _joined is not None:
        _announce_failure(sys.exc_info()[1])
        mark_broken()


# A rank dying of a Python exception says so in the coordination service's key-value store and,
# at exit, waits (briefly) until the others have seen it: their collectives waiting for it raise
# DistBackendError naming it. Leaving at once would instead take rank 0's coordination service
# down with it, and JAX's clients on the other ranks end their processes on that (fatal, no
# Python exception).
_FAILED, _ACK = "jtorch/failed/", "jtorch/failed_ack/"
_ANNOUNCE_GRACE_S = 10.0
_announced = []


def _announce_failure(exc):
    if _joined is None or _announced or exc is None:
        return
    try:
        what = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        client().key_value_set(f"{_FAILED}{_joined['rank']}", what, allow_overwrite=True)
        _announced.append(True)
    except Exception:  # noqa: BLE001  (the runtime may be gone already)
        pass


def peer_failure():
    """(rank, what) of another rank that announced it is dying of an exception, else None.
    Acknowledges it, so that rank may leave."""
    if _joined is None:
        return None
    try:
        entries = client().key_value_dir_get(_FAILED)
    except Exception:  # noqa: BLE001
        return None
    for key, what in entries:
        r = int(key.rstrip("/").rsplit("/", 1)[-1])
        if r != _joined["rank"]:
            try:
                client().key_value_set(f"{_ACK}{_joined['rank']}", str(r), allow_overwrite=True)
            except Exception:  # noqa: BLE001
                pass
            return r, what
    return None


def _wait_for_acknowledgements():
    import time
    deadline = time.monotonic() + min(_ANNOUNCE_GRACE_S, _joined["timeout"].total_seconds())
    others = _joined["world"] - 1
    while time.monotonic() < deadline:
        try:
            if len(client().key_value_dir_get(_ACK)) >= others:
                return
        except Exception:  # noqa: BLE001
            return
        time.sleep(0.05)


def _exit_broken():
    import sys
    if _announced:
        _wait_for_acknowledgements()
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(1)


def client():
    from jax._src import distributed
    return distributed.global_state.client


def autoinit():
    """Join the runtime at ``import jtorch`` when jtorch's launcher started this process."""
    # popped, so that this worker's own children (DataLoader workers, spawned helpers) do not join too
    if os.environ.pop(AUTOINIT_ENV, None) != "1" or _joined is not None:
        return
    world = int(os.environ["WORLD_SIZE"])
    if world <= 1:
        return
    secs = float(os.environ.get("JTORCH_DIST_TIMEOUT", DEFAULT_TIMEOUT.total_seconds()))
    join(f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", int(os.environ["RANK"]), world,
         datetime.timedelta(seconds=secs), local_rank=int(os.environ.get("LOCAL_RANK", 0)))


class _Caller:
    """A daemon thread that runs the blocking calls of the collectives, so that the caller can
    stop waiting after the group's timeout: XLA runs a cross-process program on the calling
    thread until every member arrives, and nothing can interrupt it. A call that timed out leaves
    its thread stuck; the next call gets a fresh thread. Daemon: a stuck one never blocks exit."""

    def __init__(self):
        import queue
        import threading
        self.jobs = queue.SimpleQueue()
        threading.Thread(target=self._loop, daemon=True, name="jtorch-collectives").start()

    def _loop(self):
        while True:
            fn, box, done = self.jobs.get()
            try:
                box.append((True, fn()))
            except BaseException as e:  # noqa: BLE001  (re-raised in the caller's thread)
                box.append((False, e))
            done.set()


_caller = []


def call_with_timeout(fn, seconds, timed_out):
    """``fn()`` on the collectives' thread; after ``seconds`` raise ``timed_out()`` (an exception)
    and mark the process broken (it exits with status 1, see mark_broken)."""
    import threading
    if not _caller:
        _caller.append(_Caller())
    import time
    box, done = [], threading.Event()
    _caller[0].jobs.put((fn, box, done))
    deadline = time.monotonic() + seconds
    slice_s = 0.05  # the common case: done well within the first slice, no polling at all
    while not done.wait(max(0.0, min(slice_s, deadline - time.monotonic()))):
        failed = peer_failure()
        if failed is not None or time.monotonic() >= deadline:
            _caller.clear()  # that thread is stuck in XLA: the next collective gets a new one
            mark_broken()
            raise timed_out() if failed is None else _peer_failed_error(*failed)
        slice_s = 0.25
    ok, value = box[0]
    if not ok:
        raise value
    return value


def _peer_failed_error(rank, what):
    from ._types import DistBackendError
    return DistBackendError(f"rank {rank} failed ({what}) while this rank (rank {_joined['rank']}) was waiting "
                            "for it in a collective")
