"""What every IterDataPipe's ``__iter__`` does on top of the subclass's own code.

* Only one iterator per pipe is valid: starting a new one invalidates the previous one (its
  next ``next`` raises RuntimeError), since pipes with buffers cannot serve two readers.
* ``reset()`` runs when an iteration starts (at the first ``next`` for generator ``__iter__``).
* The number of samples yielded is counted, so a pipeline can be fast-forwarded (snapshots).
* An exception raised inside a generator ``__iter__`` says which pipe raised it.
"""
import enum
import functools
import inspect


class _SnapshotState(enum.Enum):
    NotStarted = 0
    Restored = 1
    Iterating = 2


_NOTE = "\nThis exception is thrown by __iter__ of "


def _describe(value):
    from .datapipe import IterDataPipe, MapDataPipe
    if isinstance(value, (IterDataPipe, MapDataPipe)):
        return str(value)
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return value.__name__
    return repr(value)


def describe_datapipe(dp):
    """``Name(arg=value, ...)`` from the constructor arguments kept under their own names."""
    try:
        params = inspect.signature(type(dp).__init__).parameters
    except (TypeError, ValueError):
        params = {}
    names = sorted(n for n, p in params.items() if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                   and n in getattr(dp, "__dict__", {}))
    args = ", ".join(f"{n}={_describe(getattr(dp, n))}" for n in names)
    return f"{type(dp).__name__}({args})"


def _annotate(exc, dp):
    # the innermost pipe names itself; outer pipes the error passes through leave it alone
    if exc.args and isinstance(exc.args[0], str) and _NOTE not in exc.args[0]:
        exc.args = (exc.args[0] + _NOTE + describe_datapipe(dp),) + exc.args[1:]


def _invalidated(dp):
    return RuntimeError(
        "This iterator has been invalidated because another iterator has been created from the same "
        f"IterDataPipe: {describe_datapipe(dp)}\nThis may be caused by multiple references to the same "
        "IterDataPipe. We recommend using `.fork()` if that is necessary.\nFor feedback regarding this single "
        "iterator per IterDataPipe constraint, feel free to comment on this issue: "
        "https://github.com/pytorch/data/issues/45.")


def _start(dp):
    """A new iteration of ``dp``: invalidates the previous iterator; returns the new iterator's id."""
    dp._valid_iterator_id = 0 if dp._valid_iterator_id is None else dp._valid_iterator_id + 1
    if dp._snapshot_state is not _SnapshotState.Restored:
        dp._number_of_samples_yielded = 0
        dp.reset()
    dp._snapshot_state = _SnapshotState.Iterating
    return dp._valid_iterator_id


class _IteratorDecorator:
    """Wraps the iterator a non-generator ``__iter__`` returned (often the pipe itself)."""

    def __init__(self, iterator, dp, iterator_id):
        self.iterator, self.dp, self.iterator_id = iterator, dp, iterator_id

    def __iter__(self):
        return self

    def __next__(self):
        if self.dp._valid_iterator_id != self.iterator_id:
            raise _invalidated(self.dp)
        value = next(self.iterator)  # errors pass unannotated here, as in torch
        self.dp._number_of_samples_yielded += 1
        return value

    def __getattr__(self, name):
        return getattr(self.iterator, name)


def hook_iterator(iter_fn):
    """Wrap a class's ``__iter__`` with the bookkeeping described in the module docstring."""
    if getattr(iter_fn, "_datapipe_hooked", False):
        return iter_fn

    if inspect.isgeneratorfunction(iter_fn):
        @functools.wraps(iter_fn)
        def wrapper(self, *args, **kwargs):
            fast_forward = self._fast_forward_iterator
            if fast_forward is not None:  # restored from a snapshot: continue where it stopped
                self._fast_forward_iterator = None
                yield from fast_forward
                return
            gen = iter_fn(self, *args, **kwargs)
            my_id = _start(self)
            try:
                while True:
                    try:
                        value = next(gen)
                    except StopIteration:
                        return
                    except Exception as e:
                        _annotate(e, self)
                        raise
                    self._number_of_samples_yielded += 1
                    yield value
                    if self._valid_iterator_id != my_id:
                        raise _invalidated(self)
            finally:
                gen.close()
    else:
        @functools.wraps(iter_fn)
        def wrapper(self, *args, **kwargs):
            fast_forward = self._fast_forward_iterator
            if fast_forward is not None:
                self._fast_forward_iterator = None
                return fast_forward
            my_id = _start(self)
            it = iter_fn(self, *args, **kwargs)
            if not hasattr(it, "__next__"):  # an iterable, not an iterator (a pipe returning itself is one)
                it = iter(it)
            return _IteratorDecorator(it, self, my_id)

    wrapper._datapipe_hooked = True
    return wrapper
