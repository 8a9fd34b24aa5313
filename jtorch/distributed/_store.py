"""c10d key-value stores: ``HashStore`` (in process), ``FileStore`` (a file shared by the
processes), ``TCPStore`` (a small server on the master, clients elsewhere) and ``PrefixStore``
(a namespace inside another store), with torch's API: set/get/add/compare_set/wait/check/
delete_key/num_keys/append/multi_get/multi_set/list_keys.

Values are bytes (str is stored UTF-8 encoded); ``add`` keeps a decimal integer. Reading a
missing key waits up to the store's timeout, then raises DistStoreError, as torch.

Every store applies the same operations (``_apply``) to a dict of bytes: HashStore and the
TCPStore server keep it in memory under a condition variable (a waiter wakes on every change);
FileStore keeps it in its file, read and rewritten under an exclusive ``flock`` per operation.
"""
import base64
import datetime
import fcntl
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import weakref

from ._types import DistNetworkError, DistStoreError

DEFAULT_STORE_TIMEOUT = datetime.timedelta(seconds=300)
_INTERNAL = "\0jtorch/"  # keys the stores use themselves: not counted or listed


# ------------------------------------------------------------------ argument checks

def _key(k, what="key"):
    if not isinstance(k, str):
        raise TypeError(f"{what} must be a str, got {type(k).__name__}")
    return k


def _keys(ks):
    if isinstance(ks, str) or not isinstance(ks, (list, tuple)):
        raise TypeError(f"keys must be a list of str, got {type(ks).__name__}")
    return [_key(k) for k in ks]


def _value(v, what="value"):
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"{what} must be str or bytes, got {type(v).__name__}")


def _seconds(timeout):
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    raise TypeError(f"timeout must be a datetime.timedelta, got {type(timeout).__name__}")


def _timeout_error(secs, keys):
    return DistStoreError(f"wait timeout after {int(secs * 1000)}ms, keys: {', '.join('/' + k for k in keys)}")


# ------------------------------------------------------------------ the operations on a dict

_WAITING = {"get", "wait", "multi_get"}  # operations that first wait for their keys


def _waited_keys(op, args):
    return [args[0]] if op == "get" else list(args[0])


def _apply(data, op, args):
    """Apply ``op`` to ``data`` (keys present when it waits). Returns (result, changed)."""
    if op == "set":
        data[args[0]] = args[1]
        return None, True
    if op == "get":
        return data[args[0]], False
    if op in ("wait", "check"):
        return all(k in data for k in args[0]), False
    if op == "multi_get":
        return [data[k] for k in args[0]], False
    if op == "multi_set":
        data.update(zip(args[0], args[1]))
        return None, True
    if op == "add":
        key, amount = args
        cur = data.get(key, b"0")
        try:
            n = int(cur.decode()) + amount
        except (UnicodeDecodeError, ValueError):
            raise ValueError(f"add: the value of key {key!r} is not an integer ({cur[:40]!r})") from None
        data[key] = str(n).encode()
        return n, True
    if op == "compare_set":
        key, expected, desired = args
        if key not in data:
            if expected:
                return expected, False
            data[key] = desired
            return desired, True
        if data[key] == expected:
            data[key] = desired
            return desired, True
        return data[key], False
    if op == "append":
        data[args[0]] = data.get(args[0], b"") + args[1]
        return None, True
    if op == "delete_key":
        return data.pop(args[0], None) is not None, True
    if op == "num_keys":
        return sum(not k.startswith(_INTERNAL) for k in data), False
    if op == "list_keys":
        return [k for k in data if not k.startswith(_INTERNAL)], False
    raise ValueError(f"unknown store operation {op!r}")


class _Table:
    """The dict of an in-memory store (HashStore, TCPStore's server), safe across threads."""

    def __init__(self):
        self.data = {}
        self.cv = threading.Condition()

    def run(self, op, args, timeout_s):
        with self.cv:
            if op in _WAITING:
                keys = _waited_keys(op, args)
                if not self.cv.wait_for(lambda: all(k in self.data for k in keys), timeout_s):
                    raise _timeout_error(timeout_s, [k for k in keys if k not in self.data])
            result, changed = _apply(self.data, op, args)
            if changed:
                self.cv.notify_all()
            return result


