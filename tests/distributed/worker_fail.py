"""Failure modes of a 2-process world; prints one RESULT line the test reads.
Usage: python worker_fail.py MODE  (env: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, DIST_TIMEOUT)

MODE: never / mismatch (init only); dies_in_init (rank 1 dies inside JAX's init); rank0_killed /
rank0_exits (rank 0 ends abruptly); recv_killed (rank 1 killed during rank 0's recv); early_exit,
barrier_after_exit (rank 1 dies); rank0_raises (rank 0 dies of an exception); hang (rank 1 stays
alive but stops taking part); stopped (rank 1 is SIGSTOPped: silent, no heartbeats); recv_timeout
(rank 0 waits for a message rank 1 never sends); spmd_hang (rank 1 stops running a compiled DDP
step: rank 0's watchdog ends it); monitored (rank 1 misses a monitored_barrier). ORACLE=torch runs the same script on real torch."""
import datetime
import os
import signal
import subprocess
import sys
import time

if os.environ.get("ORACLE") == "torch":  # the same scenario under real torch, for comparison
    import torch
    import torch.distributed as dist
else:
    import jtorch as torch
    import jtorch.distributed as dist

mode = sys.argv[1]
rank = int(os.environ["RANK"])
secs = float(os.environ.get("DIST_TIMEOUT", 60))
timeout = datetime.timedelta(seconds=secs)
t0 = time.monotonic()
if mode == "dies_in_init" and rank == 1:  # dies after the store rendezvous, inside JAX's init
    def die(*args, **kwargs):
        os._exit(4)
    dist._runtime._initialize_jax = die
try:
    dist.init_process_group("gloo", timeout=timeout)
except Exception as e:  # noqa: BLE001
    print(f"RESULT init-raised {type(e).__name__} {time.monotonic() - t0:.1f}s: {e}", flush=True)
    raise SystemExit(3)
print("RESULT joined", flush=True)


def attempt(what, fn):
    t0 = time.monotonic()
    try:
        fn()
        print(f"RESULT {what} no error", flush=True)
    except Exception as e:  # noqa: BLE001
        print(f"RESULT {what} raised {type(e).__name__} {time.monotonic() - t0:.1f}s: {e}".replace("\n", " "),
              flush=True)
        print(f"RUNTIME_ERROR {isinstance(e, RuntimeError)}", flush=True)
        time.sleep(1)  # the process lives on after the error (JAX's client does not end it)
        print("STILL ALIVE", flush=True)
        raise SystemExit(5)


dist.all_reduce(torch.ones(4))  # the ranks have talked once (as in a training loop)
if mode == "rank0_raises":
    if rank == 0:
        time.sleep(0.5)
        raise RuntimeError("boom on rank 0")  # uncaught: the script dies of it
    attempt("loop", lambda: [dist.all_reduce(torch.ones(4)) for _ in range(100)])
elif mode in ("rank0_killed", "rank0_exits"):
    # rank 0 (which started the agent) ends abruptly: SIGKILL in a collective loop, os._exit
    # while rank 1 waits at a barrier
    if rank == 0:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL) if mode == "rank0_killed" else os._exit(3)
    if mode == "rank0_killed":
        attempt("loop", lambda: [(dist.all_reduce(torch.ones(4)), time.sleep(0.05)) for _ in range(200)])
    attempt("barrier", dist.barrier)
elif mode == "recv_killed":  # rank 1 is killed while rank 0 waits for its message
    if rank == 1:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    attempt("recv", lambda: dist.recv(torch.zeros(3), src=1))
elif mode == "spmd_hang":  # a compiled DDP step (one SPMD program): rank 1 stops running it
    from jtorch import nn
    torch.manual_seed(0)
    ddp = nn.parallel.DistributedDataParallel(nn.Linear(4, 2))
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)

    @torch.compile
    def step(x):
        opt.zero_grad()
        loss = ddp(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss
    x = torch.randn(3, 4)
    for i in range(3):
        step(x).item()
    print("RESULT stepped", flush=True)
    if rank == 1:
        time.sleep(3 * secs)
        os._exit(0)
    attempt("step", lambda: step(x).item())
elif mode == "monitored":  # rank 1 never reaches the monitored barrier
    if rank == 1:
        time.sleep(6)
        os._exit(0)
    attempt("monitored", lambda: dist.monitored_barrier(timeout=datetime.timedelta(seconds=2)))
elif mode in ("early_exit", "barrier_after_exit"):
    if rank == 1:
        os._exit(7)  # dies without a word to anyone
    time.sleep(1)

    def loop():
        for _ in range(100):
            dist.barrier() if mode == "barrier_after_exit" else dist.all_reduce(torch.ones(4))
            time.sleep(0.1)
    attempt("loop", loop)
elif mode in ("hang", "stopped", "recv_timeout"):
    if rank == 1:
        if mode == "stopped":  # frozen: no heartbeats, no sockets served; killed later by a helper
            subprocess.Popen(["sh", "-c", f"sleep {3 * secs + 10}; kill -9 {os.getpid()}"])
            os.kill(os.getpid(), signal.SIGSTOP)
        time.sleep(3 * secs)  # alive, but not in the collective (a rank stuck elsewhere)
        os._exit(0)
    if mode == "recv_timeout":
        attempt("recv", lambda: dist.recv(torch.zeros(3), src=1))
    attempt("all_reduce", lambda: dist.all_reduce(torch.ones(4)))
