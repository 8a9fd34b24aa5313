"""torch.utils.flop_counter.FlopCounterMode: count the floating-point operations of matrix products,
convolutions and attention, forward and backward, in total and per module.

Counts follow torch's formulas (2 per multiply-add) and land under the aten op torch would run:
``aten.mm``/``aten.addmm``/``aten.bmm``/``aten.baddbmm`` for products, ``aten.convolution`` and
``aten.convolution_backward``, and ``aten._scaled_dot_product_efficient_attention(_backward)`` for
``F.scaled_dot_product_attention``. Differences from torch, which counts in a TorchDispatchMode:

- jtorch observes its own ops (see utils/_op_observer.py) and maps each to the aten op torch would have
  chosen (``F.linear`` with a bias on a 2-D or contiguous 3-D input is addmm, otherwise mm; ``matmul``
  folds to mm when one side is a matrix, else bmm; a matrix-vector product counts nothing, as torch's mv).
- torch on CPU runs SDPA as ``_scaled_dot_product_flash_attention_for_cpu``, which it does not count;
  jtorch counts attention with torch's attention formula (what torch reports on a GPU).
- The backward of a product counts one product per input that needs a gradient (torch's derivative
  formulas); backward-of-backward (``create_graph=True``) ops are not counted.
- Backward counts are attributed to the modules that ran the forward op (torch's ModuleTracker attributes
  them through gradient hooks and sometimes names other modules).
- A ``jtorch.compile``d function is seen only while it runs eagerly (its first call).
"""
import math
import warnings
import weakref
from collections import defaultdict

from . import _op_observer
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]


