"""What a profile recorded: FunctionEvent (one timed range: an op, a record_function label, an
autograd node), FunctionEventAvg (events averaged by key), EventList (table, key_averages,
export_chrome_trace). Times are microseconds of wall clock, as floats, like torch's."""
import json
import os
from collections import OrderedDict

__all__ = ["FunctionEvent", "FunctionEventAvg", "EventList", "Interval"]


class Interval:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        return self.end - self.start


def _fmt_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _fmt_pct(part, whole):
    return f"{(100.0 * part / whole) if whole else 0.0:.2f}%"


class FunctionEvent:
    def __init__(self, id, name, thread, start_us, end_us, input_shapes=None, is_user_annotation=False):
        self.id = id
        self.name = name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.cpu_children = []
        self.cpu_parent = None
        self.is_user_annotation = is_user_annotation
        self.count = 1
        self.stack = []
        self.device_type = "CPU"
        self.cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.is_async = False
        self.is_remote = False
        self.flops = 0
        self.overload_name = ""
        self.node_id = -1

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self):
        return self.cpu_time_total

    device_time_total = self_device_time_total = device_time = 0.0
    cuda_time_total = self_cuda_time_total = cuda_time = 0.0

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={_fmt_time(self.cpu_time_total)} "
                f"start_us={self.time_range.start:.3f} end_us={self.time_range.end:.3f} "
                f"cpu_children={[c.id for c in self.cpu_children]} input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """Events of one key (name, and input shapes where grouped by them) summed; ``cpu_time`` is
    the average total time per call."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes = []
        self.is_user_annotation = False
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.device_memory_usage = self.self_device_memory_usage = 0
        self.device_time_total = self.self_device_time_total = 0.0
        self.cuda_time_total = self.self_cuda_time_total = 0.0
        self.flops = 0
        self.stack = []
        self.node_id = -1
        self.is_async = self.is_remote = self.is_legacy = False
        self.cpu_children = []
        self.cpu_parent = None
        self.device_type = "CPU"
        self.overload_name = ""
        self.scope = 0
        self.use_device = None

    def add(self, other):
        if self.key is None:
            self.key = other.key
            self.is_user_annotation = other.is_user_annotation
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        return self

    __iadd__ = add

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    device_time = cuda_time = 0.0

    @property
    def cpu_time_str(self):
        return _fmt_time(self.cpu_time)

    @property
    def cpu_time_total_str(self):
        return _fmt_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self):
        return _fmt_time(self.self_cpu_time_total)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_fmt_time(self.self_cpu_time_total)} "
                f"cpu_time={_fmt_time(self.cpu_time)} count={self.count} input_shapes={self.input_shapes}>")


_SORT_KEYS = {"cpu_time", "cpu_time_total", "self_cpu_time_total", "count", "cuda_time", "cuda_time_total",
              "self_cuda_time_total", "device_time", "device_time_total", "self_device_time_total",
              "cpu_memory_usage", "self_cpu_memory_usage", "cuda_memory_usage", "self_cuda_memory_usage",
              "device_memory_usage", "self_device_memory_usage", "flops"}


class EventList(list):
    def __init__(self, *args, **kwargs):
        kwargs.pop("use_device", None)
        kwargs.pop("profile_memory", None)
        kwargs.pop("with_flops", None)
        super().__init__(*args)

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0, group_by_overload_name=False):
        groups = OrderedDict()
        for e in self:
            key = e.key
            if key.startswith("ProfilerStep#"):
                key = "ProfilerStep*"  # torch merges the step labels into one row
            k = (key, str(e.input_shapes)) if group_by_input_shapes else key
            avg = groups.get(k)
            if avg is None:
                avg = groups[k] = FunctionEventAvg()
                avg.key = key
                avg.input_shapes = e.input_shapes if group_by_input_shapes else []
                avg.is_user_annotation = e.is_user_annotation
            avg.add(e)
        return EventList(groups.values())

    def total_average(self):
        total = FunctionEventAvg()
        for e in self:
            total.add(e)
        total.key = "Total"
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None):
        if sort_by is not None and sort_by not in _SORT_KEYS:
            raise AttributeError(f"'FunctionEventAvg' object has no attribute '{sort_by}'")
        rows = list(self)
        if top_level_events_only:
            rows = [e for e in rows if getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            rows.sort(key=lambda e: getattr(e, sort_by, 0.0), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        # an Input Shapes column where shapes were recorded (plain events, or averages grouped by them)
        with_shapes = any(e.input_shapes for e in self)
        # the name column fits the longest name of the whole list (4 spaces more), up to a maximum
        name_w = min(max([len(e.key) for e in self] + [4]) + 4, max_name_column_width)
        cols = [("Name", name_w)] + [(h, 12) for h in ("Self CPU %", "Self CPU", "CPU total %", "CPU total",
                                                     "CPU time avg", "# of Calls")]
        if with_shapes:
            shapes_w = min(max([len(str(e.input_shapes)) for e in self] + [12]) + 4, max_shapes_column_width)
            cols.append(("Input Shapes", shapes_w))
        line = "".join("-" * w + "  " for _, w in cols)
        total_self = sum(e.self_cpu_time_total for e in self)

        def fmt_row(cells):
            return "".join(str(c).rjust(w) + "  " for c, (_, w) in zip(cells, cols))

        def cut(s, w):
            return s if len(s) <= w else s[:w - 3] + "..."

        out = []
        if header is not None:
            out += ["=" * len(line), header]
        out += [line, fmt_row([h for h, _ in cols]), line]
        for e in rows:
            cells = [cut(e.key, name_w), _fmt_pct(e.self_cpu_time_total, total_self), _fmt_time(e.self_cpu_time_total),
                     _fmt_pct(e.cpu_time_total, total_self), _fmt_time(e.cpu_time_total), _fmt_time(e.cpu_time),
                     e.count]
            if with_shapes:
                cells.append(cut(str(e.input_shapes), cols[-1][1]))
            out.append(fmt_row(cells))
        out += [line, f"Self CPU time total: {_fmt_time(total_self)}", ""]
        return "\n".join(out)

    def export_chrome_trace(self, path):
        """Chrome/Perfetto trace JSON: one complete ("X") event per recorded range."""
        pid = os.getpid()
        events = []
        for e in self:
            if not isinstance(e, FunctionEvent):
                continue
            args = {"Input Dims": e.input_shapes} if e.input_shapes else {}
            events.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                           "name": e.name, "pid": pid, "tid": e.thread, "ts": e.time_range.start,
                           "dur": e.cpu_time_total, "args": args})
        with open(path, "w") as f:
            json.dump({"schemaVersion": 1, "traceEvents": events, "displayTimeUnit": "ms"}, f)
        return path
