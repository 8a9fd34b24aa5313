"""Sparse kernels for the dense ops torch also runs on sparse tensors.

``_dispatch.apply`` calls ``route(op, dyn, statics)`` when one of an op's arguments is a sparse
tensor (see ``_base``). Kernels are keyed by the name of the op that met the sparse tensor:
the primitive under torch's Python-level function (``torch.mm`` -> ``_matmul``,
``torch.sum`` -> ``_sum``), so argument checks stay in the dense wrappers. Everything else
raises torch's NotImplementedError for a missing sparse kernel. The kernels live by topic in
``_elementwise``, ``_products`` and ``_structure`` (imported by the package, which registers them).
"""
import jtorch as torch
from .. import _dispatch
from .._tensor_kinds import KernelTable, flat_args
from ._base import SparseTensor
from ._coo import SparseCooTensor

KERNELS = KernelTable()
kernel = KERNELS.kernel


def route(op, dyn, statics):
    try:
        fn = KERNELS.get(op.name)
        if fn is None:
            raise not_supported(op.name, dyn)
        kw = dict(zip(op.static_names, statics))
        res = fn(op, *dyn, **kw)
        if op.name in _REPLAYABLE and isinstance(res, SparseTensor) and res.requires_grad and \
                torch.is_grad_enabled() and _replayable(op.name, dyn):
            res.__dict__["_dense_of"] = (lambda *a: op(*a, **kw), dyn)
        return res
    except Exception as e:
        if isinstance(e.__context__, _dispatch.SparseArgument):
            e.__suppress_context__ = True  # raised while apply handled the reroute: not part of the story
        raise


# Ops linear in their sparse operands whose dense form is the same op on dense operands: their sparse
# result remembers how to recompute it densely (``_dense_of``), so that an op which gives torch's
# gradient densely (torch.mm, dense + sparse, to_dense(masked_grad=False), ...) can reach the leaf
# through them unmasked, as torch's gradient does (see _products.dense_value).
_REPLAYABLE = frozenset(["add", "sub", "mul", "_true_divide", "_true_div", "neg", "_neg", "positive", "clone",
                         "_permute", "conj", "_conj"])


def _replayable(name, dyn):
    if name in ("mul", "_true_divide", "_true_div"):  # by a number only (sparse * dense is masked)
        return sum(isinstance(a, SparseTensor) for a in dyn) == 1 and all(
            isinstance(a, SparseTensor) or _is_scalar(a) for a in dyn)
    if name in ("add", "sub"):
        return isinstance(dyn[0], SparseTensor) and isinstance(dyn[1], SparseTensor)
    return True


def not_supported(name, args):
    s = next((a for a in flat_args(args) if isinstance(a, SparseTensor)), None)
    backend = {"sparse_coo": "Sparse", "sparse_csr": "SparseCsr", "sparse_csc": "SparseCsr",
               "sparse_bsr": "SparseCsr", "sparse_bsc": "SparseCsr"}[s.layout.name] if s is not None else "Sparse"
    dev = "CUDA" if s is not None and s.device.type == "cuda" else "CPU"
    return NotImplementedError(
        f"Could not run 'aten::{name.lstrip('_')}' with arguments from the '{backend}{dev}' backend. This could be "
        "because the operator doesn't exist for this backend, or was omitted during the selective/custom build "
        "process (if using custom build).")




def _coo(x):
    """A COO view of any sparse operand (compressed layouts convert)."""
    return x if type(x) is SparseCooTensor else x.to_sparse_coo()


def _is_scalar(x):
    return not isinstance(x, torch.Tensor) or (x.ndim == 0 and not isinstance(x, SparseTensor))


_dispatch.SPARSE[0] = route