# ------------------------------------------------------------------ the public classes

class Store:
    """Base of the stores. A subclass implements ``_run(op, args, timeout_seconds)``."""

    def __init__(self, timeout=DEFAULT_STORE_TIMEOUT):
        self._timeout = timeout

    @property
    def timeout(self):
        return self._timeout

    def set_timeout(self, timeout):
        _seconds(timeout)
        self._timeout = timeout

    def _run(self, op, args, timeout_s):
        raise NotImplementedError(f"{type(self).__name__} does not implement the store operations")

    def _do(self, op, *args, timeout=None):
        return self._run(op, args, _seconds(self._timeout if timeout is None else timeout))

    def set(self, key, value):
        self._do("set", _key(key), _value(value))

    def get(self, key):
        return self._do("get", _key(key))

    def add(self, key, amount):
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError(f"add(): amount must be an int, got {type(amount).__name__}")
        return self._do("add", _key(key), amount)

    def compare_set(self, key, expected_value, desired_value):
        return self._do("compare_set", _key(key), _value(expected_value, "expected_value"),
                        _value(desired_value, "desired_value"))

    def append(self, key, value):
        self._do("append", _key(key), _value(value))

    def multi_get(self, keys):
        return self._do("multi_get", _keys(keys))

    def multi_set(self, keys, values):
        keys = _keys(keys)
        if len(keys) != len(values):
            raise ValueError(f"multi_set: {len(keys)} keys but {len(values)} values")
        self._do("multi_set", keys, [_value(v) for v in values])

    def wait(self, keys, timeout=None):
        self._do("wait", _keys(keys), timeout=timeout)

    def check(self, keys):
        return self._do("check", _keys(keys))

    def delete_key(self, key):
        return self._do("delete_key", _key(key))

    def num_keys(self):
        return self._do("num_keys")

    def list_keys(self):
        return self._do("list_keys")

    def has_extended_api(self):
        return True

    def clone(self):
        raise NotImplementedError(f"{type(self).__name__}.clone is not supported")


class HashStore(Store):
    """A store in this process's memory (threads share it)."""

    def __init__(self):
        super().__init__()
        self._table = _Table()

    def _run(self, op, args, timeout_s):
        return self._table.run(op, args, timeout_s)

    def clone(self):
        c = HashStore.__new__(HashStore)
        Store.__init__(c, self._timeout)
        c._table = self._table
        return c


class PrefixStore(Store):
    """Every key of ``store`` seen through ``prefix + "/"``."""

    def __init__(self, prefix, store):
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        if not isinstance(store, Store):
            raise TypeError(f"store must be a torch.distributed.Store, got {type(store).__name__}")
        super().__init__(store.timeout)
        self._prefix = prefix
        self._store = store

    @property
    def underlying_store(self):
        return self._store

    def _p(self, k):
        return f"{self._prefix}/{k}"

    @property
    def timeout(self):
        return self._store.timeout

    def set_timeout(self, timeout):
        self._store.set_timeout(timeout)

    def set(self, key, value):
        self._store.set(self._p(_key(key)), value)

    def get(self, key):
        return self._store.get(self._p(_key(key)))

    def add(self, key, amount):
        return self._store.add(self._p(_key(key)), amount)

    def compare_set(self, key, expected_value, desired_value):
        return self._store.compare_set(self._p(_key(key)), expected_value, desired_value)

    def append(self, key, value):
        self._store.append(self._p(_key(key)), value)

    def multi_get(self, keys):
        return self._store.multi_get([self._p(k) for k in _keys(keys)])

    def multi_set(self, keys, values):
        self._store.multi_set([self._p(k) for k in _keys(keys)], values)

    def wait(self, keys, timeout=None):
        ks = [self._p(k) for k in _keys(keys)]
        self._store.wait(ks) if timeout is None else self._store.wait(ks, timeout)

    def check(self, keys):
        return self._store.check([self._p(k) for k in _keys(keys)])

    def delete_key(self, key):
        return self._store.delete_key(self._p(_key(key)))

    def num_keys(self):
        return self._store.num_keys()  # torch counts the underlying store's keys

    def list_keys(self):
        n = len(self._prefix) + 1
        return [k[n:] for k in self._store.list_keys() if k.startswith(self._prefix + "/")]

    def clone(self):
        return PrefixStore(self._prefix, self._store.clone())


