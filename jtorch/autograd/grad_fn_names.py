"""torch's names for the grad_fn of jtorch ops whose name alone does not give it.

A graph node's class is named ``<Op>Backward0`` from the op's name (``add`` -> AddBackward0),
which is torch's name for most ops. Where one jtorch op stands for several torch functions
(basic indexing is select, slice or unsqueeze; ``sum`` with and without ``dim`` are torch's
SumBackward0 and SumBackward1) or carries another name (``F.cross_entropy`` ends in torch's
NllLossBackward0), the entry below gives torch's name: a string, or a function of the node's
static parameters and inputs. Printed tensors (``grad_fn=<...>``) and ``type(t.grad_fn).__name__``
then read as in torch.
"""


def _ndim(a):
    return getattr(a, "ndim", 0)


def _basic_index_steps(statics, inputs):
    """torch's nodes for ``x[index]``: it applies the index left to right (a full slice is no step)."""
    struct, x, starts = statics[0], inputs[0], list(inputs[1])
    shape = x.shape
    steps, d = [], 0
    for e in struct:
        if e is None:
            steps.append("UnsqueezeBackward0")
            continue
        start = starts.pop(0)
        if e == "i":
            steps.append("SelectBackward0")
        elif not (e[1] == 1 and isinstance(start, int) and start == 0 and e[0] == shape[d]):
            steps.append("SliceBackward0")
        d += 1
    return steps or ["SliceBackward0"]  # x[:] (x[...] is torch's AliasBackward0, the same index here)


def _basic_index(statics, inputs):
    # the grad_fn is the last step that did something
    return _basic_index_steps(statics, inputs)[-1]


def _dim_overload(base):
    # full reduction: overload 0; over dims: overload 1 (torch.sum(x) / torch.sum(x, dim))
    return lambda statics, inputs: f"{base}Backward{0 if statics[0] is None else 1}"


def _matmul(statics, inputs):
    a, b = _ndim(inputs[0]), _ndim(inputs[1])
    # batched products are torch's matmul (expand, reshape, bmm, unsafe view): torch.bmm renames its node
    return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0"}.get((a, b), "UnsafeViewBackward0")


def _linear(statics, inputs):
    # torch: a 2-D input is addmm/mm; otherwise the input is viewed as 2-D and the result viewed back
    # (addmm with a bias), or it goes through matmul (1-D: unsqueeze/squeeze, more dims: unsafe view)
    x, bias = inputs[0], inputs[2]
    if _ndim(x) == 2:
        return "AddmmBackward0" if bias is not None else "MmBackward0"
    if bias is not None:
        return "ViewBackward0"
    return "SqueezeBackward4" if _ndim(x) == 1 else "UnsafeViewBackward0"


def _permute(statics, inputs):
    dims = statics[0]
    moved = [i for i, d in enumerate(dims) if i != d]
    return "TransposeBackward0" if len(dims) > 2 and len(moved) == 2 else "PermuteBackward0"


def _pow(statics, inputs):
    base, exp = inputs[0], inputs[1]
    if _ndim(base) == 0 and not hasattr(base, "shape"):
        return "PowBackward2"
    return "PowBackward1" if hasattr(exp, "shape") else "PowBackward0"


def _clamp(statics, inputs):
    return "ClampBackward0" if any(hasattr(b, "shape") for b in inputs[1:]) else "ClampBackward1"


def _sub(statics, inputs):
    return "SubBackward0" if hasattr(inputs[0], "shape") else "RsubBackward1"


def _pool(kind, suffix):
    return lambda statics, inputs: f"{kind}{len(statics[0])}D{suffix}Backward0"


def _adaptive_avg(statics, inputs):
    osize = statics[0]
    if all(o == 1 for o in osize) and len(osize) == 2:
        return "MeanBackward1"  # torch reduces a 1x1 output with a mean
    return f"AdaptiveAvgPool{len(osize)}DBackward0"


NAMES = {
    "_basic_index_op": _basic_index,
    "_adv_getitem": "IndexBackward0",
    "_true_divide": "DivBackward0",
    "_sum": _dim_overload("Sum"),
    "_mean": _dim_overload("Mean"),
    "_amax": lambda s, i: "MaxBackward1" if s[0] is None else "AmaxBackward0",
    "_amin": lambda s, i: "MinBackward1" if s[0] is None else "AminBackward0",
    "_max_dim": "MaxBackward0",
    "_min_dim": "MinBackward0",
    "_matmul": _matmul,
    "_linear": _linear,
    "_permute": _permute,
    "_pow": _pow,
    "clamp": _clamp,
    "sub": _sub,
    "_conv": "ConvolutionBackward0",
    "_conv_transpose": "ConvolutionBackward0",
    "_max_pool": _pool("MaxPool", "WithIndices"),
    "_avg_pool": _pool("AvgPool", ""),
    "_adaptive_avg_pool": _adaptive_avg,
    "_cast": "ToCopyBackward0",
    "_reshape_copy": "UnsafeViewBackward0",  # torch: clone, then an unsafe view (next_functions.py)
    "_tile": "RepeatBackward0",
    "_batch_norm_train": "NativeBatchNormBackward0",
    "_batch_norm_eval": "NativeBatchNormBackward0",
    "_layer_norm": "NativeLayerNormBackward0",
    "_vector_norm": "LinalgVectorNormBackward0",
    "_householder_product": "LinalgHouseholderProductBackward0",
    "_cross_entropy_index": lambda s, i: "NllLossBackward0" if not s[2] else "AddBackward0",
    "_nll_loss": "NllLossBackward0",
    "_dropout_apply": "MulBackward0",
    "_bce_with_logits": "BinaryCrossEntropyWithLogitsBackward0",
    "_l1_loss": lambda s, i: {"mean": "MeanBackward0", "sum": "SumBackward0"}.get(s[0], "AbsBackward0"),
    "_real_part": "SelectBackward0",  # torch: a select on view_as_real
    "_imag_part": "SelectBackward0",
}
