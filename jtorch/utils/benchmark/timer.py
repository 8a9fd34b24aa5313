"""Timer: torch.utils.benchmark's timer for jtorch statements.

jtorch's ops run asynchronously (XLA dispatch, and lazy batching when on), so every timed block ends by
running what is pending and waiting for it; the block's time includes that wait, as torch's timer
includes a CUDA synchronize."""
import enum
import sys
import time

import numpy as np

from .common import Measurement, TaskSpec

__all__ = ["Timer", "Language", "timer"]

timer = time.perf_counter


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _sync():
    import jax
    from ... import _dispatch, _lazy
    if _dispatch.LAZY[0]:
        _lazy.flush()
    jax.block_until_ready([a for a in jax.live_arrays() if not a.is_deleted()])


_TEMPLATE = """
def inner(_it, _timer, _sync):
{setup}
    _sync()
    _t0 = _timer()
    for _i in _it:
{stmt}
    _sync()
    return _timer() - _t0
"""


def _indent(src, spaces):
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in src.splitlines()) or pad + "pass"


class Timer:
    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=timer, globals=None, label=None,
                 sub_label=None, description=None, env=None, num_threads=1, language=Language.PYTHON):
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise ValueError("jtorch's Timer runs Python statements only: there is no C++ to time")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError("global_setup is C++ only.")
        # statements name the library ``torch``, as in torch's Timer: here that is jtorch
        self._globals = {"torch": sys.modules[__name__.split(".")[0]], **(globals or {})}
        self._timer = timer
        self._task_spec = TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup, label=label,
                                   sub_label=sub_label, description=description, env=env,
                                   num_threads=num_threads)
        src = _TEMPLATE.format(setup=_indent(setup, 4), stmt=_indent(stmt, 8))
        namespace = {}
        exec(compile(src, "<timeit-src>", "exec"), self._globals, namespace)  # SyntaxError as torch's
        self._inner = namespace["inner"]

    def _run(self, number):
        from ... import get_num_threads, set_num_threads
        prev = get_num_threads()
        set_num_threads(self._task_spec.num_threads)
        try:
            return self._inner(range(number), self._timer, _sync)
        finally:
            set_num_threads(prev)

    def timeit(self, number=1000000):
        self._run(max(1, number // 100))  # warm up (compiles what the statement compiles)
        return Measurement(number_per_run=number, raw_times=[self._run(number)], task_spec=self._task_spec)

    def repeat(self, repeat=-1, number=-1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time):
        """Runs per block: grown tenfold until a block takes at least 1/1000 of min_run_time (or 0.1 ms)."""
        number = 1
        while True:
            if self._run(number) >= max(min_run_time / 1000, 1e-4) or number >= 10 ** 9:
                return number
            number *= 10

    def _blocks(self, number, stop, callback):
        times = []
        total = 0.0
        while not stop(times, total):
            t = self._run(number)
            times.append(t)
            total += t
            if callback is not None:
                callback(number, t)
        return times

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Blocks of runs until ``min_run_time`` seconds of them are recorded."""
        number = self._block_size(min_run_time)
        times = self._blocks(number, lambda ts, total: total >= min_run_time, callback)
        return Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0, callback=None):
        """Blocks of runs until the interquartile range is below ``threshold`` of the median (after at least
        ``min_run_time`` seconds and 3 blocks) or ``max_run_time`` seconds passed."""
        number = self._block_size(0.05)

        def stop(ts, total):
            if total >= max_run_time:
                return True
            if total < min_run_time or len(ts) < 3:
                return False
            per_run = np.asarray(ts) / number
            q25, q50, q75 = np.quantile(per_run, [0.25, 0.5, 0.75])
            return (q75 - q25) / q50 < threshold

        times = self._blocks(number, stop, callback)
        return Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def collect_callgrind(self, *args, **kwargs):
        raise NotImplementedError("jtorch's Timer has no Callgrind support (torch's needs valgrind and its C++ "
                                  "bindings)")
