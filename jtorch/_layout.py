"""Transpose sinking for compiled programs (``jtorch.compile`` on CPU).

PyTorch's convolution API is NCHW, while XLA's CPU convolution runs fastest channels-last, so each
convolution op moves the channels last and back (``_ops/nn_ops.py``). Between two convolutions the
activations then go NHWC -> NCHW (batch norm, relu, pooling) -> NHWC, in the forward and again in the
backward. XLA keeps those transposes: its CPU layout assignment gives elementwise ops and reductions
the default layout, so every transpose is a copy, and loop fusions that read a transposed operand
read it with a large stride (slow on CPU).

This pass re-evaluates the step's jaxpr (nested jit calls inlined) keeping each value as a physical
array plus a permutation: a ``transpose`` only composes permutations, and elementwise ops,
reductions, broadcasts, slices, pads, squeezes, reverses and concatenations run on the physical
array with their axis parameters remapped. Values are transposed for real only where an op needs
its logical layout (dot, convolution, reshape, gather, ...) and at the outputs. Between two
convolutions the activations then stay channels-last: the conv's ``to_last`` cancels the previous
conv's ``to_first``.
"""
import jax
import jax.extend.core as jax_core
from jax import lax

ENABLED = True  # tests turn it off to compare
SMALL = 4096  # a broadcast operand up to this many elements is rebuilt in any layout instead of moved

# primitives that act elementwise on operands of one shape (rank-0 operands broadcast)
ELEMENTWISE = frozenset("""
add add_any sub mul div rem pow max min neg sign floor ceil round is_finite exp exp2 log log1p expm1
tanh logistic sin cos tan asin acos atan atan2 sinh cosh asinh acosh atanh sqrt rsqrt cbrt integer_pow
square abs erf erfc erf_inv lgamma digamma igamma igammac polygamma zeta bessel_i0e bessel_i1e
eq ne lt le gt ge and or not xor select_n convert_element_type stop_gradient copy copy_p nextafter
shift_left shift_right_logical shift_right_arithmetic clamp real imag conj complex reduce_precision
population_count clz
""".split())
REDUCTIONS = frozenset("reduce_sum reduce_max reduce_min reduce_prod reduce_and reduce_or reduce_xor "
                       "argmax argmin".split())
CUMULATIVE = frozenset("cumsum cumprod cummax cummin cumlogsumexp".split())
# higher-order primitives whose body is inlined (no transformation runs on the program afterwards)
INLINE = {"jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
          "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr", "remat2": "jaxpr",
          "checkpoint": "jaxpr"}


def _ident(n):
    return tuple(range(n))


def _inverse(p):
    inv = [0] * len(p)
    for i, a in enumerate(p):
        inv[a] = i
    return tuple(inv)


def _settle_ones(phys, perm):
    """The same value with its size-1 axes moved (free: a reshape) to their logical places, keeping
    the physical order of the other axes: a layout choice is about the axes longer than 1 only (an
    image with one channel is the same bytes as NCHW or NHWC)."""
    shape = phys.shape
    n = len(perm)
    big = sorted((a for a in range(n) if shape[perm[a]] != 1), key=lambda a: perm[a])
    order, it = [], iter(big)
    for a in range(n):
        order.append(a if shape[perm[a]] == 1 else next(it))
    # order[j]: the logical axis at new physical position j
    new_perm = [0] * n
    for j, a in enumerate(order):
        new_perm[a] = j
    return lax.reshape(phys, tuple(shape[perm[a]] for a in order)), tuple(new_perm)


class _Val:
    """A logical value ``transpose(phys, perm)``: logical axis i is physical axis perm[i]. ``remake``,
    for values made from broadcasts and iotas only (cheap to recompute, like XLA's fused broadcasts),
    builds the value straight in another layout: ``remake(t)`` is the physical array for perm ``t``."""
    __slots__ = ("phys", "perm", "remake")

    def __init__(self, phys, perm=None, remake=None):
        if perm is not None and 1 in jax.numpy.shape(phys) and perm != _ident(len(perm)):
            phys, perm = _settle_ones(phys, tuple(perm))
        self.phys = phys
        self.perm = _ident(jax.numpy.ndim(phys)) if perm is None else tuple(perm)
        self.remake = remake

    @property
    def ndim(self):
        return len(self.perm)

    def size(self):
        return 0 if self.remake is not None else int(jax.numpy.size(self.phys))

    def in_perm(self, t):
        """The physical array of this value laid out with permutation ``t``."""
        if self.perm == t:
            return self.phys
        if self.remake is not None:
            return self.remake(t)
        ti = _inverse(t)
        order = tuple(self.perm[ti[j]] for j in range(len(t)))
        shape = self.phys.shape
        big = [a for a in order if shape[a] != 1]
        if big == sorted(big):  # only size-1 axes move: the same bytes
            return lax.reshape(self.phys, tuple(shape[a] for a in order))
        return lax.transpose(self.phys, order)

    def logical(self):
        return self.in_perm(_ident(self.ndim))


