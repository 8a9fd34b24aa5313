"""torch.autograd.profiler: the profile context that records op, backward-node and user ranges
by wall clock (see jtorch/autograd/_profiler_recorder.py for what is recorded and how it is named),
record_function, and the event classes. torch.profiler.profile is built on this one."""
import functools

from . import _profiler_recorder as _recorder
from .profiler_util import EventList, FunctionEvent, FunctionEventAvg, Interval

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList", "FunctionEvent",
           "FunctionEventAvg", "Interval"]


class profile:
    """Records from ``__enter__`` (or ``start``) to ``__exit__``; CPU wall-clock times only (no
    device, memory, flops or stack columns)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False,
                 profile_memory=False, with_stack=False, with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.use_device = use_device or ("cuda" if use_cuda else None)
        self.entered = False
        self._rec = None
        self._events = None

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._start()
        return self

    def _start(self):
        self._rec = _recorder.Recorder(self.record_shapes)
        self._events = None
        self._rec.start()

    def __exit__(self, *exc):
        if not self.enabled:
            return False
        self._stop()
        return False

    def _stop(self):
        if self._rec is not None:
            self._rec.stop()
            self._events = EventList(sorted(self._rec.events, key=lambda e: (e.time_range.start, -e.time_range.end)))
            self._rec = None

    def _check_finish(self):
        if self._events is None:
            raise RuntimeError("Profiler didn't finish running")

    @property
    def function_events(self):
        self._check_finish()
        return self._events

    def events(self):
        return self.function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        self._check_finish()
        return self._events.key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        self._check_finish()
        return self._events.table(sort_by=sort_by, row_limit=row_limit, max_src_column_width=max_src_column_width,
                                  max_name_column_width=max_name_column_width,
                                  max_shapes_column_width=max_shapes_column_width, header=header,
                                  top_level_events_only=top_level_events_only)

    def export_chrome_trace(self, path):
        self._check_finish()
        return self._events.export_chrome_trace(path)

    def total_average(self):
        self._check_finish()
        return self._events.total_average()

    @property
    def self_cpu_time_total(self):
        self._check_finish()
        return self._events.self_cpu_time_total

    def __str__(self):
        return self.table()


class record_function:
    """A named range in the profile (a context manager or a decorator); costs one check when no
    profile records."""

    def __init__(self, name, args=None):
        self.name = name
        self.args = args
        self._entry = None

    def __enter__(self):
        if _recorder.recording():
            self._entry = _recorder.open_range(self.name, user=True)
        return self

    def __exit__(self, *exc):
        entry, self._entry = self._entry, None
        if entry is not None:
            _recorder.close_until(entry)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapper


class emit_nvtx:
    """No NVTX ranges in jtorch: a context that does nothing."""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


emit_itt = emit_nvtx
