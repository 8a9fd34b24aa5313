"""torch.Stream, torch.Event (jtorch/_streams.py), torch.Tag (the labels torch puts on its operators) and
the storage classes (jtorch/_storage.py)."""
import enum

from ._streams import Stream, Event  # noqa: F401
from ._storage import StorageBase, UntypedStorage, TypedStorage, CPU_CLASSES as _STORAGES

globals().update(_STORAGES)  # FloatStorage, LongStorage, ...
Storage = _STORAGES["FloatStorage"]  # torch.Storage: the default dtype's legacy storage


class Tag(enum.Enum):
    """The tags of torch's operator schemas (``torch.ops.aten.add.Tensor.tags``), by torch's numbers."""
    core = 0
    cudagraph_unsafe = 1
    data_dependent_output = 2
    dynamic_output_shape = 3
    flexible_layout = 4
    generated = 5
    inplace = 6
    inplace_view = 7
    maybe_aliasing_or_mutating = 8
    needs_contiguous_strides = 9
    needs_exact_strides = 10
    needs_fixed_stride_order = 11
    nondeterministic_bitwise = 12
    nondeterministic_seeded = 13
    out = 14
    out_variant = 15
    pointwise = 16
    pt2_compliant_tag = 17
    reduction = 18
    view_copy = 19

    def __int__(self):
        return self.value


Tag.__module__ = "torch"

__all__ = ["Stream", "Event", "Tag", "StorageBase", "UntypedStorage", "TypedStorage", "Storage", *_STORAGES]
