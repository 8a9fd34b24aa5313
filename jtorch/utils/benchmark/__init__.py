"""jtorch.utils.benchmark: torch.utils.benchmark's Timer, Measurement and Compare for jtorch code.

Statements run with ``torch`` bound to jtorch. Python statements only (torch's C++ timing, Callgrind and the
Fuzzer family are not provided); each timed block waits for jtorch's asynchronous work before it ends."""
from .common import Measurement, TaskSpec, select_unit, trim_sigfig, unit_to_english, ordered_unique
from .timer import Language, Timer, timer
from .compare import Colorize, Compare

__all__ = ["Timer", "Measurement", "TaskSpec", "Compare", "Colorize", "Language", "select_unit",
           "trim_sigfig", "unit_to_english", "ordered_unique", "timer"]
