"""Memory formats: dense tensors whose strides nest the dims in another order than row-major
(``torch.channels_last``, ``channels_last_3d``, and whatever order ``preserve_format`` keeps).

The value stays the logical jax array (NCHW for channels_last); the layout is metadata. A *laid*
storage (``LaidStorage``, ``Storage.layout`` not None) records the order of its flat buffer: its dims
from outer to inner, so the buffer is ``root.transpose(layout).ravel()``. The tensor owning it reports
the matching dense strides (``Tensor._strides``, a tuple); its views derive theirs from those as
usual. Storage-level readers (``as_strided``, ``untyped_storage``, ``storage_offset``, ``torch.save``)
translate between buffer and root positions with the helpers at the end. A plain storage (row-major) keeps ``_strides`` None: the eager fast path
tests only ``Storage.layout`` (a class attribute, None) and ``Tensor._vfn`` (a view: its strides may
be anything) on the inputs of each op; an op with such an input asks its ``OpDef.layout`` rule.

Which results are laid follows torch on the CPU:
- pointwise ops (TensorIterator, ``_iter_layout``): where every operand has the output's shape and
  all are contiguous, all channels_last, or all dense with the same strides, the result takes that
  layout (exact strides, size-1 dims included); otherwise the dims ordered by the inputs' strides,
  the first input deciding first, broadcast (zero-stride) dims not deciding (``_iter_order``). A
  Python number is an operand of torch's binary ops (``x + 1``: a 0-dim tensor), not of ``clamp``;
- conv, batch norm, pooling, interpolation: channels_last(_3d) when ``suggest_memory_format`` of the
  input (for conv: or of the weight) says so, for the ranks where torch's CPU kernels keep it;
- clone/empty_like/*_like with ``preserve_format`` (and ``to``, ``nan_to_num``, ``hardtanh``): the
  input's strides when it is dense and non-overlapping, else dense strides in the order of the
  input's (``infer_order``);
- composite functions with a channels_last kernel in torch (``pixel_shuffle``): ``with_suggested``;
- a resized ``out=`` tensor: the result's strides (``restride_resized``);
- a leaf's ``.grad`` takes the leaf's strides (torch's gradient layout contract).
"""
import numpy as np

from .tensor import Tensor, Storage, InferenceStorage
from ._size import contiguous_strides


class LaidStorage(Storage):
    """A storage whose flat buffer holds the root's elements in the dim order ``layout``."""
    __slots__ = ("layout",)


class LaidInferenceStorage(InferenceStorage):
    __slots__ = ("layout",)


# ---------------------------------------------------------------- strides and orders
def dense_strides(shape, order):
    """Strides of a dense layout nesting the dims as ``order`` (outer to inner), as torch computes
    them (size-0 and size-1 dims count as 1)."""
    out = [0] * len(shape)
    acc = 1
    for d in reversed(order):
        out[d] = acc
        acc *= max(shape[d], 1)
    return tuple(out)


def format_order(fmt, ndim):
    """The dim order of memory format ``fmt`` for a tensor of ``ndim`` dims (None: row-major);
    torch's error for channels_last(_3d) on another rank. ``preserve_format`` is the caller's."""
    name = getattr(fmt, "name", None)
    if fmt is None or name in ("contiguous_format", "legacy_contiguous_format"):
        return None
    if name == "channels_last":
        if ndim != 4:
            raise RuntimeError("required rank 4 tensor to use channels_last format")
        return (0, 2, 3, 1)
    if name == "channels_last_3d":
        if ndim != 5:
            raise RuntimeError("required rank 5 tensor to use channels_last_3d format")
        return (0, 2, 3, 4, 1)
    raise RuntimeError(f"unsupported memory format {fmt}")


def dense_in(shape, strides, order):
    """Whether the strides are dense with dims nested as ``order``; size-1 dims may have any stride."""
    expect = 1
    for d in reversed(order):
        n = shape[d]
        if n != 1:
            if strides[d] != expect:
                return False
            expect *= n
    return True


