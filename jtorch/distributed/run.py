"""``python -m jtorch.distributed.run``: torchrun's launcher for jtorch.

    python -m jtorch.distributed.run --nproc_per_node 2 train.py --lr 0.1
    python -m jtorch.distributed.run --nnodes 2 --node_rank 0 --master_addr HOST --master_port 29500 \
        --nproc_per_node 4 train.py

Starts ``nproc_per_node`` workers on this node, each running the script on jtorch (``import
torch`` gives jtorch, as under ``python -m jtorch run``) with torchrun's environment (RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT, ...). Workers
join JAX's distributed runtime at ``import jtorch`` (``JTORCH_DIST_AUTOINIT``), so a script may
create tensors before ``init_process_group``. The launcher of node 0 hosts the workers' store and
JAX's coordination service (_agent.py), as torchrun's agent hosts the store. When a worker fails,
the others are terminated and the launcher raises torchrun's ChildFailedError (the report names
each failed worker's rank, exit code or signal); exit status 1. Restarts (elastic) are not supported.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import uuid


def _parser(prog="python -m jtorch.distributed.run"):
    p = argparse.ArgumentParser(prog=prog, description="Start a jtorch/PyTorch script on several processes.",
                                allow_abbrev=False)

    def opt(name, **kw):  # torchrun accepts --nproc-per-node and --nproc_per_node alike
        names = ["--" + name] + (["--" + name.replace("_", "-")] if "_" in name else [])
        p.add_argument(*names, **kw)

    opt("nnodes", type=str, default="1", help="number of nodes, or MIN:MAX (only a fixed number is supported)")
    opt("nproc_per_node", type=str, default="1", help="workers per node: a number, 'cpu', 'gpu' or 'auto'")
    opt("node_rank", type=int, default=0, help="this node's rank (multi-node)")
    opt("master_addr", type=str, default="127.0.0.1", help="address of the rank-0 node")
    opt("master_port", type=int, default=29500, help="coordinator port on the rank-0 node")
    opt("standalone", action="store_true", help="single node: pick a free local port")
    opt("rdzv_endpoint", type=str, default="", help="HOST[:PORT] of the coordinator (like --master_addr/port)")
    opt("rdzv_backend", type=str, default="static")
    opt("rdzv_id", type=str, default="none")
    opt("rdzv_conf", type=str, default="")
    opt("max_restarts", type=int, default=0)
    opt("monitor_interval", type=float, default=0.1)
    opt("start_method", type=str, default="spawn")
    opt("role", type=str, default="default")
    opt("local_addr", type=str, default=None)
    opt("log_dir", type=str, default=None)
    opt("redirects", type=str, default="0")
    opt("tee", type=str, default="0")
    opt("timeout", type=float, default=1800.0, help="seconds to wait for every worker to join (jtorch)")
    p.add_argument("-m", "--module", action="store_true", help="run the script as a module (python -m)")
    opt("no_python", action="store_true", help="run the script as a command, not through python")
    opt("run_path", action="store_true")
    p.add_argument("training_script", type=str)
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nproc(spec):
    if spec in ("auto", "gpu"):
        from ._runtime import _gpu_count
        n = _gpu_count()
        if n or spec == "gpu":
            if not n:
                raise ValueError("--nproc_per_node=gpu but no GPU is available")
            return n
        return os.cpu_count() or 1
    if spec == "cpu":
        return os.cpu_count() or 1
    n = int(spec)
    if n < 1:
        raise ValueError(f"--nproc_per_node must be positive, got {n}")
    return n


def _worker_env(args, nproc, nnodes, local_rank, addr, port, run_id):
    env = dict(os.environ)
    world = nnodes * nproc
    rank = args.node_rank * nproc + local_rank
    env.update(RANK=str(rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(nproc),
               GROUP_RANK=str(args.node_rank), GROUP_WORLD_SIZE=str(nnodes), ROLE_RANK=str(rank),
               ROLE_NAME=args.role, ROLE_WORLD_SIZE=str(world), MASTER_ADDR=addr, MASTER_PORT=str(port),
               TORCHELASTIC_RESTART_COUNT="0", TORCHELASTIC_MAX_RESTARTS=str(args.max_restarts),
               TORCHELASTIC_RUN_ID=run_id, TORCH_NCCL_ASYNC_ERROR_HANDLING="1",
               JTORCH_DIST_AUTOINIT="1", JTORCH_DIST_TIMEOUT=str(args.timeout),
               TORCHELASTIC_USE_AGENT_STORE="True")  # rank 0 connects to the launcher's store too
    if nproc > 1 and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = "1"
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([here] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def _command(args):
    if args.no_python:
        return [args.training_script] + args.training_script_args
    target = ["-m", args.training_script] if args.module else [args.training_script]
    return [sys.executable, "-u", "-m", "jtorch", "run"] + target + args.training_script_args


def _stop(procs, grace=10.0):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    end = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv=None, prog="python -m jtorch.distributed.run", extra_args=None):
    args = _parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    nnodes = int(args.nnodes.split(":")[-1])
    if ":" in args.nnodes and len(set(args.nnodes.split(":"))) > 1:
        raise ValueError("elastic --nnodes MIN:MAX is not supported by jtorch; give a fixed number of nodes")
    nproc = _nproc(args.nproc_per_node)
    addr, port = args.master_addr, args.master_port
    if args.rdzv_endpoint:
        host, _, p = args.rdzv_endpoint.rpartition(":") if ":" in args.rdzv_endpoint else (args.rdzv_endpoint, "", "")
        addr, port = host or addr, int(p) if p else port
    if args.standalone:
        if nnodes != 1:
            raise ValueError("--standalone runs on one node (--nnodes 1)")
        addr, port = "127.0.0.1", _free_port()
    if not 0 <= args.node_rank < nnodes:
        raise ValueError(f"--node_rank {args.node_rank} must be in [0, {nnodes - 1}]")
    run_id = args.rdzv_id if args.rdzv_id != "none" else str(uuid.uuid4())
    cmd = _command(args)
    # this launcher (node 0's) starts the agent that serves the workers' store and JAX's coordination
    # service (see _agent.py), as torchrun's agent serves the store: a worker dying, rank 0
    # included, leaves both up
    agent = None
    if args.node_rank == 0:
        from ._agent import start_process
        agent = start_process(port, nnodes * nproc, args.timeout, addr)[1]
    procs = []
    try:
        for local_rank in range(nproc):
            extra = extra_args(local_rank) if extra_args else []
            procs.append(subprocess.Popen(cmd + extra, env=_worker_env(args, nproc, nnodes, local_rank, addr, port,
                                                                        run_id)))
        return _watch(args, procs, nproc)
    finally:
        _stop(procs)
        if agent is not None:  # it leaves by itself once every worker left; not later than us
            _stop([agent], grace=5.0)


def _watch(args, procs, nproc):
    """Wait for the workers. When one fails, stop the others and raise torchrun's
    ChildFailedError: every worker that ended badly, the first one as the root cause."""
    from .elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    def forward(signum, frame):
        _stop(procs)
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                first = failed[0]
                failures = {args.node_rank * nproc + first: ProcessFailure(first, procs[first].pid, codes[first])}
                sys.stderr.write(f"[jtorch.distributed.run] failed (exitcode: {codes[first]}) local_rank: {first} "
                                 f"(pid: {procs[first].pid}) of binary: {procs[first].args[0]}; "
                                 "stopping the other workers\n")
                _stop(procs)
                for i, p in enumerate(procs):
                    if i != first and p.returncode != 0:
                        failures[args.node_rank * nproc + i] = ProcessFailure(i, p.pid, p.returncode)
                raise ChildFailedError(args.training_script, failures)
            if all(c == 0 for c in codes):
                return 0
            time.sleep(args.monitor_interval)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
