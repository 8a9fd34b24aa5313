"""``spawn(fn, args, nprocs)``: run ``fn(i, *args)`` in ``nprocs`` fresh processes and report
the first failure like torch (ProcessRaisedException with the child's traceback, or
ProcessExitedException for a child that died without one); the others are then terminated."""
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import tempfile
import traceback


class ProcessException(Exception):
    def __init__(self, msg, error_index, error_pid):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A child raised: ``msg`` holds its traceback."""


class ProcessExitedException(ProcessException):
    """A child exited with a non-zero code or was killed by a signal."""

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)


def _wrap(fn, i, args, error_file):
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent interrupted us
    except Exception:  # noqa: BLE001  (hand the traceback to the parent, then fail)
        with open(error_file, "wb") as f:
            pickle.dump(traceback.format_exc(), f)
        raise SystemExit(1)


class ProcessContext:
    def __init__(self, processes, error_files):
        self.processes = processes
        self.error_files = error_files
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None, grace_period=None):
        """True when every process has finished; False if some still run after ``timeout``.
        Raises on the first failed process, after stopping the others."""
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for s in ready:
            i = self.sentinels.pop(s)
            p = self.processes[i]
            p.join()
            if p.exitcode != 0 and failed is None:
                failed = i
        if failed is None:
            return not self.sentinels
        for p in self.processes:  # stop the rest: terminate, then kill what ignores it
            if p.is_alive():
                p.terminate()
        for p in self.processes:
            p.join(grace_period if grace_period is not None else 10)
            if p.is_alive():
                p.kill()
                p.join()
        self.sentinels.clear()
        self._raise(failed)

    def _raise(self, i):
        p = self.processes[i]
        if os.path.exists(self.error_files[i]) and os.path.getsize(self.error_files[i]):
            with open(self.error_files[i], "rb") as f:
                trace = pickle.load(f)
            raise ProcessRaisedException(f"\n\n-- Process {i:d} terminated with the following error:\n{trace}",
                                         i, p.pid)
        code = p.exitcode
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"<Unknown signal {-code}>"
            raise ProcessExitedException(f"process {i:d} terminated with signal {name}", i, p.pid, code, name)
        raise ProcessExitedException(f"process {i:d} terminated with exit code {code:d}", i, p.pid, code)


SpawnContext = ProcessContext


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    ctx = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for i in range(nprocs):
        fd, path = tempfile.mkstemp(prefix="jtorch-spawn-err-")
        os.close(fd)
        os.unlink(path)  # the child creates it only when it fails
        p = ctx.Process(target=_wrap, args=(fn, i, args, path), daemon=daemon)
        p.start()
        processes.append(p)
        error_files.append(path)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    try:
        while not context.join():
            pass
    finally:
        for path in error_files:
            if os.path.exists(path):
                os.unlink(path)


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for i in range(nprocs), each in a new process."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
