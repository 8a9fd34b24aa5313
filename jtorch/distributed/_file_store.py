"""``FileStore``: a c10d store kept in a file shared by the processes (see _store.py)."""
import fcntl
import os
import time
import weakref

from ._store import Store, _INTERNAL, _WAITING, _apply, _decode, _encode, _timeout_error, _waited_keys
from ._types import DistStoreError


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