def is_contiguous(t, fmt):
    """``t.is_contiguous(memory_format=fmt)``."""
    shape = t._shape_dtype()[0]
    name = getattr(fmt, "name", None)
    if name == "channels_last" or name == "channels_last_3d":
        if len(shape) != (4 if name == "channels_last" else 5):
            return False
        return dense_in(shape, t.stride(), (0, *range(2, len(shape)), 1))
    if name == "preserve_format":
        raise RuntimeError("Unsupported memory format. Preserve")
    return t._strides is None or 0 in shape or dense_in(shape, t.stride(), range(len(shape)))


def _strides_like_cl(shape, strides, dims):
    """torch's ``is_channels_last_strides_*``: the strides rank the dims as channels_last(_3d) does."""
    low = 0
    if strides[1] == 0:
        return False
    for d in dims:
        if shape[d] == 0 or strides[d] < low:
            return False
        if d == 0 and low == strides[1]:  # (N, 1, H, W)-like: contiguous wins the tie
            return False
        low = strides[d] * (shape[d] if shape[d] > 1 else 1)
    return True


def suggest_order(t):
    """The dim order of ``t.suggest_memory_format()``: channels_last(_3d)'s or None (contiguous)."""
    if t._strides is None:
        return None
    shape = t._shape_dtype()[0]
    n = len(shape)
    if n == 4 and _strides_like_cl(shape, t.stride(), (1, 3, 2, 0)):
        return (0, 2, 3, 1)
    if n == 5 and _strides_like_cl(shape, t.stride(), (1, 4, 3, 2, 0)):
        return (0, 2, 3, 4, 1)
    return None


def _iter_order(shape, operands):
    """TensorIterator's dim order for an output of ``shape`` from ``operands`` ((shape, strides) each,
    broadcast to ``shape`` with zero strides): an insertion sort, innermost first, the first operand
    with distinct nonzero strides for two dims deciding; equal strides put the longer dim outside."""
    n = len(shape)
    strides = []
    for s, st in operands:
        off = n - len(s)
        strides.append([0] * off + [0 if s[i] == 1 and shape[off + i] != 1 else st[i] for i in range(len(s))])

    def swap(d0, d1):
        for st in strides:
            a, b = st[d0], st[d1]
            if a == 0 or b == 0:
                continue
            if a != b:
                return -1 if a < b else 1
            if shape[d0] > shape[d1]:
                return 1
        return 0
    perm = list(range(n - 1, -1, -1))
    for i in range(1, n):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return tuple(reversed(perm))


def infer_order(shape, strides):
    """The order of torch's ``infer_dense_strides``: the dims by decreasing stride (zero strides and
    ties keep their place)."""
    return _iter_order(shape, [(shape, strides)])


def non_overlapping_dense(shape, strides):
    """torch's ``is_non_overlapping_and_dense``: the dims of size > 1, by increasing stride, nest densely."""
    expect = 1
    for d in sorted((d for d in range(len(shape)) if shape[d] > 1), key=lambda d: strides[d]):
        if strides[d] != expect:
            return False
        expect *= shape[d]
    return True


def preserve_layout(t):
    """(dim order, exact strides or None) that ``preserve_format`` gives a copy of ``t``: its own
    strides where it is dense and non-overlapping, else dense strides in the order of its strides;
    None: row-major."""
    if t._strides is None:
        return None
    shape = tuple(t._shape_dtype()[0])
    strides = t.stride()
    key = (shape, strides)
    got = _PRESERVE.get(key, False)
    if got is False:
        order = infer_order(shape, strides)
        if non_overlapping_dense(shape, strides):
            got = None if strides == contiguous_strides(shape) else (order, strides)
        else:
            got = None if order == tuple(range(len(shape))) else (order, None)
        if len(_PRESERVE) > 4096:
            _PRESERVE.clear()
        _PRESERVE[key] = got
    return got


_PRESERVE = {}  # (shape, strides) -> preserve_layout's answer


def preserve_order(t):
    """The dim order ``preserve_format`` gives a copy of ``t`` (None: row-major)."""
    got = preserve_layout(t)
    return None if got is None else got[0]


