"""torch.futures: ``Future`` (a value that becomes available later), ``collect_all``, ``wait_all``.

jtorch's collectives finish before they return, so the futures they hand out (``Work.get_future``,
DDP communication hooks) are already completed; a Future made by user code completes when
``set_result``/``set_exception`` is called, from any thread."""
import threading
import types

__all__ = ["Future", "collect_all", "wait_all"]


class Future:
    __class_getitem__ = classmethod(types.GenericAlias)  # Future[torch.Tensor] in annotations

    def __init__(self, *, devices=None):
        self._cv = threading.Condition()
        self._done = False
        self._result = None
        self._error = None
        self._callbacks = []

    def done(self):
        return self._done

    def _complete(self, result, error):
        with self._cv:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future "
                                   "can only be marked completed once.")
            self._result, self._error, self._done = result, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cv.notify_all()
        for cb in callbacks:
            cb(self)

    def set_result(self, result):
        self._complete(result, None)

    def set_exception(self, result):
        if not isinstance(result, BaseException):
            raise TypeError(f"set_exception expects an exception, got {type(result).__name__}")
        self._complete(None, result)

    def wait(self):
        """Block until completed; the value, or raise the stored exception."""
        with self._cv:
            self._cv.wait_for(lambda: self._done)
        return self.value()

    def value(self):
        if not self._done:
            raise RuntimeError("Future.value() called before the Future completed: call wait() first")
        if self._error is not None:
            raise self._error
        return self._result

    def add_done_callback(self, callback):
        """``callback(fut)`` once completed (now, if it already is)."""
        with self._cv:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback):
        """A new Future holding ``callback(self)`` (or the exception it raised) once this completes."""
        out = Future()

        def run(fut):
            try:
                out.set_result(callback(fut))
            except Exception as e:  # noqa: BLE001  (handed to whoever waits on ``out``, wrapped as torch does)
                err = RuntimeError(f"Got the following error when running the callback: {type(e).__name__}: {e}")
                err.__cause__ = e
                out.set_exception(err)
        self.add_done_callback(run)
        return out

    def __repr__(self):
        return f"<jtorch.futures.Future done={self._done}>"


def collect_all(futures):
    """A Future completed with the list of ``futures`` once all of them are."""
    out = Future()
    futures = list(futures)
    left = [len(futures)]
    lock = threading.Lock()
    if not futures:
        out.set_result([])

    def one_done(_):
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            out.set_result(futures)
    for f in futures:
        f.add_done_callback(one_done)
    return out


def wait_all(futures):
    """The values of ``futures`` (raises the first stored exception)."""
    return [f.wait() for f in futures]
