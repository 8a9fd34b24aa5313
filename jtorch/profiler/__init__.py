"""torch.profiler on jtorch: profile (with schedule/step/on_trace_ready), record_function,
ProfilerActivity, ProfilerAction, schedule, tensorboard_trace_handler.

CPU wall-clock times per op, backward node and user range (no device kernels, memory, flops or
stacks: those arguments are accepted and ignored). The recording hooks into the op dispatch only
while a profile records (jtorch/autograd/_profiler_recorder.py); ops are named ``aten::<jtorch op name>``,
which is torch's name for the ops jtorch defines directly (relu, addmm, sum, ...) but not for
torch's internal decompositions (torch's ``aten::linear`` shows its ``aten::t``/``aten::addmm``
children; jtorch's is one ``aten::linear``)."""
import enum
import gzip
import os
import socket
import time

from ..autograd.profiler import record_function
from ..autograd.profiler_util import EventList
from ..autograd import profiler as _legacy

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "supported_activities", "EventList", "itt"]


class ProfilerActivity(enum.Enum):
    CPU = 0  # torch's members, in its order, with its values
    XPU = 1
    MTIA = 4
    CUDA = 2
    HPU = 3
    PrivateUse1 = 5

    @property
    def name(self):
        return self._name_


def supported_activities():
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """step -> ProfilerAction: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup``
    and ``active`` recorded steps (the last one saves), ``repeat`` times (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")
    if warmup == 0:
        import warnings
        warnings.warn("Profiler won't be using warmup, this can skew profiler results")

    def fn(step):
        if step < 0:
            raise AssertionError(f"Invalid step: {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        w = 0 if (skip_first_wait and step < wait + warmup + active) else wait
        cycle = w + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < w:
            return ProfilerAction.NONE
        if pos < w + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return fn


def _always_record(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """on_trace_ready callable: writes each finished trace as
    ``dir_name/<worker>.<ns>.pt.trace.json[.gz]`` (Chrome trace format; torch uses milliseconds,
    which can name two quick traces alike)."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{name}.{time.time_ns()}.pt.trace.json")
        prof.export_chrome_trace(path)
        if use_gzip:
            with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as g:
                g.write(f.read())
            os.remove(path)
    return handler


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class profile:
    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None):
        self.activities = set(activities) if activities else supported_activities()
        self.record_shapes = record_shapes
        self.schedule = schedule or _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(0)
        self.profiler = None  # the torch.autograd.profiler.profile of the last (or current) trace
        self._live = None
        self._step_rec = None
        self._metadata = {}

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self._transit(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self):
        self._close_step()
        self._transit(self.current_action, None)

    def step(self):
        self._close_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._open_step()

    def _open_step(self):
        if self.record_steps:
            self._step_rec = record_function(f"ProfilerStep#{self.step_num}")
            self._step_rec.__enter__()

    def _close_step(self):
        if self._step_rec is not None:
            self._step_rec.__exit__(None, None, None)
            self._step_rec = None

    def _transit(self, prev, cur):
        live = self._live is not None
        if live and (prev == ProfilerAction.RECORD_AND_SAVE or cur not in _RECORDING):
            self._live._stop()
            self.profiler, self._live = self._live, None
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
            live = False
        if not live and cur in _RECORDING:
            self._live = _legacy.profile(record_shapes=self.record_shapes)
            self._live._start()
            if self.profiler is None:
                self.profiler = self._live

    def _finished(self):
        if self.profiler is None or self.profiler._events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.profiler

    def events(self):
        return self._finished().function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self._finished().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path):
        return self._finished().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        raise RuntimeError("jtorch's profiler records no stacks (with_stack is ignored)")

    def add_metadata(self, key, value):
        self._metadata[key] = value

    def add_metadata_json(self, key, value):
        self._metadata[key] = value


class _ITT:
    @staticmethod
    def is_available():
        return False


itt = _ITT()
