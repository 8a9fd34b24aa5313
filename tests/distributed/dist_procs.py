"""Start worker processes on loopback for the distributed tests, never hanging the suite:
every wait has a deadline, and workers left running are killed."""
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(rank=None, world=None, port=None, **extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.pop("JTORCH_DIST_AUTOINIT", None)
    if rank is not None:
        env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_all(cmds, envs, timeout):
    """Run the commands concurrently; returns [(returncode, output)], killing all at ``timeout``."""
    procs = [subprocess.Popen(c, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
             for c, e in zip(cmds, envs)]
    deadline = time.monotonic() + timeout
    results = []
    try:
        for p in procs:
            try:
                out, _ = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
                out += f"\n[test harness: killed after {timeout}s]"
            results.append((p.returncode, out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def run_workers(script, args=(), world=2, timeout=240, ranks=None, **extra_env):
    """``python script args`` as ranks 0..world-1 of a fresh loopback world."""
    port = free_port()
    ranks = range(world) if ranks is None else ranks
    cmds = [[sys.executable, os.path.join(HERE, script)] + [str(a) for a in args] for _ in ranks]
    envs = [env_for(r, world, port, **extra_env) for r in ranks]
    return run_all(cmds, envs, timeout)


def check_ok(results):
    for r, (code, out) in enumerate(results):
        assert code == 0, f"worker {r} failed with exit code {code}:\n{out[-4000:]}"
