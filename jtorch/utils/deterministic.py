"""torch.utils.deterministic: ``fill_uninitialized_memory`` (default True). While deterministic algorithms
are on (``torch.use_deterministic_algorithms(True)``) and it is set, ``empty``/``empty_like``/``new_empty``/
``empty_strided`` hold NaN (floating and complex), the largest value (integers) or True (bool), as torch's
do; otherwise jtorch's uninitialized tensors hold zeros."""
import sys
import types

from ..functions import _fill_uninitialized


class _Deterministic(types.ModuleType):
    @property
    def fill_uninitialized_memory(self):
        return _fill_uninitialized[0]

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, mode):
        if not isinstance(mode, bool):
            raise RuntimeError("expected a bool, but got " + type(mode).__name__)
        _fill_uninitialized[0] = mode


sys.modules[__name__].__class__ = _Deterministic