# ---------------------------------------------------------------- making laid tensors
def lay(t, order, strides=None):
    """Give the fresh tensor ``t`` (no views of it yet) a storage in dim ``order``; returns ``t``.
    ``strides``: the exact strides to report (dense in ``order``, not the row-major ones; torch keeps
    an input's strides of size-1 dims), else the dense strides of ``order`` (the row-major ones leave
    ``t`` plain)."""
    if order is None:
        return t
    if strides is None:
        shape = tuple(t._shape_dtype()[0])
        key = (shape, order)
        strides = _DENSE.get(key)
        if strides is None:
            strides = dense_strides(shape, order)
            if len(_DENSE) > 4096:
                _DENSE.clear()
            strides = _DENSE[key] = strides if strides != contiguous_strides(shape) else ()
        if not strides:  # the row-major strides
            return t
    old = t._st
    st = (LaidInferenceStorage if old.inference else LaidStorage)(old._arr)
    st.layout = tuple(order)
    t._st = st
    t._strides = strides
    return t


_DENSE = {}  # (shape, order) -> its dense strides, () where those are the row-major ones


def copy_as(t, order):
    """``t.clone()`` laid out in ``order`` (None: row-major), recorded for autograd like clone."""
    from ._ops.pointwise import _clone
    return lay(_clone(t), order)


def restride_resized(out, res):
    """``out``, an ``out=`` tensor just resized to hold ``res``, takes ``res``'s strides, as torch
    restrides a resized output to the op's result layout (a base tensor not shared with numpy)."""
    st = out._st
    want = res._st.layout if not res._vfn else None
    if (want is None and st.layout is None) or out._vfn or st.host is not None or not isinstance(res, Tensor):
        return
    if want is None:
        new = (InferenceStorage if st.inference else Storage)(st._arr)
    else:
        new = (LaidInferenceStorage if st.inference else LaidStorage)(st._arr)
        new.layout = want
    new.version = st.version
    out._st = new
    out._strides = None if want is None else res._strides


def with_suggested(input, res, ranks=(4,)):
    """``res``, computed from ``input`` by a composite function (``pixel_shuffle``), laid out in the
    memory format ``input`` suggests, as torch's CPU kernel with a channels_last path allocates it
    (for inputs of ``ranks`` dims); a copy where it does not have those strides already."""
    order = suggest_order(input)
    if order is None or len(order) not in ranks or res.ndim != len(order):
        return res
    if res.stride() == dense_strides(tuple(res.shape), order):
        return res
    return copy_as(res, order)


def to_format(t, fmt, suggested=False):
    """``t`` in memory format ``fmt``, itself where it already is: ``contiguous(memory_format=)``
    asks ``is_contiguous(memory_format=)``; ``to(memory_format=)`` (``suggested``) asks whether
    ``suggest_memory_format()`` names ``fmt``, so an ambiguous (N, C, 1, 1) tensor is copied."""
    shape = t._shape_dtype()[0]
    if getattr(fmt, "name", None) == "preserve_format":
        return t
    order = format_order(fmt, len(shape))
    if suggested:
        if suggest_order(t) == order:
            return t
    elif is_contiguous(t, fmt):
        return t
    return copy_as(t, order)


def layout_for(t, fmt):
    """(dim order, exact strides or None) of a new tensor like ``t`` in memory format ``fmt``
    (``*_like``, ``clone``); None: row-major."""
    if fmt is None or getattr(fmt, "name", None) == "preserve_format":
        return preserve_layout(t)
    order = format_order(fmt, t.ndim)
    return None if order is None else (order, None)


def lay_like(out, t, fmt):
    """The fresh ``out`` (of ``t``'s shape) laid out as a ``*_like(t, memory_format=fmt)`` result."""
    if fmt is None and t._strides is None:
        return out
    got = layout_for(t, fmt)
    return out if got is None else lay(out, *got)


def lay_strided(out, stride):
    """The fresh ``out`` with ``stride`` when those are dense in some order (``empty_strided``);
    other strides (gaps, overlaps) are not modelled: ``out`` stays row-major."""
    shape = tuple(out.shape)
    stride = tuple(int(s) for s in stride)
    order = infer_order(shape, stride)
    return lay(out, order) if dense_strides(shape, order) == stride else out


