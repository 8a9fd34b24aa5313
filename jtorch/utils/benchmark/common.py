"""Measurement and TaskSpec: what a Timer run produced and what it ran, printed as torch prints them."""
import dataclasses
import math
from typing import Any, List, Optional

import numpy as np

_UNITS = (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1.0))


def select_unit(t):
    """(unit, scale) that writes ``t`` seconds with one to three digits before the point."""
    if not t or t <= 0 or math.isnan(t):
        return "s", 1.0
    i = max(0, min(3, int(math.floor(math.log10(t) / 3)) + 3))
    return _UNITS[i]


def unit_to_english(u):
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[u]


def trim_sigfig(x, n):
    """``x`` rounded to ``n`` significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    magnitude = int(math.floor(math.log10(abs(x))))
    return float(round(x, n - 1 - magnitude))


def ordered_unique(elements):
    return list(dict.fromkeys(elements))


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    stmt: str
    setup: str
    global_setup: str = ""
    label: Optional[str] = None
    sub_label: Optional[str] = None
    description: Optional[str] = None
    env: Optional[str] = None
    num_threads: int = 1

    @property
    def title(self):
        """``label: sub_label``; the statement stands in for a missing label."""
        head = self.label if self.label is not None else self.stmt
        return f"{head}: {self.sub_label}" if self.sub_label else head

    def setup_str(self):
        if not self.setup or self.setup == "pass":
            return ""
        if "\n" not in self.setup.strip():
            return f"setup: {self.setup.strip()}"
        return "setup:\n" + "\n".join("  " + line for line in self.setup.strip().splitlines())

    def summarize(self):
        lines = [self.title, self.description or "", self.setup_str()]
        text = "\n".join(line for line in lines if line)
        return text + "\n" if "\n" in self.setup_str() else text  # a setup block ends with a blank line


@dataclasses.dataclass
class Measurement:
    """``raw_times``: seconds per block of ``number_per_run`` runs of the statement."""
    number_per_run: int
    raw_times: List[float]
    task_spec: TaskSpec
    metadata: Optional[dict] = None

    # the task's fields, read through
    def __getattr__(self, name):
        if name in ("stmt", "setup", "global_setup", "label", "sub_label", "description", "env", "num_threads",
                    "title"):
            return getattr(self.task_spec, name)
        raise AttributeError(name)

    @property
    def times(self):
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self):
        return float(np.median(self.times))

    @property
    def mean(self):
        return float(np.mean(self.times))

    @property
    def iqr(self):
        q25, q75 = np.quantile(self.times, [0.25, 0.75])
        return float(q75 - q25)

    @property
    def significant_figures(self):
        """Digits of the median that are worth printing: from a 95% confidence interval of the median
        (order statistics), between 1 and 4."""
        n = len(self.times)
        if n < 2:  # no spread to measure: the timer's resolution (about 0.1 us) bounds what is known
            return min(max(int(math.floor(math.log10(self.median / 1e-7))), 1), 4) if self.median > 0 else 1
        ordered = sorted(self.times)
        half = 1.96 * math.sqrt(n) / 2
        lo = max(0, int(math.floor(n / 2 - half)))
        hi = min(n - 1, int(math.ceil(n / 2 + half)))
        width = ordered[hi] - ordered[lo]
        if width <= 0:
            return 4
        return min(max(int(math.floor(math.log10(self.median / width))), 1), 4)

    @property
    def has_warnings(self):
        return bool(self._warnings())

    def _warnings(self):
        if len(self.times) < 2 or self.median <= 0:
            return []
        rel = self.iqr / self.median
        if rel <= 0.1:
            return []
        cause = "suggests significant environmental influence" if rel > 0.25 else "could indicate system fluctuation"
        return [f"WARNING: Interquartile range is {rel * 100:.1f}% of the median measurement.\n"
                f"           This {cause}."]

    def meets_confidence(self, threshold=0.1):
        return self.median > 0 and self.iqr / self.median < threshold

    @property
    def as_row_name(self):
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self):
        n = len(self.times)
        unit, scale = select_unit(self.median)
        fmt = lambda t: f"{t / scale:.2f}"  # noqa: E731
        lines = [f"<{type(self).__module__}.Measurement object at {id(self):#x}>", self.task_spec.summarize()]
        if n == 1:
            lines.append(f"  {fmt(self.median)} {unit}")
        else:
            lines.append(f"  Median: {fmt(self.median)} {unit}")
            if n >= 4:
                q25, q75 = np.quantile(self.times, [0.25, 0.75])
                lines.append(f"  IQR:    {fmt(self.iqr)} {unit} ({fmt(q25)} to {fmt(q75)})")
        threads = self.task_spec.num_threads
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
                     f"{'per measurement' if n > 1 else ''}, {threads} thread{'s' if threads > 1 else ''}")
        lines += ["  " + w for w in self._warnings()]
        return "\n".join(lines)

    @staticmethod
    def merge(measurements):
        """One Measurement per task, its times those of all the given measurements of that task (as single
        runs)."""
        grouped = {}
        for m in measurements:
            grouped.setdefault(m.task_spec, []).extend(m.times)
        return [Measurement(1, times, spec) for spec, times in grouped.items()]
