"""Writing files so that readers never see half of one: write beside it, then rename."""
import contextlib
import os
import uuid


@contextlib.contextmanager
def replaced_on_success(filename):
    """Yield a fresh path in ``filename``'s folder (same extension, so writers that pick a format
    from it still can); it replaces ``filename`` when the block succeeds and is removed if not.
    The new file gets the usual permissions (0o666 less the umask), unlike a mkstemp file."""
    filename = os.fspath(filename)
    folder, name = os.path.split(os.path.abspath(filename))
    stem, ext = os.path.splitext(name)
    tmp = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:12]}.tmp{ext}")
    try:
        yield tmp
        os.replace(tmp, filename)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