# ---------------------------------------------------------------- op results
def relayout(op, dyn, statics, res):
    """The result of ``op`` on inputs of which one is laid or a view, laid as torch lays it. A rule
    answers a dim order, or (dim order, exact strides) (``_pointwise``), or None (row-major)."""
    got = op.layout(dyn, statics, res)
    if got is not None:
        strides = None
        if type(got) is Exact:
            got, strides = got
        if isinstance(res, Tensor):
            if res._strides is None and len(res._shape_dtype()[0]) == len(got):
                lay(res, got, strides)
            return res
        for r in res:
            if isinstance(r, Tensor) and r._strides is None and r.ndim == len(got):
                lay(r, got, strides)
    return res


class Exact(tuple):
    """A layout rule's (dim order, strides) answer: the result takes these strides as they are."""
    __slots__ = ()


_NUMBERS = (int, float, bool, complex)


def _pointwise_rule(scalars=()):
    """TensorIterator's output layout over an op's tensor inputs; a Python number at a position in
    ``scalars`` is an operand too (torch wraps it as a 0-dim tensor: the inputs' shapes then differ)."""
    def rule(dyn, statics, res):
        out = res if isinstance(res, Tensor) else res[0]
        scalar = False
        for i in scalars:
            if i < len(dyn) and type(dyn[i]) in _NUMBERS:
                scalar = True
        key = [out._shape_dtype()[0], scalar]
        for a in dyn:
            if isinstance(a, Tensor):
                st = a._strides
                key.append(a._shape_dtype()[0])
                key.append(st if st is None or type(st) is tuple else st.get())  # (None: row-major)
        key = tuple(key)
        got = _LAYOUTS.get(key, False)
        if got is False:
            got = _iter_layout(tuple(key[0]), [(tuple(s), contiguous_strides(s) if st is None else st)
                                               for s, st in zip(key[2::2], key[3::2])], scalar)
            if len(_LAYOUTS) > 4096:
                _LAYOUTS.clear()
            _LAYOUTS[key] = got
        return got
    return rule


def _iter_layout(shape, operands, scalar):
    """TensorIterator's output strides (as an ``Exact``, None where row-major) for ``operands``
    ((shape, strides) each): inputs all of the output's shape keep their common layout (contiguous,
    channels_last, or the same dense strides); else the dims ordered by ``_iter_order``, strided densely."""
    n = len(shape)
    if any(len(s) > n for s, _ in operands):
        return None
    if not scalar and all(s == shape for s, _ in operands):
        if 0 in shape or all(dense_in(shape, st, range(n)) for _, st in operands):
            return None
        if n == 4:  # (torch's fast setup asks channels_last only; channels_last_3d inputs share strides below)
            cl = (0, 2, 3, 1)
            if all(dense_in(shape, st, cl) for _, st in operands):
                return Exact((cl, dense_strides(shape, cl)))
        first = operands[0][1]
        if all(st == first for _, st in operands) and non_overlapping_dense(shape, first):
            return Exact((infer_order(shape, first), first))
    order = _iter_order(shape, operands)
    if order == tuple(range(n)):
        return None
    strides = [0] * n
    acc = 1
    for d in reversed(order):  # (as torch: a size-0 dim gives its outer dims stride 0)
        strides[d] = acc
        acc *= shape[d]
    strides = tuple(strides)
    return None if strides == contiguous_strides(shape) else Exact((order, strides))


_LAYOUTS = {}  # (output shape, scalar operand, (shape, strides) of each input) -> _iter_layout's answer
_pointwise = _pointwise_rule()


def _pad_mode(dyn, statics, res):
    """reflect and replicate padding keep the suggested format; circular padding (built from
    slices and cat in torch) does not."""
    return None if "circular" in statics else _suggest_first(dyn, statics, res)


def _pointwise_of(*positions):
    """Pointwise over the inputs at ``positions`` only (the others: random keys, masks)."""
    def rule(dyn, statics, res):
        return _pointwise([dyn[i] for i in positions], statics, res)
    return rule