def _vote(vals):
    """The layout an elementwise op runs in: the one holding most of its (non-broadcast) operand data."""
    weight = {}
    for v in vals:
        if v.ndim:
            weight[v.perm] = weight.get(v.perm, 0) + v.size()
    if not weight:
        return ()
    ident = _ident(next(v.ndim for v in vals if v.ndim))
    return max(weight, key=lambda p: (weight[p], p != ident))


def _remaining_perm(perm, removed):
    """The permutation of what is left after dropping logical axes ``removed`` (physical perm[a])."""
    gone = {perm[a] for a in removed}
    left = sorted(p for p in perm if p not in gone)
    rank = {p: i for i, p in enumerate(left)}
    return tuple(rank[perm[a]] for a in range(len(perm)) if a not in removed)


def _reshape(v, new):
    """A reshape on the physical array when it only splits axes, or merges axes that are adjacent and
    in the same order physically (size-1 axes anywhere); else None."""
    old = tuple(v.phys.shape[v.perm[a]] for a in range(v.ndim))
    in_big = [a for a in range(len(old)) if old[a] != 1]
    out_big = [a for a in range(len(new)) if new[a] != 1]
    blocks, i, j = [], 0, 0  # (logical input axes, output axes) with equal products
    while i < len(in_big) or j < len(out_big):
        ins, outs, pi, po = [], [], 1, 1
        while True:
            if pi <= po and i < len(in_big):
                ins.append(in_big[i])
                pi *= old[in_big[i]]
                i += 1
            elif j < len(out_big):
                outs.append(out_big[j])
                po *= new[out_big[j]]
                j += 1
            else:
                return None
            if pi == po and ins and outs:
                break
        blocks.append((ins, outs))
    big_phys = sorted(v.perm[a] for a in in_big)
    rank = {p: r for r, p in enumerate(big_phys)}  # position among the physical axes longer than 1
    for ins, _ in blocks:
        pos = [rank[v.perm[a]] for a in ins]
        if pos != list(range(pos[0], pos[0] + len(pos))):
            return None
    blocks.sort(key=lambda b: rank[v.perm[b[0][0]]])
    phys_shape, where = [], {}
    for _, outs in blocks:
        for o in outs:
            where[o] = len(phys_shape)
            phys_shape.append(new[o])
    for o in range(len(new)):
        if new[o] == 1:
            where[o] = len(phys_shape)
            phys_shape.append(1)
    return _Val(lax.reshape(v.phys, tuple(phys_shape)), tuple(where[o] for o in range(len(new))))