class _AtenName:
    """Stands for an aten op that jtorch.ops.aten does not define (convolution_backward, the attention
    kernels): prints and compares as torch's packet name."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"aten.{self.name}"

    __repr__ = __str__

    def __eq__(self, other):
        return str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


_PACKETS = {}


def _aten(name):
    p = _PACKETS.get(name)
    if p is None:
        from .. import ops
        try:
            p = getattr(ops.aten, name)
        except AttributeError:
            p = _AtenName(name)
        p = _PACKETS[name] = p
    return p


def _prod(xs):
    return math.prod(int(x) for x in xs)


# ---- formulas, with torch's argument conventions (shapes in, a count out) ------------------------

def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs):
    m, k = a_shape
    n = b_shape[1]
    return 2 * m * k * n


def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
    return mm_flop(a_shape, b_shape)


def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs):
    b, m, k = a_shape
    return 2 * b * m * k * b_shape[-1]


def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed=False):
    """2 * batch * (weight elements) * (positions the kernel visits: the output's, or the input's when
    transposed)."""
    positions = (x_shape if transposed else out_shape)[2:]
    return 2 * int(x_shape[0]) * _prod(w_shape) * _prod(positions)


def conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args, out_shape=None,
              **kwargs):
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


def _swap01(shape):
    return [shape[1], shape[0], *shape[2:]]


def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                       _output_padding, _groups, output_mask, out_shape=None, **kwargs):
    total = 0
    if output_mask[0]:  # the input's gradient is the transposed convolution of the output's
        total += conv_flop_count(grad_out_shape, w_shape, x_shape, not transposed)
    if output_mask[1]:  # the weight's: input and output gradient convolved, batch and channels swapped
        if transposed:
            total += conv_flop_count(_swap01(grad_out_shape), _swap01(x_shape), _swap01(w_shape), False)
        else:
            total += conv_flop_count(_swap01(x_shape), _swap01(grad_out_shape), _swap01(w_shape), False)
    return total


def sdpa_flop_count(query_shape, key_shape, value_shape):
    b, h, s_q, d_q = query_shape
    s_k, d_v = key_shape[-2], value_shape[-1]
    return 2 * b * h * s_q * s_k * d_q + 2 * b * h * s_q * s_k * d_v  # scores, then weights @ values


def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape):
    b, h, s_q, d_q = query_shape
    s_k, d_v = key_shape[-2], value_shape[-1]
    # the scores q @ k^T again, then grad_v = p^T @ g, grad_p = g @ v^T, grad_q = grad_s @ k,
    # grad_k = grad_s^T @ q
    return 2 * b * h * s_q * s_k * (3 * d_q + 2 * d_v)


def sdpa_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


_FORMULAS = {"mm": mm_flop, "addmm": addmm_flop, "bmm": bmm_flop, "baddbmm": baddbmm_flop,
             "convolution": conv_flop, "convolution_backward": conv_backward_flop,
             "_scaled_dot_product_efficient_attention": sdpa_flop,
             "_scaled_dot_product_efficient_attention_backward": sdpa_backward_flop}
_CUSTOM = {}  # registered by register_flop_formula: aten packet -> formula


def register_flop_formula(targets, get_raw=False):
    """Register ``formula(*shapes, out_shape=...)`` for aten op packets (jtorch.ops.aten.X); it replaces the
    built-in one for every FlopCounterMode."""
    def register(fn):
        for t in (targets if isinstance(targets, (list, tuple)) else [targets]):
            _CUSTOM[str(t)] = fn
        return fn
    return register


# ---- what each jtorch op means in torch's ops ------------------------------------------------------

def _shape(a):
    return tuple(a.shape) if a is not None and hasattr(a, "shape") else None


def _folds(a, b):
    """Whether torch's matmul runs ``a @ b`` (one side a matrix, the other with batch dims) as one mm on the
    batch folded into rows: when the matrix side needs a gradient (its gradient stays small), else only
    when the batched side is on the left and its batch dims flatten without a copy."""
    big, small = (a, b) if a.ndim >= b.ndim else (b, a)
    if small.requires_grad:
        return True
    if big is b:
        return False
    shape, strides = tuple(big.shape), big.stride()
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def _matmul_parts(a, b, fold):
    """(aten name, shapes torch's kernel gets) for ``a @ b`` (shapes); None where torch calls dot/mv."""
    if len(a) <= 2 and len(b) <= 2:
        return ("mm", (a, b)) if len(a) == len(b) == 2 else None
    if fold:
        if len(b) == 2:
            return ("mm", ((_prod(a[:-1]), a[-1]), b)) if len(a) >= 2 else None
        if len(a) == 2:  # through the transpose: (b^T-folded) @ a^T
            return "mm", ((_prod(b[:-2]) * b[-1], b[-2]), (a[1], a[0]))
        return None  # a vector side: mv
    a = a if len(a) >= 2 else (1,) + tuple(a)
    b = b if len(b) >= 2 else tuple(b) + (1,)
    n = _prod(_broadcast(a[:-2], b[:-2]))
    return "bmm", ((n, a[-2], a[-1]), (n, b[-2], b[-1]))


def _broadcast(x, y):
    out = []
    for i in range(max(len(x), len(y))):
        dx = x[len(x) - 1 - i] if i < len(x) else 1
        dy = y[len(y) - 1 - i] if i < len(y) else 1
        out.append(dx if dy == 1 else dy)
    return out[::-1]


def _einsum_pairs(equation, shapes):
    """The products torch's einsum runs for two operands: one bmm over the indices they share and the
    output's; none when nothing is summed over (torch multiplies then)."""
    if len(shapes) != 2 or "..." in equation:
        return []
    lhs, arrow, out = equation.replace(" ", "").partition("->")
    ins = lhs.split(",")
    if not arrow:  # implicit output: the indices that appear once, in alphabetical order
        out = "".join(sorted(c for c in set(lhs) - {","} if lhs.count(c) == 1))
    sizes = {}
    for term, shape in zip(ins, shapes):
        for c, s in zip(term, shape):
            sizes[c] = s
    a, b = set(ins[0]), set(ins[1])
    summed = (a & b) - set(out)
    if not summed:
        return []
    kept = [c for c in sizes if (c in a and c in b) or c in out]
    batch = [c for c in kept if c in a and c in b and c in out]
    n = _prod(sizes[c] for c in batch)
    m = _prod(sizes[c] for c in kept if c in a and c not in b)
    k = _prod(sizes[c] for c in summed)
    p = _prod(sizes[c] for c in kept if c in b and c not in a)
    return [("bmm", ((n, m, k), (n, k, p)))]


def _product(parts):
    return [(parts[0], parts[1], {})] if parts else []


def forward_counts(op, dyn, statics, res):
    """[(aten name, formula args, formula kwargs)] for one forward op call."""
    name = op.name
    if name == "_linear":
        x, w, bias = _shape(dyn[0]), _shape(dyn[1]), _shape(dyn[2]) if len(dyn) > 2 else None
        if bias is not None and (len(x) == 2 or (len(x) == 3 and dyn[0].is_contiguous())):
            return [("addmm", (bias, (_prod(x[:-1]), x[-1]), (w[1], w[0])), {})]
        return _product(_matmul_parts(x, (w[1], w[0]), fold=len(x) <= 2 or _folds(dyn[0], dyn[1])))
    if name == "_matmul":
        a, b = dyn[0], dyn[1]
        fold = a.ndim != b.ndim and min(a.ndim, b.ndim) <= 2 and _folds(a, b)
        return _product(_matmul_parts(_shape(a), _shape(b), fold))
    if name == "_addmm":
        inp, a, b = (_shape(t) for t in dyn[:3])
        if statics and statics[0]:  # addbmm: torch counts none
            return []
        return [("addmm" if len(a) == 2 else "baddbmm", (inp, a, b), {})]
    if name == "_einsum":
        return [(k, s, {}) for k, s in _einsum_pairs(statics[0], [_shape(t) for t in dyn[0]])]
    if name in ("_conv", "_conv_transpose"):
        transposed = name == "_conv_transpose"
        x, w = _shape(dyn[0]), _shape(dyn[1])
        return [("convolution", (x, w, None, None, None, None, transposed), {"out_shape": _shape(res)})]
    if name == "_attention":
        q, k, v = (_shape(t) for t in dyn[:3])
        if len(q) != 4:
            q, k, v = ((1,) * (4 - len(s)) + s for s in (q, k, v))
        return [("_scaled_dot_product_efficient_attention", (q, k, v), {})]
    return []


def backward_counts(node, dyn, forward):
    """The products torch's derivative formulas run for ``node``'s backward, given the primals' shapes and
    what the forward counted (``forward``: its forward_counts entries)."""
    name = node.op.name
    needs = {i for i, _ in node.diff}
    shapes = [_shape(a) for a in dyn]
    out = []

    def products(kind, a, b, needs_ab):
        # grad of a = g @ b^T, grad of b = a^T @ g: one product of the same size for each needed input
        out.extend((kind, (a, b), {}) for i in (0, 1) if i in needs_ab)

    if name in ("_linear", "_matmul"):
        if forward:  # the products the forward ran, one of each per input needing a gradient
            kind, args = forward[0][0], forward[0][1]
            if kind == "addmm":  # its backward: plain mm's
                kind, args = "mm", args[1:]
            products(kind, *args, needs & {0, 1})
    elif name == "_addmm":
        if node.statics and node.statics[0]:
            return []
        a, b = shapes[1], shapes[2]
        products("mm" if len(a) == 2 else "bmm", a, b, {i - 1 for i in (1, 2) if i in needs})
    elif name == "_einsum":
        for kind, (a, b) in _einsum_pairs(node.statics[0], [_shape(t) for t in dyn[0]]):
            products(kind, a, b, {j for (i, j) in node.diff if i == 0})
    elif name in ("_conv", "_conv_transpose"):
        transposed = name == "_conv_transpose"
        x, w = shapes[0], shapes[1]
        g = _shape(dyn[-1])
        mask = [0 in needs, 1 in needs, 2 in needs]
        out.append(("convolution_backward", (g, x, w, None, None, None, None, transposed, None, None, mask), {}))
    elif name == "_attention":
        q, k, v = shapes[:3]
        if len(q) != 4:
            q, k, v = ((1,) * (4 - len(s)) + s for s in (q, k, v))
        out.append(("_scaled_dot_product_efficient_attention_backward", (None, q, k, v), {}))
    return out


# ---- the table -------------------------------------------------------------------------------------

def _suffix_for(total):
    """torch's table writes every count in the unit its total needs: 4480, 46.656K, 144.000M."""
    return max(0, min(4, (len(str(total)) - 2) // 3))


def _with_suffix(n, index):
    return str(n) if index == 0 else f"{n / 1000 ** index:.3f}{' KMBT'[index]}"


def _table(rows):
    header = ("Module", "FLOP", "% Total")
    widths = [max([len(header[c]) + 2] + [len(r[c]) for r in rows]) for c in range(3)]
    fmt = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}"  # noqa: E731
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows])


