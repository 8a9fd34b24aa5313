"""Where ``_dispatch.apply`` sends an op that met a nested tensor: the kernel registered for the op's
name (``kernel``), else torch's NotImplementedError for an op without a nested kernel."""
from .. import _dispatch, _legacy
from .._tensor_kinds import KernelTable, flat_args
from ._tensor import NestedTensor

KERNELS = KernelTable()
kernel = KERNELS.kernel
FALLBACK = [None]  # for ops without a kernel here (set by _ops: elementwise ones run on the values)


def route(op, dyn, statics):
    fn = KERNELS.get(op.name, FALLBACK[0])
    try:
        return fn(op, *dyn, **dict(zip(op.static_names, statics)))
    except Exception as e:
        if isinstance(e.__context__, _dispatch.SparseArgument):
            e.__suppress_context__ = True  # raised while apply handled the reroute: not part of the story
        raise


def not_supported(name, args):
    nt = next((a for a in flat_args(args) if isinstance(a, NestedTensor)), None)
    name = name.lstrip("_")
    if nt is not None and nt._layout is _legacy.jagged:
        return NotImplementedError(f"aten.{name}.default")
    return NotImplementedError(
        f"Could not run 'aten::{name}' with arguments from the 'NestedTensorCPU' backend. This could be because "
        "the operator doesn't exist for this backend, or was omitted during the selective/custom build process "
        "(if using custom build).")