def _eqn(prim, params, ins):
    """Evaluate one equation on _Vals; returns a list of _Vals (one per output)."""
    name = prim.name
    nd = [v for v in ins if v.ndim]
    if name in ELEMENTWISE and nd and all(v.ndim == nd[0].ndim for v in nd):
        t = _vote(ins)

        def make(t):
            out = prim.bind(*[v.in_perm(t) if v.ndim else v.phys for v in ins], **params)
            return out if prim.multiple_results else [out]
        outs = make(t)
        if all(v.remake is not None for v in nd) and len(outs) == 1:  # still cheap: remade on demand
            return [_Val(outs[0], t, lambda t: make(t)[0])]
        return [_Val(o, t) for o in outs]
    if name == "transpose":
        (v,) = ins
        p = params["permutation"]
        return [_Val(v.phys, tuple(v.perm[i] for i in p))]
    if name == "broadcast_in_dim" and len(ins) == 1 and not params.get("sharding"):
        v = ins[0]
        shape, dims = params["shape"], params["broadcast_dimensions"]

        def make(t):  # operand axis j lands on physical axis t[dims[j]]
            ti = _inverse(t)
            return lax.broadcast_in_dim(v.phys, tuple(shape[ti[a]] for a in range(len(t))),
                                        tuple(t[dims[j]] for j in _inverse(v.perm)))
        ident = _ident(len(shape))
        # only broadcasts of small operands (per-channel vectors, scalars) are cheap to redo anywhere
        return [_Val(make(ident), ident, make if jax.numpy.size(v.phys) <= SMALL else None)]
    if name == "iota" and not params.get("sharding"):
        shape, dim = params["shape"], params["dimension"]

        def make(t):
            ti = _inverse(t)
            return lax.broadcasted_iota(params["dtype"], tuple(shape[ti[a]] for a in range(len(t))), t[dim])
        ident = _ident(len(shape))
        return [_Val(make(ident), ident, make)]
    if name == "reshape" and len(ins) == 1 and params.get("dimensions") is None:
        out = _reshape(ins[0], tuple(params["new_sizes"]))
        if out is not None:
            return [out]
    if name in REDUCTIONS and len(ins) == 1:
        (v,) = ins
        axes = tuple(params["axes"])
        out = prim.bind(v.phys, **dict(params, axes=tuple(sorted(v.perm[a] for a in axes))))
        return [_Val(out, _remaining_perm(v.perm, set(axes)))]
    if name in CUMULATIVE:
        (v,) = ins
        return [_Val(prim.bind(v.phys, **dict(params, axis=v.perm[params["axis"]])), v.perm)]
    if name == "squeeze":
        (v,) = ins
        dims = tuple(params["dimensions"])
        out = prim.bind(v.phys, dimensions=tuple(sorted(v.perm[d] for d in dims)))
        return [_Val(out, _remaining_perm(v.perm, set(dims)))]
    if name == "rev":
        (v,) = ins
        return [_Val(prim.bind(v.phys, dimensions=tuple(sorted(v.perm[d] for d in params["dimensions"]))), v.perm)]
    if name == "slice":
        (v,) = ins
        ti = _inverse(v.perm)
        strides = params["strides"]
        out = prim.bind(v.phys, start_indices=tuple(params["start_indices"][ti[j]] for j in range(v.ndim)),
                        limit_indices=tuple(params["limit_indices"][ti[j]] for j in range(v.ndim)),
                        strides=None if strides is None else tuple(strides[ti[j]] for j in range(v.ndim)))
        return [_Val(out, v.perm)]
    if name == "pad":
        v, pv = ins
        ti = _inverse(v.perm)
        cfg = params["padding_config"]
        out = prim.bind(v.phys, pv.phys, padding_config=tuple(cfg[ti[j]] for j in range(v.ndim)))
        return [_Val(out, v.perm)]
    if name == "concatenate" and len({v.perm for v in ins}) == 1:
        p = ins[0].perm
        out = prim.bind(*[v.phys for v in ins], dimension=p[params["dimension"]])
        return [_Val(out, p)]
    # anything else sees its operands in their logical layout
    out = prim.bind(*[v.logical() for v in ins], **params)
    return [_Val(o) for o in (out if prim.multiple_results else [out])]


def _run(jaxpr, consts, args):
    env = {}

    def read(a):
        if isinstance(a, jax_core.Literal):
            return _Val(a.val)
        return env[a]

    for var, c in zip(jaxpr.constvars, consts):
        env[var] = _Val(c)
    for var, a in zip(jaxpr.invars, args):
        env[var] = a
    for e in jaxpr.eqns:
        ins = [read(a) for a in e.invars]
        sub = INLINE.get(e.primitive.name)
        if sub is not None and sub in e.params and not e.effects:
            inner = e.params[sub]
            if isinstance(inner, jax_core.ClosedJaxpr):
                inner_consts, inner = inner.consts, inner.jaxpr
            else:
                inner_consts = ()
            outs = _run(inner, inner_consts, ins)
        else:
            outs = _eqn(e.primitive, e.params, ins)
        for var, o in zip(e.outvars, outs):
            if not isinstance(var, jax_core.DropVar):
                env[var] = o
    return [read(a) for a in jaxpr.outvars]


def sink_transposes(closed):
    """A function computing ``closed`` (a ClosedJaxpr) with its transposes sunk (see the module doc)."""
    def fn(*args):
        outs = _run(closed.jaxpr, closed.consts, [_Val(a) for a in args])
        return [o.logical() for o in outs]
    return fn
