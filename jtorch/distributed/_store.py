"""c10d key-value stores: ``HashStore`` (in process), ``FileStore`` (a file shared by the
processes), ``TCPStore`` (a small server on the master, clients elsewhere) and ``PrefixStore``
(a namespace inside another store), with torch's API: set/get/add/compare_set/wait/check/
delete_key/num_keys/append/multi_get/multi_set/list_keys.

Values are bytes (str is stored UTF-8 encoded); ``add`` keeps a decimal integer. Reading a
missing key waits up to the store's timeout, then raises DistStoreError, as torch.

Every store applies the same operations (``_apply``) to a dict of bytes: HashStore and the
TCPStore server keep it in memory under a condition variable (a waiter wakes on every change);
FileStore keeps it in its file, read and rewritten under an exclusive ``flock`` per operation.
Here: the operations, ``Store``, ``HashStore``, ``PrefixStore`` and the encoding the FileStore's
file and the TCPStore's wire share; ``_file_store.py`` and ``_tcp_store.py`` hold the others.
"""
import base64
import datetime
import json
import threading

from ._types import DistStoreError


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


# ------------------------------------------------------------------ encoding (file, wire)

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