class FlopCounterMode:
    """``with FlopCounterMode(display=False) as fc: ...`` then ``fc.get_total_flops()``,
    ``fc.get_flop_counts()`` ({module name or "Global": {aten op: count}}) or ``fc.get_table(depth)``."""

    def __init__(self, mods=None, depth=2, display=True, custom_mapping=None):
        self.flop_counts = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.mode = None
        self.custom_mapping = {str(k): v for k, v in (custom_mapping or {}).items()}
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it", stacklevel=2)
        self.mod_tracker = ModuleTracker()
        self._forward = weakref.WeakKeyDictionary()  # autograd node -> what its forward counted

    def get_total_flops(self):
        return sum(self.flop_counts.get("Global", {}).values())

    def get_flop_counts(self):
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def _count(self, aten_name, args, kwargs):
        key = "aten." + aten_name
        formula = self.custom_mapping.get(key) or _CUSTOM.get(key)
        if formula is not None:
            n = formula(*args, out_shape=kwargs.get("out_shape"))
        else:
            n = _FORMULAS[aten_name](*args, out_shape=kwargs.get("out_shape"))
        packet = _aten(aten_name)
        for parent in set(self.mod_tracker.parents):
            self.flop_counts[parent][packet] += n

    # _op_observer callbacks
    def on_op(self, op, dyn, statics, res, node):
        if node is None:
            counts = forward_counts(op, dyn, statics, res)
            recorded = _op_observer.result_node(res) if counts else None
            if recorded is not None:
                self._forward[recorded] = counts
        elif op.name == node.op.name + "_backward":
            # dyn: the forward's arguments, then the output's gradient
            counts = backward_counts(node, dyn, self._forward.get(node))
        else:
            counts = []
        for aten_name, args, kwargs in counts:
            self._count(aten_name, args, kwargs)

    def on_node(self, node, entering):
        pass

    def get_table(self, depth=None):
        depth = self.depth if depth is None else depth
        depth = math.inf if depth is None else depth
        total = self.get_total_flops()
        unit = _suffix_for(total)

        def pct(n):
            return f"{n / total * 100:.2f}%" if total else "0%"

        def section(name):
            counts = self.flop_counts.get(name, {})
            n = sum(counts.values())
            rows = [[name, _with_suffix(n, unit), pct(n)]]
            for op in counts:  # in the order first counted
                rows.append([f"- {op}", _with_suffix(counts[op], unit), pct(counts[op])])
            return rows

        modules = sorted(k for k in self.flop_counts if k != "Global")
        rows = []
        subsumed = any(sum(self.flop_counts[m].values()) == total for m in modules)
        if not subsumed:
            rows += section("Global")
        for m in modules:
            if m.count(".") + 1 <= depth:
                rows += section(m)
        return _table(rows)

    def __enter__(self):
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        _op_observer.start(self)
        return self

    def __exit__(self, *exc):
        _op_observer.stop(self)
        self.mod_tracker.__exit__(*exc)
        if self.display:
            print(self.get_table(self.depth))
        return False