# ------------------------------------------------------------------ FileStore

def _encode(obj):
    """JSON with bytes tagged (the stores' wire and file format: no pickle between processes)."""
    def conv(o):
        if isinstance(o, bytes):
            return {"b": base64.b64encode(o).decode()}
        if isinstance(o, (list, tuple)):
            return [conv(x) for x in o]
        if isinstance(o, dict):
            return {"d": [[k, conv(v)] for k, v in o.items()]}
        return o
    return json.dumps(conv(obj)).encode()


def _decode(raw):
    def conv(o):
        if isinstance(o, dict):
            if "b" in o:
                return base64.b64decode(o["b"])
            return {k: conv(v) for k, v in o["d"]}
        if isinstance(o, list):
            return [conv(x) for x in o]
        return o
    return conv(json.loads(raw.decode()))


def _locked_file(path, fn):
    """``fn(data)`` -> (result, changed) on the file's dict, under an exclusive lock."""
    with open(path, "r+b" if os.path.exists(path) else "w+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            raw = f.read()
            data = _decode(raw) if raw else {}
            result, changed = fn(data)
            if changed:
                f.seek(0)
                f.truncate()
                f.write(_encode(data))
                f.flush()
            return result
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _release_file(path, world_size):
    refs_key, made_key = FileStore._REFS, FileStore._MADE

    def release(data):
        refs = int(data.get(refs_key, b"1")) - 1
        data[refs_key] = str(refs).encode()
        return refs <= 0 and (world_size < 0 or int(data.get(made_key, b"0")) >= world_size), True
    try:
        if _locked_file(path, release):
            os.unlink(path)
    except OSError:
        pass


class FileStore(Store):
    """A store in the file ``file_name``, shared by the processes that open it (one machine, or
    a shared file system). When as many instances as ``world_size`` have been made and all of
    them are gone, the last one deletes the file (as torch's), so the path can be reused."""
    _REFS, _MADE = _INTERNAL + "refs", _INTERNAL + "made"

    def __init__(self, file_name, world_size=-1):
        super().__init__()
        if not isinstance(file_name, str):
            raise TypeError(f"file_name must be a str, got {type(file_name).__name__}")
        self._path = file_name
        self._world_size = int(world_size)
        try:
            with open(file_name, "ab"):
                pass
        except OSError as e:
            raise DistStoreError(f"FileStore cannot open {file_name!r}: {e}") from e
        self._run("add", (self._REFS, 1), 0)
        self._run("add", (self._MADE, 1), 0)
        # at garbage collection or at exit (before the interpreter tears modules down)
        self._finalizer = weakref.finalize(self, _release_file, file_name, self._world_size)

    @property
    def path(self):
        return self._path

    def _locked(self, fn):
        return _locked_file(self._path, fn)

    def _run(self, op, args, timeout_s):
        if op not in _WAITING:
            return self._locked(lambda data: _apply(data, op, args))
        keys = _waited_keys(op, args)
        deadline = time.monotonic() + timeout_s
        while True:  # poll: other processes write the file
            missing = []

            def attempt(data):
                missing[:] = [k for k in keys if k not in data]
                return (None, False) if missing else _apply(data, op, args)
            result = self._locked(attempt)
            if not missing:
                return result
            if time.monotonic() >= deadline:
                raise _timeout_error(timeout_s, missing)
            time.sleep(0.01)

    def close(self):
        """Drop this instance's reference (the last one of the world deletes the file)."""
        self._finalizer()

    def clone(self):
        c = FileStore(self._path, self._world_size)
        c._timeout = self._timeout
        return c


# ------------------------------------------------------------------ TCPStore

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


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        srv.connections.add(sock)
        try:
            self._serve(srv, sock)
        finally:
            srv.connections.discard(sock)

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
