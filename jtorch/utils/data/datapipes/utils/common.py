"""Shared helpers of the DataPipes: column selection, pickle checks, file listing, StreamWrapper."""
import fnmatch
import inspect
import os
import warnings

__all__ = ["StreamWrapper", "get_file_binaries_from_pathnames", "get_file_pathnames_from_root", "match_masks",
           "validate_input_col"]


def validate_input_col(fn, input_col):
    """Checks up front that ``fn`` takes as many positional arguments as ``input_col`` selects."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    n = len(input_col) if isinstance(input_col, (list, tuple)) else 1
    positional = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())
    required = [p for p in positional if p.default is p.empty]
    name = getattr(fn, "__name__", type(fn).__name__)
    if len(required) > n:
        raise ValueError(f"The function {name} takes {len(required)} positional parameters, but {n} are required.")
    if len(positional) < n and not has_varargs:
        raise ValueError(f"The function {name} takes {len(positional)} parameters, but {n} are required.")


def _check_unpickable_fn(fn):
    """Warn about a lambda or local function: plain pickle cannot send it (without dill)."""
    from ..datapipe import HAS_DILL
    if not callable(fn):
        raise TypeError(f"A callable function is expected, but {type(fn)} is provided.")
    target = fn.func if hasattr(fn, "func") and hasattr(fn, "args") else fn  # functools.partial
    name = getattr(target, "__qualname__", "")
    if HAS_DILL:
        return
    if "<locals>" in name:
        warnings.warn("Local function is not supported by pickle, please use regular python function or "
                      "functools.partial instead.")
    elif name == "<lambda>":
        warnings.warn("Lambda function is not supported by pickle, please use regular python function or "
                      "functools.partial instead.")


def match_masks(name, masks):
    if not masks:
        return True
    if isinstance(masks, str):
        return fnmatch.fnmatch(name, masks)
    return any(fnmatch.fnmatch(name, m) for m in masks)


def get_file_pathnames_from_root(root, masks, recursive=False, abspath=False, non_deterministic=False):
    """Paths of the files under ``root`` (or ``root`` itself, a file) whose names match ``masks``."""
    def onerror(err):
        warnings.warn(f"{err.filename} : {err.strerror}")
        raise err

    if os.path.isfile(root):
        path = os.path.abspath(root) if abspath else root
        if match_masks(os.path.basename(path), masks):
            yield path
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        if abspath:
            dirpath = os.path.abspath(dirpath)
        if not non_deterministic:
            filenames.sort()
        for f in filenames:
            if match_masks(f, masks):
                yield os.path.join(dirpath, f)
        if not recursive:
            break
        if not non_deterministic:
            dirnames.sort()  # os.walk descends in this order


def get_file_binaries_from_pathnames(pathnames, mode, encoding=None):
    if not isinstance(pathnames, (list, tuple)) and not hasattr(pathnames, "__iter__"):
        pathnames = [pathnames]
    if mode in ("b", "t"):
        mode = "r" + mode
    for path in pathnames:
        if not isinstance(path, str):
            raise TypeError(f"Expected string type for pathname, but got {type(path)}")
        yield path, StreamWrapper(open(path, mode, encoding=encoding))


class StreamWrapper:
    """A file object handed along a pipeline; closing it once everything downstream is done with it.

    Attribute access goes to the wrapped object; ``parent_stream`` makes a stream close its parent
    when the parent's last child closes."""

    session_streams = {}
    debug_unclosed_streams = False

    def __init__(self, file_obj, parent_stream=None, name=None):
        self.file_obj = file_obj
        self.child_counter = 0
        self.parent_stream = parent_stream
        self.close_on_last_child = False
        self.name = name
        self.closed = False
        if parent_stream is not None:
            if not isinstance(parent_stream, StreamWrapper):
                raise RuntimeError(f"Parent stream should be StreamWrapper, {type(parent_stream)} was given")
            parent_stream.child_counter += 1
            self.parent_stream = parent_stream
        if StreamWrapper.debug_unclosed_streams:
            StreamWrapper.session_streams[self] = 1

    @classmethod
    def close_streams(cls, v, depth=0):
        """Close every StreamWrapper found in ``v`` (nested lists, tuples and dicts, 10 levels deep)."""
        if depth > 10:
            return
        if isinstance(v, StreamWrapper):
            v.close()
        elif isinstance(v, dict):
            for item in v.values():
                cls.close_streams(item, depth + 1)
        elif isinstance(v, (list, tuple)):
            for item in v:
                cls.close_streams(item, depth + 1)

    def __getattr__(self, name):
        file_obj = self.__dict__["file_obj"]
        return getattr(file_obj, name)

    def close(self, *args, **kwargs):
        if self.closed:
            return
        if StreamWrapper.debug_unclosed_streams:
            StreamWrapper.session_streams.pop(self, None)
        if hasattr(self, "parent_stream") and self.parent_stream is not None:
            self.parent_stream.child_counter -= 1
            if not self.parent_stream.child_counter and self.parent_stream.close_on_last_child:
                self.parent_stream.close()
        try:
            self.file_obj.close(*args, **kwargs)
        except AttributeError:
            pass
        self.closed = True

    def autoclose(self):
        """Close now if no child stream is open, else when the last child closes."""
        self.close_on_last_child = True
        if self.child_counter == 0:
            self.close()

    def __dir__(self):
        return list(set(list(self.__dict__) + dir(self.file_obj)))

    def __del__(self):
        if not self.__dict__.get("closed", True):
            self.close()

    def __iter__(self):
        yield from self.file_obj

    def __next__(self):
        return next(self.file_obj)

    def __repr__(self):
        if self.name is None:
            return f"StreamWrapper<{self.file_obj!r}>"
        return f"StreamWrapper<{self.name},{self.file_obj!r}>"

    def __getstate__(self):
        return self.file_obj

    def __setstate__(self, obj):
        self.file_obj = obj
        self.child_counter = 0
        self.parent_stream = None
        self.close_on_last_child = False
        self.name = None
        self.closed = False