# ops whose Python-number arguments at these positions torch wraps as 0-dim tensor operands
# (``x + 1``); other numbers (``clamp``'s bounds, ``pow``'s exponent, ``2 / x``) are kernel constants
_SCALAR_OPERANDS = {(0, 1): ("add", "sub", "mul", "remainder", "fmod", "floor_divide", "eq", "ne",
                             "lt", "le", "gt", "ge", "copysign", "xlogy", "bitwise_and", "bitwise_or",
                             "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"),
                    (1,): ("_true_divide", "_trunc_divide"), (1, 2): ("_where",)}


def _preserve_first(dyn, statics, res):
    """A copy made by ``empty_like(input)`` (``to``, ``nan_to_num``, ``hardtanh``): ``preserve_format``."""
    got = preserve_layout(dyn[0])
    return None if got is None else Exact(got) if got[1] is not None else got[0]


def _suggest_first(dyn, statics, res):
    return suggest_order(dyn[0]) if isinstance(dyn[0], Tensor) else None


def _suggest_first_2d(dyn, statics, res):
    """As torch's CPU kernels with a channels_last path for 4-D tensors only (avg and adaptive pooling)."""
    return _suggest_first(dyn, statics, res) if dyn[0].ndim == 4 else None


def _suggest_conv(dyn, statics, res):
    """CPU convolution: channels_last when the input or the weight suggests it (4-D only: torch's
    3-D convolutions return contiguous results)."""
    for a in dyn[:2]:
        if isinstance(a, Tensor):
            order = suggest_order(a)
            if order is not None and len(order) == 4:
                return order
    return None


def _cat(dyn, statics, res):
    """cat: the first input's suggested format when every input suggests the same."""
    tensors = [t for t in dyn[0] if isinstance(t, Tensor)]
    if not tensors:
        return None
    order = suggest_order(tensors[0])
    if order is None or any(suggest_order(t) != order for t in tensors[1:]) or len(order) != res.ndim:
        return None
    return order


def _advanced_index(dyn, statics, res):
    """torch's ``index`` (``x[idx]``): the result's dim order (_advanced_order), cached."""
    indices, x = dyn
    shape, strides = tuple(x._shape_dtype()[0]), x.stride()
    key = (shape, strides, statics[0], tuple((t._shape_dtype()[0], t.stride()) for t in indices))
    got = _ADVANCED.get(key, False)
    if got is False:
        got = _advanced_order(shape, strides, statics[0], [k[0] for k in key[3]], [k[1] for k in key[3]])
        if len(_ADVANCED) > 4096:
            _ADVANCED.clear()
        _ADVANCED[key] = got
    return got


_ADVANCED = {}  # (input shape, strides, template, (index shape, strides) each) -> the result's dim order


def _advanced_order(shape, strides, template, ishapes, istrides):
    """TensorIterator's order over the input restrided (the indexed dims, put first where they are not adjacent,
    replaced by the indices' broadcast shape with zero strides) and the broadcast indices (their dims where the
    indexed ones were, size 1 elsewhere)."""
    pos = [d for d, t in enumerate(template) if t == "T"]
    if pos[-1] - pos[0] != len(pos) - 1:  # not adjacent: the indexed dims first
        dims = pos + [d for d in range(len(shape)) if d not in pos]
        shape, strides, pos = tuple(shape[d] for d in dims), tuple(strides[d] for d in dims), list(range(len(pos)))
    bshape = tuple(np.broadcast_shapes(*ishapes))
    from ._ops.shape import _expand_strides, _view_strides
    before, after = pos[0], len(shape) - pos[-1] - 1
    nb = len(bshape)
    operands = [(shape[:before] + bshape + shape[pos[-1] + 1:], strides[:before] + (0,) * nb + strides[pos[-1] + 1:])]
    ishape = (1,) * before + bshape + (1,) * after
    for s, st in zip(ishapes, istrides):  # each expanded to the broadcast shape, then reshaped to ``ishape``
        st = _view_strides(bshape, _expand_strides(tuple(s), st, bshape), ishape)
        operands.append((ishape, st if st is not None else contiguous_strides(ishape)))
    return _iter_order(operands[0][0], operands)


