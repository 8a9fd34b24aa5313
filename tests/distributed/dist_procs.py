"""Start worker processes on loopback for the distributed tests, never hanging the suite:
every wait has a deadline, and workers left running are killed."""
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def free_port():
    return free_ports(1)[0]


def _ephemeral_floor():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n):
    """n different free ports, all bound at once (ports asked for one by one can come back twice), taken
    below the kernel's ephemeral range: a port from ``bind(0)`` is free again once released, and the many
    connections the concurrent distributed tests open get their local ports from that range, so one of
    them could take it before a store listens on it ("Address already in use")."""
    import random
    high = min(_ephemeral_floor(), 65536) - 1
    rng = random.Random()
    socks = []
    try:
        while len(socks) < n:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", rng.randrange(10000, high) if high > 11000 else 0))
            except OSError:
                s.close()
                continue
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


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
    # each command in its own process group: killing it also kills what it started (a launcher's
    # workers), which would otherwise keep the output pipe open and block us
    procs = [subprocess.Popen(c, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                              start_new_session=True) for c, e in zip(cmds, envs)]
    deadline = time.monotonic() + timeout
    results = []
    try:
        for p in procs:
            try:
                out, _ = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(p)
                out, _ = p.communicate(timeout=30)
                out += f"\n[test harness: killed after {timeout}s]"
            results.append((p.returncode, out))
    finally:
        for p in procs:
            _kill_group(p)
    return results


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)  # the group's id is the leader's pid (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass
    p.wait()


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


def once_per_session(tmp_path_factory, name, produce):
    """``produce(folder)`` once per test session, even when pytest-xdist spreads a module's tests
    over several workers (they share the session's temp root): the first runs it under a file
    lock, the others wait and reuse the folder. Returns the folder."""
    import fcntl
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (folder / "DONE").exists():
                folder.mkdir(exist_ok=True)
                produce(folder)
                (folder / "DONE").write_text("ok")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder
