"""torchrun's failure report: ``ProcessFailure`` (one worker that ended badly), ``ChildFailedError``
(what the launcher raises when workers failed) and ``@record`` (torchrun scripts decorate
``main`` with it; jtorch's launcher shows a failing worker's traceback on its own output, so the
decorator only passes calls through)."""
import functools
import os
import signal
import socket
import time

_NOT_AVAILABLE = "<N/A>"
_TRACEBACK_HINT = "To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html"


class ProcessFailure:
    """Worker ``local_rank`` (process ``pid``) ended with ``exitcode`` (negative: killed by that
    signal). ``error_file``: where the worker may have written its error (none is read here)."""

    def __init__(self, local_rank, pid, exitcode, error_file=_NOT_AVAILABLE):
        self.local_rank, self.pid, self.exitcode = local_rank, pid, exitcode
        self.error_file = error_file if error_file and os.path.isfile(error_file) else _NOT_AVAILABLE
        self._seen = time.time()  # ordering: the root cause is the first seen, to the microsecond
        self.timestamp = int(self._seen)
        if exitcode < 0:
            self.message = f"Signal {-exitcode} ({self.signal_name()}) received by PID {pid}"
        else:
            self.message = _TRACEBACK_HINT

    def signal_name(self):
        if self.exitcode < 0:
            try:
                return signal.Signals(-self.exitcode).name
            except ValueError:
                return _NOT_AVAILABLE
        return _NOT_AVAILABLE

    def timestamp_isoformat(self):
        return time.strftime("%Y-%m-%d_%H:%M:%S", time.localtime(self.timestamp))

    def __repr__(self):
        return (f"ProcessFailure(local_rank={self.local_rank}, pid={self.pid}, exitcode={self.exitcode}, "
                f"error_file={self.error_file!r})")


class ChildFailedError(Exception):
    """Workers of ``name`` failed: ``failures`` maps each failed worker's global rank to its
    ProcessFailure. The message is torchrun's report: the first failure (by time, then rank) as the
    root cause, then the others."""

    def __init__(self, name, failures):
        self.name = name
        self.failures = failures
        if not failures:
            raise AssertionError("ChildFailedError needs at least one failure")
        super().__init__(self.format_msg())

    def get_first_failure(self):
        rank = min(self.failures, key=lambda r: (getattr(self.failures[r], "_seen", self.failures[r].timestamp), r))
        return rank, self.failures[rank]

    def format_msg(self, boarder_delim="=", section_delim="-"):
        root_rank, root = self.get_first_failure()
        others = [self._entry(i + 1, r, f) for i, (r, f) in
                  enumerate(sorted((r, f) for r, f in self.failures.items() if r != root_rank))]
        body = [f"{self.name} FAILED", "Failures:", *(others or ["  <NO_OTHER_FAILURES>"]),
                "Root Cause (first observed failure):", self._entry(0, root_rank, root)]
        width = max(len(line) for block in body for line in block.splitlines())
        bar, sep = boarder_delim * width, section_delim * width
        return "\n".join(["", bar, body[0], sep, body[1], *body[2:-2], sep, body[-2], body[-1], bar])

    @staticmethod
    def _entry(index, rank, f):
        sig = f"  ({f.signal_name()})" if f.exitcode < 0 else ""
        return (f"[{index}]:\n"
                f"  time      : {f.timestamp_isoformat()}\n"
                f"  host      : {socket.gethostname()}\n"
                f"  rank      : {rank} (local_rank: {f.local_rank})\n"
                f"  exitcode  : {f.exitcode} (pid: {f.pid}){sig}\n"
                f"  error_file: {f.error_file}\n"
                f"  traceback : {f.message}")


def record(fn=None, error_handler=None):
    if fn is None:
        return lambda f: record(f, error_handler)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
