"""``TCPStore``: a c10d store served over TCP by the master, one thread per client connection
(see _store.py). Frames are an 8-byte length, then the JSON encoding of _store.py."""
import socket
import socketserver
import struct
import sys
import threading
import time

from ._store import DEFAULT_STORE_TIMEOUT, Store, _Table, _WAITING, _decode, _encode, _seconds
from ._types import DistNetworkError, DistStoreError


def _send_frame(sock, payload):
    sock.sendall(struct.pack("!Q", len(payload)) + payload)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def _recv_frame(sock):
    (n,) = struct.unpack("!Q", _recv_exact(sock, 8))
    return _recv_exact(sock, n)


_ERRORS = {"DistStoreError": DistStoreError, "ValueError": ValueError, "TypeError": TypeError}


class _Server(socketserver.ThreadingTCPServer):
    """The master's server: one thread per client connection, all on one _Table."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port):
        self.table = _Table()
        self.clients = 0
        self.connections = set()
        self.ranks = _Ranks(self.table)
        super().__init__(("", port), _Handler)

    def stop(self):
        """Stop serving and drop every client (they get DistNetworkError), as torch's master does."""
        self.shutdown()
        self.server_close()
        for sock in list(self.connections):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Ranks:
    """Which ranks of jtorch's runtime are alive, kept by the server they all connect to (the
    agent's, see _agent.py): each rank registers one connection (``__rank__``) and leaves with
    ``__bye__``; a registered connection that closes without it means the rank's process ended
    abruptly (killed, crashed, ``os._exit``), which is noted like a failure the rank announced
    itself (``__failed__``). Ranks read the notes with ``__failures__``."""
    OPS = ("__rank__", "__bye__", "__failed__", "__failures__")

    def __init__(self, table):
        self.cv = table.cv  # one lock for the table and this
        self.live, self.seen, self.failures = set(), set(), {}
        self.changed = time.monotonic()

    def run(self, handler, op, args):
        with self.cv:
            if op == "__rank__":
                handler.rank = int(args[0])
                self.live.add(handler.rank)
                self.seen.add(handler.rank)
            elif op == "__bye__":
                self.live.discard(handler.rank)
                handler.rank = None
            elif op == "__failed__":
                self.failures.setdefault(int(args[0]), str(args[1]))
            else:
                return sorted([r, what] for r, what in self.failures.items())
            self.changed = time.monotonic()
            self.cv.notify_all()
        return None

    def lost(self, rank):
        with self.cv:
            if rank in self.live:
                self.live.discard(rank)
                self.failures.setdefault(rank, "its process ended without reporting an error: killed, crashed or "
                                               "os._exit")
                self.changed = time.monotonic()
                self.cv.notify_all()


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        srv.connections.add(sock)
        self.rank = None  # set when a rank of jtorch's runtime says this connection is its own
        try:
            self._serve(srv, sock)
        finally:
            srv.connections.discard(sock)
            if self.rank is not None:
                srv.ranks.lost(self.rank)

    def _serve(self, srv, sock):
        while True:
            try:
                op, args, timeout_s = _decode(_recv_frame(sock))
            except (ConnectionError, OSError, ValueError):
                return
            try:
                if op == "__join__":
                    with srv.table.cv:
                        srv.clients += 1
                        srv.table.cv.notify_all()
                    reply = ["ok", None]
                elif op in _Ranks.OPS:
                    reply = ["ok", srv.ranks.run(self, op, args)]
                else:
                    reply = ["ok", srv.table.run(op, args, timeout_s)]
            except (DistStoreError, ValueError, TypeError) as e:
                reply = ["err", type(e).__name__, str(e)]
            try:
                _send_frame(sock, _encode(reply))
            except OSError:
                return


class TCPStore(Store):
    """A store served over TCP by the master (``is_master=True``: it listens on ``port`` on every
    address, 0 picks a free one) and reached by clients at ``host_name:port``. The master waits up
    to ``timeout`` for ``world_size`` stores (itself included) when ``wait_for_workers``."""

    def __init__(self, host_name, port, world_size=None, is_master=False, timeout=DEFAULT_STORE_TIMEOUT,
                 wait_for_workers=True, multi_tenant=False, master_listen_fd=None, use_libuv=True):
        super().__init__(timeout)
        secs = _seconds(timeout)
        self.host = host_name
        self._server = None
        self._lock = threading.Lock()
        if is_master:
            try:
                self._server = _Server(int(port))
            except OSError as e:
                raise DistNetworkError(f"The server socket has failed to listen on any local network address. "
                                       f"port: {port}, {e}") from e
            port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                             name=f"jtorch-TCPStore-{port}").start()
        self.port = int(port)
        self._sock = self._connect(secs)
        self._call("__join__", ())
        if is_master and wait_for_workers and world_size:
            srv = self._server
            with srv.table.cv:
                if not srv.table.cv.wait_for(lambda: srv.clients >= world_size, secs):
                    raise DistStoreError(f"Timed out after {secs:g} seconds waiting for clients. "
                                         f"{srv.clients}/{world_size} clients joined.")

    libuvBackend = False  # a plain socket server, not torch's libuv one

    def _connect(self, secs):
        deadline = time.monotonic() + secs
        while True:
            try:
                s = socket.create_connection((self.host, self.port), timeout=max(0.1, min(5.0, secs)))
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return s
            except OSError:
                if time.monotonic() >= deadline:
                    raise DistNetworkError(f"The client socket has timed out after {int(secs * 1000)}ms while trying "
                                           f"to connect to ({self.host}, {self.port}).") from None
                time.sleep(0.05)

    def _call(self, op, args, timeout_s=0.0):
        with self._lock:
            try:
                # a blocking read of the reply: the server answers by the wait's timeout at the latest
                self._sock.settimeout(timeout_s + 60 if op in _WAITING else 60)
                _send_frame(self._sock, _encode([op, list(args), timeout_s]))
                reply = _decode(_recv_frame(self._sock))
            except (ConnectionError, OSError) as e:
                raise DistNetworkError(f"The connection to the TCPStore at ({self.host}, {self.port}) was lost "
                                       f"(did the master exit or crash?): {e}") from None
        if reply[0] == "err":
            raise _ERRORS.get(reply[1], DistStoreError)(reply[2])
        return reply[1]

    def _run(self, op, args, timeout_s):
        return self._call(op, args, timeout_s)

    def clone(self):
        return TCPStore(self.host, self.port, is_master=False, timeout=self._timeout, wait_for_workers=False)

    def __del__(self):
        try:
            self._sock.close()
        except Exception:  # noqa: BLE001
            pass
        if self._server is not None and not sys.is_finalizing():  # at exit the daemon thread just ends
            srv, self._server = self._server, None
            threading.Thread(target=srv.stop, daemon=True).start()
