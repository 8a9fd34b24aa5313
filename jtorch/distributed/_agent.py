"""The rendezvous agent: the ranks' TCPStore and JAX's coordination service, in a small process
of their own (like torchrun's agent, which hosts the store), started by jtorch's launcher, or
else by rank 0.

Why a process of its own: JAX's client ends its process (a fatal abort, no Python exception)
when it loses the coordination service, and the service tells every client to end when one
task fails. Hosted in rank 0, a rank 0 killed or crashing took every rank down with it. Here
the service outlives any rank, and runs ``recoverable`` (it marks a failed task but does not
propagate the failure), so the ranks left learn of a dead peer in Python: from the gloo error
of the collective they are in, or from the agent's store, which notes every rank whose
connection closes without saying goodbye (see _tcp_store._Ranks), and they raise
DistBackendError.

The agent process exits once every rank has left (or none came within the timeout); it
ignores SIGINT (a Ctrl-C meant for the ranks) and never writes to the ranks' pipes after
saying READY.
"""
import os
import socket
import sys
import threading
import time

COORDINATOR_KEY = "jtorch/rdzv/coordinator"


def heartbeat_seconds(secs):
    """JAX's heartbeat timeout: well behind the group's timeout, which raises in Python first."""
    return int(max(100, 2 * secs + 30))


class Agent:
    """Serves a TCPStore on ``port`` (0: a free one) at once, then (``start_service``, which
    imports jaxlib: a second or so the ranks spend meeting in the store meanwhile) JAX's
    coordination service for ``world`` ranks on a free port, whose ``host:port`` it puts in the
    store."""

    def __init__(self, port, world, secs, host):
        from ._tcp_store import _Server
        self.world, self.secs, self.host = world, secs, host
        self.service = None
        self.server = _Server(int(port))  # OSError when the port is taken
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name=f"jtorch-agent-store-{self.port}").start()

    def start_service(self):
        from jax._src.lib import _jax
        with socket.socket() as s:
            s.bind(("", 0))
            cport = s.getsockname()[1]
        self.service = _jax.get_distributed_runtime_service(
            f"[::]:{cport}", self.world, heartbeat_timeout=heartbeat_seconds(self.secs),
            shutdown_timeout=int(min(300, max(1, self.secs))), recoverable=True)
        self.server.table.run("set", [COORDINATOR_KEY, f"{self.host}:{cport}".encode()], 0.0)

    def finished(self):
        """Every rank came and left, or none is left and nothing happened for ``secs``."""
        r = self.server.ranks
        with r.cv:
            if r.live:
                return False
            return len(r.seen) >= self.world or time.monotonic() - r.changed > self.secs

    def close(self):
        if self.service is not None:
            self.service.shutdown()
        self.server.stop()


def start_process(port, world, secs, host):
    """Start the agent in a process of its own (jtorch's launcher does, else rank 0). Returns the
    store's port and the process; raises DistNetworkError when the agent cannot listen there."""
    import select
    import subprocess
    from ._types import DistNetworkError
    here = os.path.dirname(os.path.abspath(__file__))
    # this package's modules without jtorch's __init__ (which imports jax: seconds the ranks would
    # spend waiting for the store); the agent needs only the store, then jaxlib
    boot = ("import sys, types\n"
            f"for name, path in (('jtorch', {os.path.dirname(here)!r}), ('jtorch.distributed', {here!r})):\n"
            "    m = types.ModuleType(name); m.__path__ = [path]; sys.modules[name] = m\n"
            "from jtorch.distributed._agent import main\n"
            "main(sys.argv[1:])\n")
    proc = subprocess.Popen([sys.executable, "-c", boot, str(port), str(world), str(secs), host],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    _started.append(proc)  # kept: the agent outlives this process when it dies first
    deadline = time.monotonic() + max(60.0, secs)
    line = b""
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    proc.stdout.close()
    words = line.decode(errors="replace").split(" ", 1)
    if words[0] != "READY":
        proc.kill()
        msg = words[1].strip() if len(words) > 1 else "the agent process did not start"
        raise DistNetworkError(f"The server socket has failed to listen on any local network address. "
                               f"port: {port}, {msg}")
    return int(words[1]), proc


_started = []


def main(argv):
    import signal
    port, world, secs, host = int(argv[0]), int(argv[1]), float(argv[2]), argv[3]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        agent = Agent(port, world, secs, host)
    except OSError as e:
        os.write(1, f"ERROR {e}\n".encode())
        return 1
    os.write(1, f"READY {agent.port}\n".encode())
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # the rank that started us may be gone: never write to its pipe again
    if not os.environ.get("JTORCH_AGENT_LOG"):
        os.dup2(null, 2)  # nor its terminal (JAX's service logs every connect and disconnect)
    agent.start_service()
    while not agent.finished():
        time.sleep(0.2)
    try:
        agent.close()
    finally:
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