def install():
    """Give the ops their layout rules (called once the ops are defined)."""
    from ._ops import pointwise, nn_ops, vision_ops, join, indexing_ops, manip, embedding_ops, sorting
    from ._dispatch import OpDef, REGISTRY
    skip = {"clone", "_identity_to"}  # clone: its memory_format argument decides
    for op in list(REGISTRY.values()) + list(vars(pointwise).values()) + pointwise.WRAPPED:
        if isinstance(op, OpDef) and op.fn.__module__ == pointwise.__name__ and op.view is None \
                and op.name not in skip:
            op.layout = _pointwise
    for name in ("celu", "elu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
                 "leaky_relu", "logsigmoid", "mish", "prelu", "relu", "selu", "silu", "softplus",
                 "softshrink", "softsign", "tanhshrink", "threshold", "_clamp"):
        op = getattr(nn_ops, name, None) or getattr(pointwise, name, None) or REGISTRY.get(name)
        if isinstance(op, OpDef):
            op.layout = _pointwise
    by_name = {op.name: op for op in list(REGISTRY.values()) + list(vars(pointwise).values()) + pointwise.WRAPPED
               + [indexing_ops._where] if isinstance(op, OpDef)}
    for positions, names in _SCALAR_OPERANDS.items():
        rule = _pointwise_rule(positions)
        for name in names:
            op = by_name[name]  # (a KeyError: an op renamed, keep the table in step)
            op.layout = rule
    nn_ops._dropout_mask.layout = nn_ops._alpha_dropout_mask.layout = _pointwise_of(1)
    nn_ops._dropout_apply.layout = nn_ops._alpha_dropout_apply.layout = _pointwise_of(0)
    nn_ops._conv.layout = nn_ops._conv_transpose.layout = _suggest_conv
    for op in (nn_ops._batch_norm_train, nn_ops._batch_norm_eval, nn_ops._max_pool, vision_ops._interpolate,
               nn_ops._group_norm, nn_ops._pad_constant):
        op.layout = _suggest_first
    nn_ops._pad_mode.layout = _pad_mode
    manip._flip.layout = _pointwise  # (one input: its own dim order)
    # torch rolls a dim by concatenating two slices: cat's format (channels_last kept, else row-major);
    # without dims it rolls the flattened tensor: row-major
    manip._roll.layout = lambda dyn, statics, res: _suggest_first(dyn, statics, res) if statics[1] else None
    pointwise._cast.layout = pointwise.nan_to_num.layout = nn_ops.hardtanh.layout = _preserve_first
    sorting._sort.layout = _preserve_first  # (torch sorts a preserve_format copy in place)
    # computed by torch as pointwise arithmetic on the input (``input / norm``): the input's layout
    nn_ops._local_response_norm.layout = embedding_ops._normalize.layout = _pointwise_of(0)
    for op in (nn_ops._avg_pool, nn_ops._adaptive_avg_pool, nn_ops._adaptive_max_pool):
        op.layout = _suggest_first_2d
    join._cat.layout = _cat
    from ._ops import indexing
    indexing._adv_getitem.layout = _advanced_index


# ---------------------------------------------------------------- the flat buffer of a laid storage
def buffer_array(root, order):
    """The root's elements (a numpy or jax array) as its storage's flat buffer holds them (shaped, not
    yet raveled)."""
    return root if order is None else root.transpose(order)


def from_buffer(flat, shape, order):
    """The root (logical shape ``shape``) from its storage's flat buffer ``flat`` (a numpy array)."""
    if order is None:
        return flat.reshape(shape)
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return flat.reshape([shape[d] for d in order]).transpose(inv)


def buffer_positions(shape, order):
    """numpy array of ``shape``: the flat-buffer position of each root element."""
    return from_buffer(np.arange(int(np.prod(shape)), dtype=np.int64), tuple(shape), order)


def logical_index(idx, shape, order):
    """Buffer positions ``idx`` (numpy) as row-major positions in the root of ``shape``."""
    if order is None:
        return idx
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).transpose(order).reshape(-1)[idx]
