"""Writing files so that a reader (or a crash) never sees half of one: write beside the target,
fsync, rename over it. Every writer of user files in jtorch goes through here."""
import contextlib
import os
import uuid


@contextlib.contextmanager
def atomic_path(filename):
    """Yield a fresh path in ``filename``'s folder (same extension, for writers that choose a format from
    it); when the block succeeds it replaces ``filename``, keeping an existing file's permissions (a new one
    gets 0o666 less the umask, not a temporary file's 0o600); when it fails it is removed."""
    filename = os.fspath(filename)
    folder, name = os.path.split(os.path.abspath(filename))
    stem, ext = os.path.splitext(name)
    tmp = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:12]}.tmp{ext}")
    try:
        yield tmp
        if os.path.exists(tmp):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, os.stat(filename).st_mode & 0o777)
            os.replace(tmp, filename)
            _sync_folder(folder)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_open(filename, mode="wb"):
    """``open(filename, mode)`` whose contents appear under ``filename`` only once fully written and synced."""
    with atomic_path(filename) as tmp, open(tmp, mode) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def _sync_folder(folder):
    """Make the rename itself durable (where the platform can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
