"""The wire of point-to-point transfers: a direct TCP connection from each sender to each
receiver (not through the agent or JAX's coordination service, both one hop away and slow
for bulk data).

Every rank listens on a port of its own from the moment it joins (``listen``), published in the
agent's store as ``jtorch/p2p/addr/RANK``. A sender opens one connection per receiver on its
first send and writes messages: a header (tag, sequence number, dtype, shape) and the raw
bytes. On the receiving side a thread per connection reads every message into this process's
mailbox at once, so a send never waits for its receive to be posted (torch's gloo buffers too)
and messages pair up by (source, tag, sequence number), whatever order the receives come in.
"""
import json
import socket
import struct
import threading

import numpy as np

_ADDR = "jtorch/p2p/addr/"
_mail = {}  # (src, tag, n) -> ndarray
_cv = threading.Condition()
_out = {}  # dst -> (socket, lock)
_out_lock = threading.Lock()


def listen(agent, rank):
    """Start accepting connections; publish where, on the interface that reaches the agent."""
    host = agent._sock.getsockname()[0]
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.bind((host, 0))
    srv.listen(64)
    threading.Thread(target=_accept, args=(srv,), daemon=True, name="jtorch-p2p-accept").start()
    agent.set(f"{_ADDR}{rank}", f"{host}|{srv.getsockname()[1]}")


def _accept(srv):
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        threading.Thread(target=_read, args=(conn,), daemon=True, name="jtorch-p2p-read").start()


def _recv_into(conn, view):
    while len(view):
        got = conn.recv_into(view, len(view), socket.MSG_WAITALL)  # one call for the whole buffer
        if not got:
            raise ConnectionError("closed")
        view = view[got:]


def _read(conn):
    """One sender's messages, into the mailbox (ends when the sender's process does)."""
    try:
        (src,) = struct.unpack("!q", _exact(conn, 8))
        while True:
            (n,) = struct.unpack("!Q", _exact(conn, 8))
            head = json.loads(_exact(conn, n).decode())
            arr = np.empty(head["shape"], dtype=_dtype(head["dtype"]))
            _recv_into(conn, memoryview(arr.reshape(-1).view(np.uint8)))
            with _cv:
                _mail[(src, head["tag"], head["n"])] = arr
                _cv.notify_all()
    except (ConnectionError, OSError, ValueError):
        conn.close()


def _exact(conn, n):
    buf = bytearray(n)
    _recv_into(conn, memoryview(buf))
    return bytes(buf)


def _dtype(name):
    import jax.numpy as jnp
    return np.dtype(jnp.dtype(name))  # bfloat16 and friends too


def _connection(agent, me, dst, timeout):
    with _out_lock:
        if dst not in _out:
            agent.wait([f"{_ADDR}{dst}"], timeout)
            host, port = agent.get(f"{_ADDR}{dst}").decode().split("|")
            s = socket.create_connection((host, int(port)), timeout=timeout.total_seconds())
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            s.sendall(struct.pack("!q", me))
            _out[dst] = (s, threading.Lock())
        return _out[dst]


def send(agent, me, dst, tag, n, arr, timeout):
    """Write message ``n`` with ``tag`` to ``dst``: returns once the bytes are handed to the socket."""
    a = np.ascontiguousarray(arr)
    head = json.dumps({"tag": tag, "n": n, "dtype": str(a.dtype), "shape": list(a.shape)}).encode()
    s, lock = _connection(agent, me, dst, timeout)
    with lock:
        s.sendall(struct.pack("!Q", len(head)) + head)
        s.sendall(memoryview(a.reshape(-1).view(np.uint8)))


def take(key):
    """The message ``key`` = (src, tag, n) if it arrived (removed from the mailbox), else None."""
    with _cv:
        return _mail.pop(key, None)


def wait(keys, seconds):
    """Wait up to ``seconds`` for any of ``keys`` to arrive; returns (key, message) or None."""
    with _cv:
        found = []

        def arrived():
            found[:] = [k for k in keys if k in _mail]
            return bool(found)
        if not _cv.wait_for(arrived, seconds):
            return None
        return found[0], _mail.pop(found[0])
