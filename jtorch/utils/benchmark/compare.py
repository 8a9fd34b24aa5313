"""Compare: Measurements side by side, one table per label: a row per sub_label (grouped by thread count
and env), a column per description, every time in the table's unit."""
from .common import Measurement, ordered_unique, select_unit, trim_sigfig, unit_to_english

__all__ = ["Compare", "Colorize"]

BEST = "\033[92m\033[1m"    # within 1% of the best time of its row or column
GOOD = "\033[34m\033[1m"    # within 10%
WORSE = "\033[2m\033[91m"   # at least twice the best
WORST = "\033[31m\033[1m"   # at least five times
TERMINATE = "\033[0m\033[0m"
_CODES = (BEST, GOOD, WORSE, WORST, TERMINATE)


class Colorize:
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


class Compare:
    def __init__(self, results):
        self._results = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def extend_results(self, results):
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self):
        self._trim_significant_figures = True

    def colorize(self, rowwise=False):
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self):
        self._highlight_warnings = True

    def print(self):
        print(str(self))

    def __str__(self):
        merged = Measurement.merge(self._results)
        labels = ordered_unique(m.label for m in merged)
        return "\n".join(self._table([m for m in merged if m.label == label]) for label in labels)

    def _value(self, m, scale):
        value = m.median / scale
        if self._trim_significant_figures:
            value = trim_sigfig(value, m.significant_figures)
            return f"{value:.{max(0, m.significant_figures - 1 - _magnitude(value))}f}"
        return f"{value:.1f}"

    def _suffix(self, m):
        if self._highlight_warnings and m.has_warnings:
            return f" (! {m.iqr / m.median * 100:.0f}%)"
        return ""

    def _color(self, median, best):
        if self._colorize == Colorize.NONE or best is None:
            return ""
        ratio = median / best if best > 0 else 1.0
        if ratio <= 1.01:
            return BEST
        if ratio <= 1.1:
            return GOOD
        if ratio >= 5:
            return WORST
        if ratio >= 2:
            return WORSE
        return ""

    def _table(self, results):
        label = results[0].label
        unit, scale = select_unit(min(m.median for m in results))
        columns = ordered_unique(m.description for m in results)
        groups = ordered_unique((m.num_threads, m.env) for m in results)
        rows = ordered_unique((m.num_threads, m.env, m.as_row_name) for m in results)
        at = {(m.num_threads, m.env, m.as_row_name, m.description): m for m in results}

        def best_of(ms):  # (times equal to their significant figures count as equal)
            return min(_rounded(m) for m in ms) if ms else None

        # a cell: its value right-aligned in the column, then the warning mark (or as many blanks)
        values = {(r, c): self._value(at[(*r, c)], scale) for r in rows for c in columns if (*r, c) in at}
        suffixes = {k: self._suffix(at[(*k[0], k[1])]) for k in values}
        cells = {}
        for col in columns:
            keys = [(r, col) for r in rows if (r, col) in values]
            vw = max([len(values[k]) for k in keys], default=0)
            sw = max([len(suffixes[k]) for k in keys], default=0)
            for row, _ in keys:
                m = at[(*row, col)]
                if self._colorize == Colorize.ROWWISE:
                    peers = [at[(*row, c)] for c in columns if (*row, c) in at]
                else:
                    peers = [at[(*r, col)] for r in rows if r[:2] == row[:2] and (*r, col) in at]
                text = values[(row, col)].rjust(vw) + suffixes[(row, col)].ljust(sw)
                color = self._color(_rounded(m), best_of(peers))
                cells[(row, col)] = color + text + TERMINATE if color else text

        def visible(s):
            for code in _CODES:
                s = s.replace(code, "")
            return len(s)

        envs = ordered_unique(m.env for m in results)
        row_name = (lambda r: f"({r[1]}) {r[2]}" if r[1] else r[2]) if len(envs) > 1 else (lambda r: r[2])
        name_width = max(6 + len(row_name(r)) + 2 for r in rows)
        widths = [max([len(c or "")] + [visible(cells.get((r, c), "")) for r in rows]) for c in columns]
        width = name_width + sum(w + 5 for w in widths) - 2

        def line(name, texts, header=False):
            parts = []
            for i, (text, w) in enumerate(zip(texts, widths)):
                if header:
                    text = text.center(w)
                else:
                    text = " " * (w - visible(text)) + text
                parts.append("  " + text + ("  " if i < len(widths) - 1 else ""))
            return f"{name:<{name_width}}" + "".join("|" + p for p in parts)

        title = f" {label or ''} "
        pad = max(0, width - 2 - len(title))
        out = ["[" + "-" * (pad - pad // 2) + title + "-" * (pad // 2) + "]",
               line("", [c or "" for c in columns], header=True)]
        for g in groups:
            head = f"{g[0]} threads: "
            out.append(head + "-" * max(0, width - len(head)))
            out += [line("      " + row_name(r), [cells.get((r, c), "") for c in columns]) for r in rows if r[:2] == g]
        out.append("")
        out.append(f"Times are in {unit_to_english(unit)}s ({unit}).")
        if self._highlight_warnings and any(m.has_warnings for m in results):
            out.append("(! XX%) Measurement has high variance, where XX is the IQR / median * 100.")
        out.append("")
        return "\n".join(out)


def _rounded(m):
    return trim_sigfig(m.median, m.significant_figures)


def _magnitude(x):
    import math
    return int(math.floor(math.log10(abs(x)))) if x else 0
