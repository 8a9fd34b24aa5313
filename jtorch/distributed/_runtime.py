"""The process's link to JAX's distributed runtime (``jax.distributed``).

JAX's runtime must be initialised before XLA's backends start (the CPU/GPU clients are
built knowing the other processes). ``import jtorch`` therefore never touches the backend;
scripts started by jtorch's launcher (``python -m jtorch.distributed.run``, which sets
``JTORCH_DIST_AUTOINIT``) join the runtime already at ``import jtorch``, so they may create
tensors before ``init_process_group``, which then only checks the arguments agree.

The ranks meet in a c10d store before JAX is started (``join``); the store and JAX's coordination
service live in an agent process (_agent.py), which notes every rank that dies; collectives,
barriers and receives wait with a timeout and poll those notes (``call_with_timeout``,
``peer_failure``); a watchdog ends compiled steps left waiting (``watch``): all so that failures
raise in Python, naming the failed rank, instead of hanging or ending in JAX's fatal exit. See
docs/internals.md ("Distributed").

Everything here is imported by ``jtorch/__init__.py``: keep it free of backend calls.
"""
import datetime
import glob
import os

AUTOINIT_ENV = "JTORCH_DIST_AUTOINIT"
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)

# what this process joined: {"address", "rank", "world", "timeout", "store", "agent", "pid"}; None when
# single-process
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
    given (``store=``, ``file://``), else a TCPStore at ``address`` ("host:port"; torch's env://
    and tcp://) served by the agent (_agent.py: jtorch's launcher, or a process rank 0 starts). A
    rank missing there raises within ``timeout`` (DistStoreError on rank 0, DistNetworkError on a
    rank that cannot reach the store). Only then, with every rank known to be up, all join JAX's
    coordination service, which the agent hosts too."""
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
    agent = None
    if store is None:
        host, _, port = address.rpartition(":")
        # under jtorch's launcher (as under torchrun) the launcher serves the store
        if rank == 0 and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
            from . import _agent
            _agent.start_process(int(port), world, secs, host)
        store = agent = TCPStore(host, int(port), world, is_master=False, timeout=timeout, wait_for_workers=False)
        agent._call("__rank__", (rank,))
    _meet(store, rank, world, secs)
    if agent is None:
        agent = _agent_beside(store, rank, world, secs, timeout)
    _joined = {"rank": rank, "world": world, "timeout": timeout, "store": store, "agent": agent,
               "pid": os.getpid()}  # a forked child (it shares the agent's socket) must not speak for us
    from . import _p2p_net
    _p2p_net.listen(agent, rank)  # p2p messages come straight from their senders
    try:
        # the agent may still be starting JAX's service (it imports jaxlib): not the peers' delay
        agent.wait([_COORDINATOR], datetime.timedelta(seconds=max(secs, 120.0)))
        coordinator = agent.get(_COORDINATOR)
        if isinstance(coordinator, bytes):
            coordinator = coordinator.decode()
        _initialize_jax(coordinator, rank, world, secs, local_rank, want_gpu)
    except BaseException:
        _joined = None
        raise
    _joined["address"] = coordinator
    _hook_uncaught_exceptions()
    import atexit
    atexit.register(_leave)


_RDZV = "jtorch/rdzv/"
_COORDINATOR = f"{_RDZV}coordinator"


def _agent_beside(store, rank, world, secs, timeout):
    """With a given store (file://, store=): rank 0 starts the agent (for JAX's coordination
    service and the notes on dead ranks) and says where in the store; every rank connects."""
    from ._tcp_store import TCPStore
    key = f"{_RDZV}agent"
    host = os.environ.get("MASTER_ADDR") or _host_address()
    if rank == 0:
        from . import _agent
        store.set(key, f"{host}:{_agent.start_process(0, world, secs, host)[0]}")
    store.wait([key], datetime.timedelta(seconds=secs))
    ahost, _, aport = store.get(key).decode().rpartition(":")
    agent = TCPStore(ahost, int(aport), is_master=False, timeout=timeout, wait_for_workers=False)
    agent._call("__rank__", (rank,))
    return agent


def _leave():
    """A clean exit: JAX's teardown first (its client says goodbye to the coordination service:
    done after the agent may have gone, it aborts), then tell the agent, which leaves once every
    rank has said goodbye, and which takes a rank gone without one for a crash."""
    if _joined is not None and not _broken and os.getpid() == _joined["pid"]:
        try:
            from jax._src import api
            api.clean_up()  # what JAX's own exit hook does (that one then finds nothing left to do)
            _joined["agent"]._call("__bye__", ())
        except Exception:  # noqa: BLE001
            pass


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
                             f"joined. This is rank {rank}: is every rank started, with the same world_size "
                             "and rendezvous address?") from None
    for r in range(1, world):
        compare(r)


def _host_address():
    import socket
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _initialize_jax(coordinator, rank, world, secs, local_rank, want_gpu):
    """jax.distributed.initialize's work for a process that is only a client (the agent hosts
    the service). Connecting waits for every rank; it runs on a helper thread, because JAX's
    client ends the process when the wait fails (a rank died on the way here): this thread
    raises instead, within ``secs``, when the agent reports a dead rank or time is up."""
    import threading
    import jax
    from jax._src import distributed
    from jax._src.lib import _jax
    from . import _agent
    from ._types import DistStoreError
    if local_rank is not None and want_gpu is not False and local_rank < _gpu_count():
        jax.config.update("jax_cuda_visible_devices", str(local_rank))
        jax.config.update("jax_rocm_visible_devices", str(local_rank))
    # gloo gives XLA's CPU client cross-process collectives (the default CPU client has none)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    client = _jax.get_distributed_runtime_client(
        coordinator, rank, init_timeout=int(secs) + 24 * 3600,  # ours below comes first; JAX's would abort
        heartbeat_timeout=_agent.heartbeat_seconds(secs), shutdown_timeout=int(min(300, max(1, secs))),
        use_compression=True)
    box = []

    def connect():
        try:
            client.connect()
            box.append(None)
        except Exception as e:  # noqa: BLE001
            box.append(e)
    t = threading.Thread(target=connect, daemon=True, name="jtorch-connect")
    t.start()
    import time
    deadline = time.monotonic() + secs
    while True:
        t.join(0.1)
        if box:
            break
        failed = peer_failure()
        if failed is not None or time.monotonic() >= deadline:
            mark_broken()  # the connecting thread must not reach JAX's abort: leave with status 1
            if failed is not None:
                from ._types import DistBackendError
                raise DistBackendError(f"rank {failed[0]} failed ({failed[1]}) while this rank (rank {rank}) was "
                                       "joining JAX's distributed runtime")
            raise DistStoreError(f"Timed out after {secs:g} seconds joining JAX's distributed runtime at "
                                 f"{coordinator} (this is rank {rank} of {world})")
    if box[0] is not None:
        raise DistStoreError(f"joining JAX's distributed runtime at {coordinator} failed (this is rank {rank} "
                             f"of {world}): {str(box[0]).splitlines()[0]}") from box[0]
    state = distributed.global_state
    state.coordinator_address, state.process_id, state.num_processes = coordinator, rank, world
    state.client = client
    # no preemption sync manager (jax.distributed.initialize starts one): it takes SIGTERM for a
    # preemption notice, and a torch worker must end on SIGTERM (the launcher stops workers so)


_broken = []  # set when a thread of ours is left stuck inside JAX


def mark_broken():
    """A thread of ours is stuck in a call into JAX that waits for a peer (a collective that timed
    out, a connect that failed): JAX's teardown at exit could wait for it or abort, so leave with
    status 1 at exit instead."""
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


# A rank dying of a Python exception tells the agent why; the others' collectives, barriers and
# receives waiting for it poll the agent's notes and raise DistBackendError naming it. A rank
# whose process ends abruptly is noted by the agent itself (its connection closed without a bye).
_announced = []


def _announce_failure(exc):
    if _joined is None or _announced or exc is None or os.getpid() != _joined["pid"]:
        return
    try:
        what = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        _joined["agent"]._call("__failed__", (_joined["rank"], what))
        _announced.append(True)
    except Exception:  # noqa: BLE001  (the agent may be gone already)
        pass


def peer_failure():
    """(rank, what) of another rank that failed (announced an exception, or its process ended
    abruptly), else None."""
    agent = (_joined or {}).get("agent")
    if agent is None:
        return None
    try:
        notes = agent._call("__failures__", ())
    except Exception:  # noqa: BLE001
        return None
    for r, what in notes:
        if r != _joined["rank"]:
            return r, what
    return None


def _exit_broken():
    import sys
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
    """``fn()`` on the collectives' thread; after ``seconds`` raise ``timed_out()`` (an exception),
    sooner a DistBackendError when a peer failed. When the thread is left stuck, the process is
    marked broken (it exits with status 1, see mark_broken)."""
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
            # a dead peer usually ends the call too (its connections close): give it a moment
            if failed is None or not done.wait(2.0):
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


def dead_peer(ranks, wait_s=1.0):
    """(rank, what) of a failed rank among ``ranks`` as the agent noted it, waiting up to
    ``wait_s`` (a collective's connection error may come a moment before the agent's note)."""
    import time
    deadline = time.monotonic() + wait_s
    while True:
        failed = peer_failure()
        if (failed is not None and failed[0] in ranks) or time.monotonic() >= deadline:
            return failed if failed is not None and failed[0] in ranks else None
        time.sleep(0.05)


def barrier(name, ranks, secs, monitored=None):
    """Wait until every rank of ``ranks`` arrived at barrier ``name``, in the agent's store (not
    JAX's barrier: a thread left waiting in it when a peer dies makes the process abort at exit).
    Raises DistBackendError after ``secs`` naming the ranks that did not arrive (in torch's
    monitored_barrier words when ``monitored`` is "first" or "all"), sooner when a member failed."""
    import time
    from ._types import DistBackendError, DistStoreError
    agent = _joined["agent"]
    keys = [f"\0jtorch/barrier/{name}/{r}" for r in ranks]
    agent.set(keys[ranks.index(_joined["rank"])], "1")
    deadline = time.monotonic() + secs
    slice_s = 0.05
    while True:
        try:
            agent.wait(keys, datetime.timedelta(seconds=max(0.0, min(slice_s, deadline - time.monotonic()))))
            return
        except DistStoreError:
            pass
        failed = peer_failure()
        if failed is not None and failed[0] in ranks:
            raise DistBackendError(f"rank {failed[0]} failed ({failed[1]}) while this rank (rank {_joined['rank']}) "
                                   f"was waiting for it at a barrier")
        if time.monotonic() >= deadline:
            missing = [r for r, k in zip(ranks, keys) if not agent.check([k])]
            if monitored is None:
                raise DistBackendError(f"barrier over ranks {list(ranks)} timed out after {secs:g} seconds: ranks "
                                       f"{missing} did not arrive")
            who = (f"Rank {missing[0]}" if monitored == "first" or len(missing) == 1
                   else f"Ranks {', '.join(map(str, missing))}")
            raise DistBackendError(f"[Rank {_joined['rank']}]: {who} failed to pass monitoredBarrier in "
                                   f"{int(secs * 1000)} ms")
        slice_s = 0.25


# ------------------------------------------------------------------ the watchdog of compiled steps
# A compiled SPMD step (jtorch.compile across the processes, jtorch/_spmd.py) runs its collectives
# inside one XLA program, dispatched asynchronously: a peer that never runs its side leaves the
# program waiting forever, and the caller blocks in whatever reads a result. As torch's NCCL
# watchdog does, a thread watches each step and takes the process down (status 1) when it has not
# finished within the group's timeout, after telling the agent why (the peers raise naming it).
_watched = []  # [[deadline, first output or None while dispatching, what]]
_watch_cv = []


def watch(what):
    """Start watching a step about to be dispatched (the dispatch itself may wait for the peers);
    give its outputs to ``watched`` once it returns."""
    if _joined is None:
        return None
    import threading
    import time
    if not _watch_cv:
        _watch_cv.append(threading.Condition())
        threading.Thread(target=_watchdog, daemon=True, name="jtorch-watchdog").start()
    entry = [time.monotonic() + _joined["timeout"].total_seconds(), None, what]
    with _watch_cv[0]:
        _watched.append(entry)
        _watch_cv[0].notify()
    return entry


def watched(entry, outputs):
    """The step of ``entry`` was dispatched: it is done when its first output is ready (an XLA
    program's outputs are ready together); a step without outputs is not watched further."""
    if entry is not None:
        entry[1] = outputs[0] if outputs else True


def _ready(a):
    if a is None:
        return False
    if a is True:
        return True
    try:
        return a.is_ready()
    except RuntimeError:  # deleted: donated to a later step, so this one ran
        return True


def _watchdog():
    import time
    cv = _watch_cv[0]
    while True:
        with cv:
            cv.wait_for(lambda: _watched, None)
            _watched[:] = [w for w in _watched if not _ready(w[1])]
            late = [w for w in _watched if time.monotonic() > w[0]]
        if late:
            _watchdog_fires(late[0][2])
        time.sleep(0.1)


def _watchdog_fires(what):
    import sys
    secs = _joined["timeout"].total_seconds()
    msg = (f"[Rank {_joined['rank']}] Watchdog caught collective operation timeout: {what} ran for "
           f"{int(secs * 1000)} milliseconds before timing out (did another rank stop, hang or run a different "
           "step?). To avoid data inconsistency, this process is taken down.")
    try:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    from ._types import DistBackendError
    _announce_failure(DistBackendError(msg))
    os._exit(1)
