"""The one road every op takes.

An op is a pure function of jax arrays, declared once with ``@defop``. Its
signature says how torch users call it: parameters without a default (and
those named in ``dynamic=``) are *dynamic* — tensors or Python numbers, passed
to a cached ``jax.jit`` as traced values so ``x * lr`` never recompiles per
value; parameters with defaults are *static* (dims, shapes, flags) and key the
jit cache. From that one definition come ``jtorch.name``, ``Tensor.name``,
``Tensor.name_`` (in-place) and the gradient (JAX's VJP of the same function,
itself dispatched as an op so higher-order gradients need no extra code).
"""
import functools
import warnings
import math
import sys
import inspect
import types
import weakref
from threading import get_ident as _get_ident

import jax
import jax.numpy as jnp
import numpy as np

from . import _dtype as D
from . import _bits
from . import _lazy
from ._lazy import Pending, CONCRETE
from ._size import contiguous_strides
from ._symbolic import _SymNumber, python_type as _sym_type

Tensor = None  # set by tensor.py (imports point downward; the class registers itself)

REGISTRY = {}        # public name -> callable exported as jtorch.name
METHODS = {}         # name -> callable bound on Tensor
_REQUIRED = object()


class _GradState:
    __slots__ = ("enabled", "inference")

    def __init__(self):
        self.enabled = True
        self.inference = False


GRAD = _GradState()
_INFERENCE_HOOKS = []  # tensor.py's: new tensors get inference storages while inference mode is on


def set_inference_mode(on):
    if GRAD.inference is not on:
        GRAD.inference = on
        for h in _INFERENCE_HOOKS:
            h(on)

class _Transforms:
    """torch.func transforms running (func.py): their functions run with the tape off while JAX
    differentiates them; there the user's grad mode is ``enabled`` (autograd/grad_mode.py)."""
    __slots__ = ("depth", "enabled")

    def __init__(self):
        self.depth = 0
        self.enabled = True


TRANSFORMS = _Transforms()
# grad_mode's ``_stopped`` while grad mode is off inside a transform: ``apply`` hands the op to it,
# which makes the results constants for the reverse-mode levels (_untracked.py). None otherwise.
STOP_GRADIENT = [None]

# Lazy batching of eager ops (_lazy.py): set by jtorch._flags.set_lazy / JTORCH_LAZY=1.
LAZY = [False]

# Set by jtorch.compile while it discovers or traces a function (see compile.py);
# tensors report reads/writes of their storages to it. None on the eager hot path.
TRACE = None
# While jtorch.compile traces a function: its _compile_cuts.Cuts (JAX's derivative stops where the tape
# records no edge). None otherwise.
CUT = [None]
# how a view was made, for torch's checks of in-place writes through it (Tensor._cm; tensor.view_write_error)
NO_GRAD_VIEW, MULTI_OUTPUT_VIEW = "no_grad", "multi_output"
AUTOCAST = [None]  # inside torch.autocast regions: amp._cast_inputs(op, dyn) -> dyn

# Sparse tensors (jtorch/sparse) are Tensor subclasses whose storage array and strides raise
# SparseArgument when an op reads them; ``apply`` catches it (a try costs nothing until something
# raises) and hands the call to ``SPARSE[0]``, jtorch.sparse's router. Dense calls never test for
# sparse tensors. (Their storage's raw ``_arr`` is a SparseOperand, which lazy batching declines.)
# Meta tensors (_meta.py) take the same road: their storage raises MetaArgument, a SparseArgument
# whose ``route`` is the meta router.
SPARSE = [None]
MetaArray = MetaArgument = None  # set by _meta.py
ChalfArray = ChalfArgument = None  # set by _chalf.py (complex32 tensors: the same road)

# The __torch_function__ protocol (_torch_function.py): True while a TorchFunctionMode is entered; until
# then a public entry's check is this read (Tensor subclasses that dispatch are found by type on the road).
TORCH_FUNCTION = False
TF = None  # the _torch_function module (imported at the end of this one)


class SparseOperand:
    __slots__ = ()


class SparseArgument(NotImplementedError):
    """Raised by a sparse tensor's storage/strides; escaping to the user it reads as torch's error for an
    op without a sparse kernel."""

    def __init__(self, what="this operation"):
        super().__init__(f"{what} is not supported on sparse tensors")

    def route(self, op, dyn, statics):
        """Where ``apply`` sends the call (a meta tensor's MetaArgument routes elsewhere, see _meta.py)."""
        return SPARSE[0](op, dyn, statics)


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, Tensor):
        if v.ndim == 0 and not v.dtype.is_floating_point:
            return int(v.item())  # a 0-dim int tensor used as a dim/size
        raise TypeError("expected a static value (int, tuple, ...) but got a Tensor")
    if isinstance(v, np.integer):
        return int(v)
    return v


_PLAIN = frozenset([int, bool, float, str, type(None), tuple])  # static values usable as cache keys as-is


class OpDef:
    """A pure jax function plus what torch's API needs to call it."""
    # opmath: with a float16/bfloat16 result the function runs on float32 (the promoted arguments are cast
    # to float32, float32 results rounded back once), as torch's CPU kernels compute half types
    opmath = False
    # undefined_grad: (statics, saved inputs, output cotangents) -> the dynamic argument positions whose
    # gradient torch leaves undefined (None, nothing accumulated) though the result is in the graph
    # (linalg.vector_norm with ord=0, householder_product with no reflectors, an optimizer step's input
    # that no output with a gradient depends on); None for the ops whose gradient is always the VJP
    undefined_grad = None
    large = None  # (set per op in __init__; the default for ``OpDef.raw`` ops)
    # layout: (dyn, statics, result) -> the result's dim order when an input has a laid storage (_memfmt.py)
    layout = None
    # positions: for a view op that reinterprets its input's bytes as another dtype (_ops/dtype_views.py),
    # (first byte of each input element, input element size, *statics) -> the same for the view's elements
    positions = None
    # untracked: for the alias links of torch.func transforms (_ops/shape.py), whether a write through
    # them is untracked at every level (detach) or at the reverse-mode ones (no_grad); None elsewhere
    untracked = None

    def __init__(self, fn, name, promote=None, promote_args=None, dynamic=(), saves=None, saves_result=False,
                 saves_hidden=False, differentiable=True, view=None, returns=None, seq=False, inplace_ok=True,
                 library=False, opmath=False, large=None, tensors=None):
        self.fn = fn
        self.opmath = opmath
        self.name = self.__qualname__ = name
        params = list(inspect.signature(fn).parameters.values())
        self.names = [p.name for p in params]
        self.index = {n: i for i, n in enumerate(self.names)}
        self.defaults = [_REQUIRED if p.default is p.empty else p.default for p in params]
        self.dyn_idx = tuple(i for i, p in enumerate(params) if p.default is p.empty or p.name in dynamic)
        if self.dyn_idx != tuple(range(len(self.dyn_idx))):
            raise TypeError(f"{name}: dynamic parameters must come before static ones")
        self.static_idx = tuple(i for i in range(len(params)) if i not in self.dyn_idx)
        self.static_names = tuple(self.names[i] for i in self.static_idx)
        self.promote = promote  # None | "common" | "float" | "int_float" (float for ints too)
        names_dyn = [self.names[i] for i in self.dyn_idx]
        self.promote_pos = tuple(range(len(self.dyn_idx))) if promote_args is None else \
            tuple(names_dyn.index(n) for n in promote_args)
        # which dynamic positions' values the backward needs (torch's saved tensors: its in-place error, and the
        # inputs a double backward reaches, Node._saved_edges)
        # (a callable gets the requires-grad mask of the dynamic args and returns positions)
        self.saves = saves if saves is None or callable(saves) else tuple(names_dyn.index(n) for n in saves)
        self.saves_result, self.saves_hidden = saves_result, saves_hidden
        self.differentiable = differentiable
        self.view = view        # strides function for view ops, or None
        self.returns = returns  # namedtuple type for multi-output ops
        self.seq = seq          # first dynamic argument is a sequence of tensors
        self._jits = {}
        self._vjps = {}
        self.lazy = True  # may be recorded lazily (False: its function has Python side effects)
        # a large eager call on the CPU compiles with XLA's library kernels for elementwise ops
        # (see _large_kernel): set for the ops where they measured faster; "inplace": only for an
        # in-place call that donates its buffer
        self.library = library
        # large: (pays, fn): another function of the same arguments for large eager calls on the
        # CPU where pays(statics, avals) (see _large_alternative): a lowering XLA runs on both
        # cores where the op's own runs on one
        self.large = large
        if tensors is not None:
            self.tensors = tuple(tuple((names_dyn.index(n), n) for n in ((g,) if isinstance(g, str) else g))
                                 for g in tensors)
        self._plan()

    precheck = None  # f(*dynamic args before promotion): raises torch's error for operand dtypes it rejects
    # saves_result: torch's backward also reads the result, so writing it in place makes backward raise
    # (autograd.graph.record): True, "inplace" (only the in-place form's: ``elu_`` where ``elu`` reads its
    # input), a function of (dynamic args, statics) -> bool (``pow`` with a tensor exponent), or the positions of
    # the outputs it reads (``std_mean``: the std)
    saves_result = False
    # saves_seq: for an op over a list of tensors that saves it, (the tensors, the requires-grad flag of each,
    # statics) -> the positions of the ones torch keeps (None: all)
    saves_seq = None
    # saves_hidden: torch's backward reads values of its own, none the caller can write (indices, a composite's
    # intermediates): no version check for them, but the node is not linear (Node.release) and a double
    # backward reaches the inputs
    saves_hidden = False
    # selects: the backward reads the inputs only to choose where the cotangent goes (comparisons, orderings:
    # maximum, clamp, amax, cummax): torch's double backward has no edge to them (Node._saved_edges)
    selects = False
    # piecewise_linear: the backward is the cotangent times a piecewise constant of the inputs (abs, relu): a
    # double backward sends the inputs a structural zero (torch's ZeroTensor, autograd.graph._Zero)
    piecewise_linear = False
    # how many leading dynamic arguments get such a zero (set on piecewise-linear ops' VJP ops, and on sgn,
    # whose own gradient torch gives as a ZeroTensor for a real input)
    zero_grads = 0
    # tensors: the dynamic arguments torch's signature types as Tensor where a Python number raises TypeError
    # (checked where ``apply`` meets a number, so calls with tensors pay nothing): per entry, a name (that
    # argument must be a Tensor) or a tuple of names (one of them must be: torch's overloads that take a Number
    # in place of either, as special.zeta's); None: a number may stand for any tensor (add, mul, where, ...)
    tensors = None

    def _plan(self):
        """Precomputed for the fast call path (``__call__`` without keywords): dynamic params are
        the leading ones, the first ``_nreq`` required; the default statics as a ready cache key."""
        self._ndyn = len(self.dyn_idx)
        self._nreq = sum(1 for i in self.dyn_idx if self.defaults[i] is _REQUIRED)
        self._dyn_defaults = [self.defaults[i] for i in self.dyn_idx]
        sdef = tuple(self.defaults[i] for i in self.static_idx)
        self._sdef = sdef if all(type(v) in _PLAIN for v in sdef) else None
        self._spos = {n: k for k, n in enumerate(self.static_names)}  # static name -> position
        # per count of positional arguments n: the dynamic defaults that follow them
        self._pads = [tuple(self._dyn_defaults[n:]) for n in range(self._ndyn + 1)]

    @classmethod
    def raw(cls, fn, name, nargs, seq=False):
        """An op over ``nargs`` dynamic positional arguments, no statics."""
        op = cls.__new__(cls)
        op.__dict__.update(fn=fn, name=name, __qualname__=name, names=[f"a{i}" for i in range(nargs)], index={},
                           defaults=[_REQUIRED] * nargs, dyn_idx=tuple(range(nargs)), static_idx=(),
                           static_names=(), promote=None, promote_pos=(), saves=None, differentiable=True,
                           view=None, returns=None, seq=seq, _jits={}, _vjps={}, lazy=True, library=False)
        op._plan()
        return op

    def __repr__(self):
        return f"<op {self.name}>"

    @property
    def __name__(self):  # (what __torch_function__ implementations and fx read)
        return self.name

    def __get__(self, obj, cls=None):
        # bound as a Tensor method: t.op(...) == op(t, ...)
        return self if obj is None else types.MethodType(self, obj)

    # ---- binding torch-style calls ----
    def bind(self, args, kwargs):
        n = len(args)
        if n > len(self.names):
            raise TypeError(f"{self.name}() takes {len(self.names)} arguments but {n} were given")
        vals = list(args) + self.defaults[n:]
        if kwargs:
            for k, v in kwargs.items():
                i = self.index.get(k)
                if i is None:
                    i = self.index.get(numpy_target(k, kwargs))
                    if i is None or i < n or self.names[i] in kwargs:
                        raise TypeError(f"{self.name}() got an unexpected keyword argument '{k}'")
                vals[i] = v
        nd = self._ndyn  # dynamic parameters come first (checked in __init__)
        dyn = vals[:nd]
        if n < self._nreq or kwargs:
            for v in dyn:
                if v is _REQUIRED:
                    missing = [self.names[i] for i in self.dyn_idx if vals[i] is _REQUIRED]
                    raise TypeError(f"{self.name}() missing required argument: {missing[0]!r}")
        statics = tuple(vals[nd:])
        for v in statics:
            if type(v) not in _PLAIN:
                statics = tuple([_hashable(v) for v in statics])
                break
        return dyn, statics

    def __call__(self, *args, **kwargs):
        if TORCH_FUNCTION is True and TF.wants(args, kwargs):
            return TF.handle(self, args, kwargs)
        try:
            if not kwargs:
                # fast path: only dynamic arguments given, positionally; statics are the defaults
                n = len(args)
                if self._nreq <= n <= self._ndyn and self._sdef is not None:
                    dyn = [*args, *self._pads[n]]
                    if LAZY[0] is True and TRACE is None and AUTOCAST[0] is None and self.lazy and self.view is None:
                        res = _apply_lazy(self, dyn, self._sdef)
                        return res if res is not NotImplemented else _apply_eager(self, dyn, self._sdef)
                    return apply(self, dyn, self._sdef)
            elif len(args) == self._ndyn and self._sdef is not None:
                # fast path: all dynamic arguments positionally, statics by keyword (``_permute(x, dims=d)``)
                statics = list(self._sdef)
                spos = self._spos
                for k, v in kwargs.items():
                    i = spos.get(k)
                    if i is None:
                        break
                    statics[i] = v if type(v) in _PLAIN else _hashable(v)
                else:
                    return apply(self, list(args), tuple(statics))
            out = kwargs.pop("out", None) if kwargs else None
            dyn, statics = self.bind(args, kwargs)
            res = apply(self, dyn, statics)
            if out is not None:
                return _write_out(out, res, dyn)
            return res
        except TF.TensorLikeArgument as e:  # an argument with __torch_function__ met on the road (_torch_function.py)
            if TF.declines(e, args, kwargs):
                raise
        return TF.handle(self, args, kwargs, caught=True)  # (out of the except: no exception context kept)

    def call_raw(self, args):
        """``self(*args)`` for an in-place write (``Tensor._inplace``): the bare result value (jax
        array or Pending) when no autograd node is recorded, else the Tensor; None when the call
        is not the plain positional form (the caller then takes the general road)."""
        n = len(args)
        if self._nreq <= n <= self._ndyn and self._sdef is not None and self.view is None and not self.returns:
            dyn = [*args, *self._pads[n]]
            if LAZY[0] is True and self.lazy:  # (the caller checked TRACE)
                res = _apply_lazy(self, dyn, self._sdef, True)
                return res if res is not NotImplemented else _apply_eager(self, dyn, self._sdef, True)
            return apply(self, dyn, self._sdef, True)
        return None

    # ---- compiled callables ----
    def kernel(self, statics, dt):
        key = (statics, dt)
        f = self._jits.get(key)
        if f is None:
            if dt is D.complex32:  # a float16 tensor and a complex number: no jax complex32 (_chalf.py)
                from ._chalf import kernel
                return kernel(self, statics)
            f = self._jits[key] = jax.jit(self.pure(statics, dt))
        return f

    def pure(self, statics, dt, fn=None):
        """The op as a function of its dynamic arguments only (casting included); ``fn``: another
        function of the same arguments in place of the op's own (``large``)."""
        fn, kw = fn or self.fn, dict(zip(self.static_names, statics))
        ppos = self.promote_pos if dt is not None else ()
        npdt = dt.np if dt is not None else None
        seq = self.seq
        opmath = self.opmath
        precheck = self.precheck

        def run(*arrays):
            if precheck is not None:
                precheck(*arrays)
            arrays = list(arrays)
            for i in ppos:
                a = arrays[i]
                if a is None:
                    continue
                if seq and i == 0:
                    arrays[0] = tuple(jnp.asarray(x, npdt) for x in a)
                elif getattr(a, "dtype", None) == jnp.bool_ and npdt != jnp.bool_:
                    # via int8: XLA rewrites op(convert(pred), x) into a select, wrong for 0/0, 0*inf
                    arrays[i] = jnp.asarray(a, jnp.int8).astype(npdt)
                elif opmath and npdt is not None and npdt in _HALF and _is_weak(a):
                    arrays[i] = jnp.asarray(a, jnp.float32)  # a Python number is not rounded to half first
                else:
                    arrays[i] = jnp.asarray(a, npdt)
            if opmath:
                return _opmath(fn, arrays, kw, npdt)
            return fn(*arrays, **kw)
        run.__name__ = self.name  # (a jaxpr's jit equation names its op: _wide_tangents.py reads it)
        return run

    def vjp_op(self, statics, dt, diff, nout, bcast=()):
        """The backward of this op as an op itself: (*primals, *cotangents) -> grads of ``diff``
        (positions (i, j): dynamic argument i, element j of a sequence argument or None).
        ``bcast``: the outputs whose cotangent comes as a 0-dim value, broadcast in the program."""
        key = (statics, dt, diff, nout, bcast) if bcast else (statics, dt, diff, nout)
        op = self._vjps.get(key)
        if op is None:
            op = self._vjps[key] = _make_vjp_op(self, statics, dt, diff, len(self.dyn_idx), nout, bcast)
        return op


_HALF = (np.dtype(np.float16), np.dtype(D.bfloat16.np))


def _is_weak(a):
    """A Python number (or the weakly-typed scalar it is passed to jit as)."""
    return not hasattr(a, "dtype") or getattr(getattr(a, "aval", a), "weak_type", False)


def _opmath(fn, arrays, kw, npdt):
    """``fn`` on float32 where its result type (``npdt``, else the first half-precision argument's dtype) is
    float16/bfloat16, the float32 results rounded back once (see OpDef.opmath)."""
    half = npdt if npdt is not None and npdt in _HALF else next((a.dtype for a in arrays if getattr(a, "dtype", None) in _HALF and
                                            not _is_weak(a)), None)
    if half is None:
        return fn(*arrays, **kw)
    f32 = np.dtype(np.float32)
    up = [a.astype(f32) if getattr(a, "dtype", None) == half else
          tuple(x.astype(f32) if x.dtype == half else x for x in a) if isinstance(a, tuple) else a for a in arrays]
    out = fn(*up, **kw)
    return jax.tree_util.tree_map(lambda o: o.astype(half) if getattr(o, "dtype", None) == f32 else o, out)


def round_to(x, half):
    """float32 ``x`` rounded to the precision and range of the half type ``half``, kept in float32: one
    rounding per step where torch's CPU kernel computes a half type step by step (XLA's CPU backend may
    drop a float32 -> half -> float32 round trip between fused ops: excess precision is allowed)."""
    bits = (5, 10) if np.dtype(half) == np.float16 else (8, 7)
    r = jax.lax.reduce_precision(x, exponent_bits=bits[0], mantissa_bits=bits[1])
    if bits[0] == 5:  # reduce_precision flushes float16's subnormals (|x| < 2**-14, steps of 2**-24) to 0
        r = jnp.where(jnp.abs(x) < 2.0 ** -14, jnp.round(x * 2.0 ** 24) * 2.0 ** -24, r)
    return r


def _zeros_ct(o):
    if jnp.issubdtype(o.dtype, jnp.inexact):
        return jnp.zeros(o.shape, o.dtype)
    return np.zeros(o.shape, jax.dtypes.float0)


def _conj(x):
    return jnp.conj(x) if jnp.iscomplexobj(x) else x


def of_diff_args(fwd, primals, diff, seq):
    """``fwd`` as a function of the arguments at ``diff``'s positions ((i, None): argument i; (0, j):
    element j of a sequence op's first argument), the other ``primals`` fixed; and those arguments."""
    def f(*dps):
        full = list(primals)
        if seq:
            inner = list(full[0])
        for (i, j), v in zip(diff, dps):
            if j is None:
                full[i] = v
            else:
                inner[j] = v
        if seq:
            full[0] = tuple(inner)
        return fwd(*full)

    return f, [primals[i] if j is None else primals[i][j] for i, j in diff]


def _make_vjp_op(op, statics, dt, diff, nprimals, nout, bcast=()):
    fwd = op.pure(statics, dt)
    seq = op.seq

    def vjp(*flat):
        primals, cts = list(flat[:nprimals]), flat[nprimals:]
        f, args = of_diff_args(fwd, primals, diff, seq)
        out, pull = jax.vjp(f, *args)
        if bcast:  # (the engine passes a broadcast cotangent's 0-dim value: no 4 MB seed to read)
            cts = list(cts)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for k in bcast:
                cts[k] = jnp.broadcast_to(cts[k], outs[k].shape)
        # torch's complex gradients are the conjugates of JAX's cotangents: conj(vjp(conj(g)))
        if isinstance(out, (tuple, list)):
            cts = tuple(_zeros_ct(o) if c is None else _conj(c.astype(o.dtype)) for o, c in zip(out, cts))
        else:
            cts = _zeros_ct(out) if cts[0] is None else _conj(cts[0].astype(out.dtype))
        return tuple(_conj(g) for g in pull(cts))

    vop = OpDef.raw(vjp, op.name + "_backward", nprimals + nout, seq)
    vop.lazy = op.lazy
    if op.piecewise_linear:
        vop.zero_grads = nprimals
    vop.forward = (op, statics, diff, bcast)  # (where the Python dispatch level shows torch's formula: _dispatch_road)
    return vop


_NUMBERS = (int, float, complex, np.number, np.bool_, _SymNumber)  # (bool is an int)


def check_tensors(name, spec, args):
    """torch's TypeError where a Python number stands for an argument its signature types as Tensor.
    ``spec``: groups of (position, name) in ``args``, one of each group must not be a number (see
    ``OpDef.tensors``)."""
    for group in spec:
        for i, _ in group:
            if i >= len(args) or not isinstance(args[i], _NUMBERS):
                break
        else:
            name = name.lstrip("_")
            if len(group) == 1:
                i, arg = group[0]
                raise TypeError(f"{name}(): argument '{arg}' (position {i + 1}) must be Tensor, not "
                                f"{type(args[i]).__name__}")
            got = ", ".join(type(a).__name__ for a in args if a is not None)
            raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected "
                            f"one of {', '.join(repr(n) for _, n in group)} to be a Tensor")


# ---------------------------------------------------------------- promotion
_PROMOTIONS = {}


def promote_dtype(op, dyn, arrays):
    """torch's result dtype for ``op``'s promoting arguments, memoised on their
    (dtype, is-0-dim) / Python scalar type signature (the common case is one dict hit)."""
    key = [op.promote, D._default[0]]
    T = Tensor
    for i in op.promote_pos:
        a = dyn[i]
        if a is None:
            continue
        if isinstance(a, T):
            sig = a._sig
            if sig is None:
                v = arrays[i]
                sig = a._sig = (v.dtype, v.ndim == 0)
            key.append(sig)
            continue
        if isinstance(a, _SymNumber):  # promotes as the Python number it stands for
            key.append(_sym_type(a))
            continue
        a = arrays[i]
        if op.seq and i == 0 and isinstance(a, tuple):
            for x in a:
                key.append((x.dtype, x.ndim == 0))
        elif hasattr(a, "ndim"):
            key.append((a.dtype, a.ndim == 0))
        else:
            key.append(type(a))
    key = tuple(key)
    dt = _PROMOTIONS.get(key)
    if dt is None:
        dt = _PROMOTIONS[key] = _compute_promotion(key)
    return dt


def _compute_promotion(key):
    dims, zeros, scalars = [], [], []
    for k in key[2:]:
        if isinstance(k, tuple):
            (zeros if k[1] else dims).append(D.from_numpy_dtype(k[0]))
        else:
            scalars.append(D.scalar_dtype(k(0) if k is not bool else False))
    dt = D.result_type_of(dims, zeros, scalars)
    if dt is None:
        dt = D.get_default_dtype()
    if key[0] == "float" and dt._cat < D._FLOAT:
        dt = D.get_default_dtype()
    return dt


# ---------------------------------------------------------------- the road
def _record(*args):
    # autograd.graph imports this module: bind its ``record`` on first use (a function-level
    # import on every recorded op costs about a microsecond)
    global _record
    from .autograd.graph import record
    _record = record
    return record(*args)


def _relayout(*args):
    global _relayout
    from ._memfmt import relayout
    _relayout = relayout
    return relayout(*args)


def apply(op, dyn, statics, raw=False):
    """Run ``op`` eagerly on dynamic args ``dyn`` (Tensors, numbers, None, or a
    sequence of Tensors for seq ops), record autograd, wrap results. ``raw`` (single-output ops,
    for in-place writes): return the bare jax array or Pending when no autograd node is recorded."""
    if op.view is not None:
        try:
            return _apply_view(op, dyn, statics)
        except SparseArgument as e:
            return e.route(op, dyn, statics)
    if STOP_GRADIENT[0] is not None:  # (a view op's check is _apply_view's)
        return STOP_GRADIENT[0](op, dyn, statics, raw)
    if AUTOCAST[0] is not None:
        dyn = AUTOCAST[0](op, dyn)
    if LAZY[0] and TRACE is None and op.lazy:
        res = _apply_lazy(op, dyn, statics, raw)
        if res is not NotImplemented:
            return res
    return _apply_eager(op, dyn, statics, raw)


def _apply_eager(op, dyn, statics, raw=False):
    """``apply`` without lazy batching: one call of the op's cached jitted kernel."""
    T = Tensor
    arrays = []
    needs_grad = False
    scalars = False
    plain = TRACE is None  # outside jtorch.compile a base tensor's value is its storage's array
    laid = False  # an input is a view or its storage has a memory format: its strides may lay the result (_memfmt.py)
    try:
        for a in dyn:
            t = type(a)
            # (a plain Tensor is known by its type; another Tensor may be a subclass that dispatches)
            if t is T or isinstance(a, T) and (OVERLOADS.get(t) is False or TF.subclass_met(a)):
                st = a._st
                if st.layout is not None or a._vfn:
                    laid = True
                arrays.append(st.array if plain and not a._vfn and st.host is None else a._value)
                if a._requires_grad or (a._base is not None and a.requires_grad):
                    needs_grad = True
            elif op.seq and isinstance(a, (list, tuple)):
                arrays.append(tuple(_as_array(t) for t in a))
                if any(isinstance(t, T) and t.requires_grad for t in a):
                    needs_grad = True
                if any(isinstance(t, T) and (t._st.layout is not None or t._vfn) for t in a):
                    laid = True
            else:
                if t is Pending:  # a saved autograd value handed back raw (a VJP's primal)
                    a = a.get()
                    t = type(a)
                elif isinstance(a, _SymNumber):  # a Python number traced by jtorch.compile: its jax value
                    a = a.node
                    t = type(a)
                arrays.append(a)
                if t is float or t is int:
                    scalars = True
                elif a is not None and t is not CONCRETE:
                    if op.tensors is not None and isinstance(a, _NUMBERS):
                        check_tensors(op.name, op.tensors, dyn)
                    if TF.overloads(t):
                        raise TF.TensorLikeArgument()  # a tensor-like: its public entry dispatches
                    if t is ChalfArray:  # a complex32 primal handed to a VJP (a float16 view's)
                        raise ChalfArgument()
    except SparseArgument as e:
        return e.route(op, dyn, statics)
    if scalars and op.tensors is not None:
        check_tensors(op.name, op.tensors, dyn)
    if not plain and CUT[0] is not None:
        arrays = CUT[0].inputs(op, dyn, arrays)
    dt = promote_dtype(op, dyn, arrays) if op.promote else None
    kernel = op._jits.get((statics, dt)) or op.kernel(statics, dt)
    if (raw or op.library or op.large is not None) and plain:
        # (an in-place call that records autograd saves its inputs: nothing to donate)
        kernel = _large_kernel(op, statics, dt, dyn, arrays,
                               raw and not (needs_grad and GRAD.enabled and op.differentiable)) or kernel
    try:
        out = kernel(*(_device_scalars(arrays) if scalars and plain and _SCALAR_CACHE_ON[0] is not False else arrays))
    except (TypeError, ValueError) as e:
        # a tensor on one device meeting tensors spread over a mesh with that device first
        # (DataParallel's replicated state): same torch device, so it joins the mesh
        from ._spmd import align
        moved = align(arrays, e)
        if moved is None:
            raise _translate_error(op, e, dyn) from None
        arrays = moved
        out = kernel(*arrays)
    if type(out) is tuple or isinstance(out, list):
        res = _wrap_outputs(op, out)
    elif raw and not (needs_grad and GRAD.enabled and op.differentiable):
        return out
    else:
        res = T._wrap(out)
    if laid and op.layout is not None:
        res = _relayout(op, dyn, statics, res)
    if needs_grad and GRAD.enabled and op.differentiable:
        _record(op, statics, dt, dyn, arrays, res)
    elif needs_grad and TRANSFORMS.depth:  # (inside vmap an unbatched op records as torch's: func.py)
        _record_inside(op, statics, dt, dyn, arrays, res)
    return res


def _record_inside(*args):
    global _record_inside
    from .func import record_inside_vmap
    _record_inside = record_inside_vmap
    return record_inside_vmap(*args)


# ---------------------------------------------------------------- large eager ops (issue #2)
LARGE = 1 << 16  # elements: an eager op on an input this large may take a kernel of _large_kernel
# XLA CPU's library (YNNPACK) kernels for elementwise fusions: per thread 15-70% faster than XLA's
# own loops for exp, expm1, log, log1p, rsqrt, but slower for sqrt, tanh, sigmoid, erf and exact gelu
# (18x), so only ops declared ``library=True`` use them; plain arithmetic (``library="inplace"``) only
# where an in-place call donates its buffer: out of place, and with a scalar operand, XLA's own loop
# costs less CPU on two cores (docs/internals.md, "Large eager ops", second and fourth rounds).
# Reductions and dots use the library by default already.
_LIBRARY_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type":
                    "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_ELTWISE"}
_ON_CPU = []  # [bool]: the default backend is the CPU (checked on first use)
_SIZES = {}  # aval -> its number of elements
_DONATABLE = {}  # (op, statics, dt, argument avals) -> the result's aval equals the first argument's
_ARG_REFS = 4  # references to a donatable array here: its storage, ``arrays``, a local, getrefcount's


def _library_options_known():
    """Whether this jaxlib's XLA knows the (experimental) library-fusion option: an older or newer
    one may not, and then the ordinary kernels are used."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=_LIBRARY_OPTIONS).lower(np.float32(1)).compile()
        return True
    except Exception:
        return False


def _large_kernel(op, statics, dt, dyn, arrays, raw):
    """The kernel for a large eager call, or None for the op's ordinary one. ``raw`` (an in-place
    op writing into its first argument's storage): when nothing but that storage holds the array,
    it is donated, so XLA writes the result into the same (cache-warm) buffer instead of a fresh
    one: 30-40% faster for a 4 MB ``add_`` on the CPU. ``op.library`` on the CPU: compiled with
    XLA's library elementwise kernels. ``op.large``: see _large_alternative."""
    if op.large is not None:
        return _large_alternative(op, statics, dt, arrays)
    a0 = arrays[0]
    if type(a0) is not CONCRETE:
        return None
    av = a0.aval  # an attribute (the array's ``size`` is a ~0.5 us property): its size, cached
    n = _SIZES.get(av)
    if n is None:
        n = _SIZES[av] = av.size
    if n < LARGE:
        return None
    donate = False
    if raw and not op.seq:
        t = dyn[0]
        st = t._st if isinstance(t, Tensor) else None
        if st is not None and not t._vfn and st.host is None and st._arr is a0 and \
                sys.getrefcount(a0) <= _ARG_REFS:
            key = (op, statics, dt, *[getattr(a, "aval", type(a)) for a in arrays])
            ok = _DONATABLE.get(key)
            if ok is None:
                # donating needs a result of the argument's shape and dtype (an in-place op whose
                # promoted result is wider is cast back afterwards: no donation)
                out = jax.eval_shape(op.kernel(statics, dt), *arrays)
                ok = _DONATABLE[key] = (getattr(out, "shape", None) == a0.shape and
                                        getattr(out, "dtype", None) == a0.dtype)
            donate = ok
    library = False
    ad = av.dtype
    if op.library and (donate or op.library is True) and (ad == np.float32 or ad == np.float64):
        if not _ON_CPU:
            _ON_CPU.append(jax.default_backend() == "cpu" and _library_options_known())
        # float32/float64 arrays of one dtype (measured; no integer or mixed-dtype conversions), none
        # of them a scalar: with a Python number or 0-dim operand (``x * 2.5``, ``x.mul_(0.9)``) XLA's
        # own loop costs less CPU on two cores (docs/internals.md, "Large eager ops, fourth round")
        library = _ON_CPU[0] and (dt is None or dt.np == ad) and all(
            a is None or (type(a) is CONCRETE and a.aval.dtype == ad and a.aval.shape) for a in arrays)
    if not (donate or library):
        return None
    key = (statics, dt, donate, library)
    f = op._jits.get(key)
    if f is None:
        f = op._jits[key] = jax.jit(op.pure(statics, dt), donate_argnums=(0,) if donate else (),
                                    compiler_options=_LIBRARY_OPTIONS if library else None)
    return f


def _large_alternative(op, statics, dt, arrays):
    """The kernel of ``op.large`` = (pays, fn) (compiled beside the ordinary one) for an eager call
    on the CPU where ``pays(statics, avals)`` (the avals of the array arguments, a sequence
    argument's elements flattened) says that fn's lowering is the faster; None otherwise, and for
    tracers, arrays spread over a mesh and other backends. Cached per signature."""
    avals = []
    for a in arrays:
        if type(a) is tuple:
            for x in a:
                if type(x) is not CONCRETE:
                    return None  # a tracer or anything else: the ordinary kernel
                avals.append(x.aval)
        elif type(a) is CONCRETE:
            avals.append(a.aval)
        elif a is not None and type(a) not in _SCALAR_TYPES:
            return None
    key = (op, statics, dt, *avals)
    ok = _LARGE_PAYS.get(key)
    if ok is None:
        if not _CPU_BACKEND:
            _CPU_BACKEND.append(jax.default_backend() == "cpu")
        if len(_LARGE_PAYS) > 4096:  # (a loop over ever new shapes)
            _LARGE_PAYS.clear()
        ok = _LARGE_PAYS[key] = _CPU_BACKEND[0] and sum(av.size for av in avals) >= LARGE and \
            bool(op.large[0](statics, avals))
    if not ok:
        return None
    for a in arrays:  # (large calls only) arrays spread over a mesh keep the ordinary kernel's sharding rules
        for x in (a if type(a) is tuple else (a,)):
            if type(x) is CONCRETE and type(x.sharding) is not _SingleDevice:
                return None
    key = ("large", statics, dt)
    f = op._jits.get(key)
    if f is None:
        f = op._jits[key] = jax.jit(op.pure(statics, dt, op.large[1]))
    return f


_LARGE_PAYS = {}  # (op, statics, dt, argument avals...) -> whether op.large's lowering is taken
_CPU_BACKEND = []  # [bool]: the default backend is the CPU (checked on first use)
_SingleDevice = jax.sharding.SingleDeviceSharding


# ---------------------------------------------------------------- lazy batching (_lazy.py)
_SHAPES = {}  # (op, statics, dt, input avals...) -> ([(shape, dtype)], multi) or False (not batchable)
_SCALAR_TYPES = (float, int, bool)


def _apply_lazy(op, dyn, statics, raw=False):
    """``apply`` with lazy batching on: record the op in the current segment and return tensors
    over Pending values (``raw``: the Pending itself when no autograd node is recorded).
    NotImplemented when an argument is something the segment does not carry (a tracer, a numpy
    array, a host-shared storage...): ``apply`` then runs the op eagerly."""
    if LAZY[0] is not True and not _lazy.confirm():  # requested at import: check the backend once
        return NotImplemented
    if _get_ident() != _lazy.OWNER[0]:
        return NotImplemented
    T = Tensor
    wires, arrays, exts = [], [], []
    sig = [op, statics, D._default[0]]  # with the input avals: keys the result avals, dtype, kernel
    needs_grad = False
    seqlen = -1
    seg = _lazy._CUR[0]
    laid = False
    for a in dyn:
        t = type(a)
        # (a subclass instance with __torch_dispatch__: lazy_met is False, the value no input: eager routes it)
        if t is T or isinstance(a, T) and (OVERLOADS.get(t) is False or TF.lazy_met(a)):
            st = a._st
            if st.host is not None:
                return NotImplemented
            if st.layout is not None or a._vfn:
                laid = True
            v = a._lazy_value() if a._vfn else st._arr
            if a._requires_grad or (a._base is not None and a.requires_grad):
                needs_grad = True
            arrays.append(v)
            t = type(v)
            if t is Pending:
                if v.value is None:
                    if v.seg is seg:  # an earlier node's output: a wire, no argument
                        wires.append(v.wire)
                        sig.append(v.av)
                        continue
                    v = v.get()
                else:
                    v = v.value
                t = type(v)
            if t is CONCRETE:
                sig.append(v.aval)  # interned by jax: hashes and compares fast
            else:
                return NotImplemented  # a tracer (jax transform around eager code)
            wires.append(v)  # an external argument: replaced by its index below, once recorded
            exts.append(len(wires) - 1)
        elif op.seq and seqlen < 0 and not wires and isinstance(a, (list, tuple)):
            vs = []
            for t in a:
                if type(t) is not T:
                    if not isinstance(t, T):
                        vs.append(t)  # raw arrays (a seq op's VJP gets its saved primals)
                        continue
                    if OVERLOADS.get(type(t)) is not False and not TF.lazy_met(t):
                        return NotImplemented
                if t._st.host is not None:
                    return NotImplemented
                if t._st.layout is not None or t._vfn:
                    laid = True
                vs.append(t._lazy_value() if t._vfn else t._st._arr)
                if t._requires_grad or (t._base is not None and t.requires_grad):
                    needs_grad = True
            seqlen = len(vs)
            arrays.append(tuple(vs))
            for v in vs:
                t = type(v)
                if t is Pending and v.value is None and v.seg is seg:
                    wires.append(v.wire)
                    sig.append(v.av)
                elif t is CONCRETE:
                    sig.append(v.aval)
                    wires.append(v)
                    exts.append(len(wires) - 1)
                elif _lazy_input(v, seg, wires, sig, exts) is NotImplemented:
                    return NotImplemented
        else:
            arrays.append(a)
            if t is int or t is float:  # a Python number: an argument of the segment
                if op.tensors is not None:
                    check_tensors(op.name, op.tensors, dyn)
                sig.append(t)
                wires.append(a)
                exts.append(len(wires) - 1)
            elif a is None:
                wires.append(None)
                sig.append(None)
            else:
                if op.tensors is not None and isinstance(a, _NUMBERS):  # (a bool, a NumPy scalar)
                    check_tensors(op.name, op.tensors, dyn)
                if _lazy_input(a, seg, wires, sig, exts) is NotImplemented:
                    return NotImplemented
    key = tuple(sig)
    meta = _SHAPES.get(key)
    if meta is None:
        meta = _lazy_shapes(op, dyn, statics, arrays, key, seqlen)
    if meta is False:
        return NotImplemented  # not batchable, or too large to gain (run eagerly)
    if seg is not _lazy._CUR[0]:
        return NotImplemented  # reading an argument ran the segment: the wires built so far are stale
    if exts:
        extpos = seg.extpos
        for i in exts:  # external arguments join the segment (deduplicated by identity)
            v = wires[i]
            k = extpos.get(id(v))
            if k is None:
                ext = seg.ext
                k = extpos[id(v)] = len(ext)
                ext.append(v)
            wires[i] = k
    if meta.multi:
        outs = _lazy.add(meta, tuple(wires), seqlen)
        wrap = T._wrap_untraced
        res = tuple([wrap(p) for p in outs])
        if op.returns:
            res = op.returns(*res)
    else:
        # _lazy.add and Tensor._wrap_untraced for one output, inlined: this is the hot path
        nodes = seg.nodes
        pos = len(nodes)
        nodes.append((meta, tuple(wires), seqlen))
        p = _new(Pending)
        p.seg = seg
        p.value = None
        p.av = av = meta.av0
        p.shape, p.dtype = av
        w = _lazy._W0
        p.wire = w[pos] if pos < len(w) else _lazy.wire0(pos)
        seg.outs.append(_weakref(p))
        if pos + 1 >= _lazy.MAX_OPS:
            _lazy.flush()
        if raw and not (needs_grad and GRAD.enabled and op.differentiable):
            return p
        st = _new(_Storage)
        st._arr = p
        st.version = 0
        st.host = None
        st.alias = False
        st.shadow = None
        res = _new(T)
        res._st = st
        res._vfn = ()
        res._val = None
        res._valver = 0
        res._strides = None
        res._base = None
        res._avfn = ()
        res._gver = 0
        res._gver_seen = 0
        res._requires_grad = False
        res._grad_fn = None
        res._out_idx = 0
        res._grad = None
        res._accumulator = None
        res._retains = False
        res._sig = None
        res._meta = None
    if laid and op.layout is not None:
        res = _relayout(op, dyn, statics, res)
    if needs_grad and GRAD.enabled and op.differentiable:
        _record(op, statics, meta.dt, dyn, arrays, res)
    return res


def _lazy_input(v, seg, wires, sig, exts):
    """One input value of a lazily recorded op that is not a Tensor: a raw array or Pending (a seq
    op's element, a VJP's saved primal), a Python number or None."""
    t = type(v)
    if t is Pending:
        if v.value is None:
            if v.seg is seg:
                wires.append(v.wire)
                sig.append(v.av)
                return None
            v = v.get()
        else:
            v = v.value
        t = type(v)
    if t is CONCRETE:
        sig.append(v.aval)
    elif t is float or t is int or t is bool:
        sig.append(t)
    elif v is None:
        wires.append(None)
        sig.append(None)
        return None
    else:
        return NotImplemented
    wires.append(v)  # an external argument: replaced by its index once recorded
    exts.append(len(wires) - 1)
    return None


def _lazy_shapes(op, dyn, statics, arrays, key, seqlen):
    """The ``_lazy.Meta`` (output avals, multi-output, promoted dtype, kernel) of a lazily recorded
    op: the avals from ``jax.eval_shape`` of its kernel (which also warms the kernel's trace cache).
    Shape/dtype errors raise here, at the op, as the eager call would. Cached on the op and input
    avals; False for an op that runs eagerly."""
    dt = promote_dtype(op, dyn, arrays) if op.promote else None
    if dt is D.complex32:
        return False  # its kernel makes a _chalf.ChalfArray, not a jax value: run eagerly
    kernel = op.kernel(statics, dt)
    args = []
    for v in arrays:
        if seqlen >= 0 and not args:
            args.append(tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in v))
        else:
            args.append(jax.ShapeDtypeStruct(v.shape, v.dtype) if hasattr(v, "shape") else v)
    try:
        out = jax.eval_shape(kernel, *args)
    except (TypeError, ValueError) as e:
        raise _translate_error(op, e, dyn) from None
    if isinstance(out, jax.ShapeDtypeStruct):
        meta = _lazy.Meta([(tuple(out.shape), out.dtype)], False, dt, kernel)
        outs = [out]
    elif isinstance(out, (tuple, list)) and all(isinstance(o, jax.ShapeDtypeStruct) for o in out):
        meta = _lazy.Meta([(tuple(o.shape), o.dtype) for o in out], True, dt, kernel)
        outs = out
    else:
        meta, outs = False, []
    sizes = [o.size for o in outs] + [a.size for a in jax.tree_util.tree_leaves(args) if hasattr(a, "size")]
    if sizes and max(sizes) > _lazy.MAX_SIZE:
        meta = False  # a large op: eager (see _lazy.MAX_SIZE)
    if len(_SHAPES) > 16384:
        _SHAPES.clear()
    _SHAPES[key] = meta
    return meta


def lazy_here(shape=None):
    """Whether this thread records ops lazily now (for a value of ``shape``: if small enough)."""
    return LAZY[0] is True and TRACE is None and _get_ident() == _lazy.OWNER[0] and (
        shape is None or math.prod(shape) <= _lazy.MAX_SIZE)


def lazy_chain(vfn, root, meta):
    """A view's value read lazily: its chain applied to the (possibly pending) root, as a node."""
    structure = chain_structure(vfn)
    f = _CHAINS.get(structure)
    if f is None:
        f = _CHAINS[structure] = jax.jit(lambda a, args: apply_chain(a, structure, args))
    return _lazy_node(("chain", structure), f, [root, chain_args(vfn)], [meta])


def lazy_scatter(vfn, root, new):
    """An in-place write through a view, recorded lazily: the root with the view's elements replaced."""
    structure = chain_structure(vfn)
    f = _SCATTERS.get(structure)
    if f is None:
        f = _SCATTERS[structure] = jax.jit(lambda r, n, args: scatter_into(r, n, structure, args))
    return _lazy_node(("scatter", structure), f, [root, new, chain_args(vfn)], [(root.shape, root.dtype)])


def lazy_node(tag, kernel, vals, avals, multi=False):
    """Record ``kernel(*vals)`` (arrays, Pendings or static tuples) in the current segment: returns
    its Pending output (a list when ``multi``) with shapes/dtypes ``avals``; ``tag`` and the input
    shapes key it."""
    return _lazy_node(tag, kernel, vals, avals, multi)


def _lazy_node(tag, kernel, vals, avals, multi=False):
    seg = _lazy._CUR[0]
    wires, sig = [], [tag]
    for v in vals:
        if type(v) is Pending:
            if v.value is None and v.seg is seg:
                wires.append(v.wire)
                sig.append(v.av)
                continue
            v = v.get()
        sig.append((v.shape, v.dtype) if hasattr(v, "shape") else None)
        k = seg.extpos.get(id(v))
        if k is None:
            k = seg.extpos[id(v)] = len(seg.ext)
            seg.ext.append(v)
        wires.append(k)
    key = tuple(sig) + tuple(avals)
    meta = _NODE_METAS.get(key)
    if meta is None:
        if len(_NODE_METAS) > 16384:
            _NODE_METAS.clear()
        meta = _NODE_METAS[key] = _lazy.Meta([(tuple(s), d) for s, d in avals], multi, None, kernel)
    return _lazy.add(meta, tuple(wires), -1)


_NODE_METAS = {}  # view chain / scatter node keys -> their interned _lazy.Meta


# Python numbers reach jit as weakly-typed traced arguments (no recompile per value), but jit
# converts each one to a device buffer on every call (about 3 us on a CPU; about 90 us per number on
# an H100 machine, ``python -m bench.dispatch_cost --device cuda``). The same weakly-typed buffer,
# made once per value with ``device_put`` and reused, hits the same compiled program and skips that
# conversion. On a single-device CPU backend the buffer is uncommitted; elsewhere (a GPU) it is
# committed to the device of the op's tensors (an uncommitted one would be copied there at every
# call), and numbers meeting tensors spread over several devices are left to jit. Not for NaN (keyed
# by equality: NaN != NaN) nor for large ints (left to jit's own overflow check).
_SCALARS = {}
_SCALAR_CACHE_ON = [None]  # None: not known yet; "cpu": one CPU device; "device": per tensor device


def _device_scalars(arrays):
    on = _SCALAR_CACHE_ON[0]
    if on is None:
        on = _SCALAR_CACHE_ON[0] = "cpu" if jax.default_backend() == "cpu" and len(jax.devices()) == 1 else "device"
    if on is False:
        return arrays
    dev = None
    if on == "device":
        for a in arrays:
            sh = getattr(a, "sharding", None)
            if sh is not None:
                dev = getattr(sh, "_device", None) if type(sh) is _SingleDevice and a.committed else None
                if dev is None:
                    return arrays
                break
        else:
            return arrays
    out = []
    for a in arrays:
        t = type(a)
        if (t is float or t is int) and a == a and -2147483648 <= a <= 2147483647:
            key = (t, a, dev) if a else (t, repr(a), dev)  # 0.0 == -0.0: told apart by their text
            b = _SCALARS.get(key)
            if b is None:
                if len(_SCALARS) > 4096:
                    _SCALARS.clear()
                b = _SCALARS[key] = jax.device_put(a, dev)
            a = b
        out.append(a)
    return out


def _translate_error(op, e, dyn):
    """JAX's shape/dtype errors become torch's RuntimeError with torch's wording where known."""
    msg = str(e)
    for a in dyn:
        if getattr(type(a), "_fx_proxy", False):
            return TypeError(f"{op.name}() got a torch.fx Proxy ({a!r}): while tracing, jtorch records the torch "
                             "functions the traced code looks up at call time (torch.relu, F.relu, names it imported, "
                             "its closure); call it that way, or register the function with torch.fx.wrap")
    if isinstance(e, TypeError) and "abstract array" in msg:
        # an argument that is no tensor and no number (a torch.Size, a string...): torch's TypeError
        for i, a in enumerate(dyn):
            if not isinstance(a, (Tensor, int, float, complex, bool, type(None), Pending, list, tuple)) \
                    or type(a).__name__ == "Size":
                name = op.names[op.dyn_idx[i]] if i < len(op.dyn_idx) else f"arg{i}"
                return TypeError(f"{op.name.strip('_')}(): argument '{name}' (position {i + 1}) must be Tensor, "
                                 f"not {'torch.Size' if type(a).__name__ == 'Size' else type(a).__name__}")
    if "broadcast" in msg or "incompatible shapes" in msg:
        shapes = [tuple(a.shape) for a in dyn if hasattr(a, "shape")]
        if len(shapes) >= 2:
            a, b = shapes[0], shapes[1]
            for k in range(1, max(len(a), len(b)) + 1):
                x = a[-k] if k <= len(a) else 1
                y = b[-k] if k <= len(b) else 1
                if x != y and x != 1 and y != 1:
                    return RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                                        f"non-singleton dimension {max(len(a), len(b)) - k}")
    return RuntimeError(f"{op.name}: {msg}")


def _as_array(t):
    if type(t) is Tensor:
        return t._value
    if isinstance(t, Tensor):
        if OVERLOADS.get(type(t)) is not False:
            TF.subclass_met(t)
        return t._value
    if type(t) is MetaArray:  # a seq op's saved meta primal (its VJP): routed like a meta tensor
        raise MetaArgument()
    if type(t) is Pending:
        return t.get()
    if TF.overloads(type(t)):  # a tensor-like in a tensor list (torch.cat([obj]))
        raise TF.TensorLikeArgument()
    return jnp.asarray(t)


def _wrap_outputs(op, out):
    wrap = Tensor._wrap
    if isinstance(out, (tuple, list)):
        res = tuple(wrap(o) for o in out)
        return op.returns(*res) if op.returns else res
    return wrap(out)


_VIEW_META = {}
_new = object.__new__
_weakref = weakref.ref
_Storage = None  # set by tensor.py


def _apply_view(op, dyn, statics):
    """A view op: the result shares the source's storage and its value is computed lazily,
    from the root through the whole view chain, when first read (so chains of views cost one
    program and a view that is only inspected costs none). Shape and dtype come from a cached
    abstract evaluation."""
    if STOP_GRADIENT[0] is not None:
        return STOP_GRADIENT[0](op, dyn, statics, False)
    src = dyn[0]
    if type(src) is not Tensor and OVERLOADS.get(type(src)) is not False:
        TF.subclass_met(src)  # (a tensor-like raises below)
    try:
        src_shape, src_dtype = src._shape_dtype()
    except AttributeError:
        if TF.overloads(type(src)):  # a tensor-like: its public entry dispatches
            raise TF.TensorLikeArgument() from None
        raise
    if len(dyn) == 2:  # extra dynamic args of view ops are Python numbers (or tuples of them)
        e = dyn[1]
        extra = (e,)
        key = (op, statics, src_shape, src_dtype, len(e) if type(e) is tuple else 0)
    elif len(dyn) > 2:
        extra = tuple(dyn[1:])
        key = (op, statics, src_shape, src_dtype, tuple(len(e) if isinstance(e, tuple) else 0 for e in extra))
    else:
        extra = ()
        key = (op, statics, src_shape, src_dtype)
    meta = _VIEW_META.get(key)
    if meta is None:
        try:
            if src_dtype == D.complex32.np:  # no jax complex32: the complex64 equivalent's shape
                from ._chalf import view_meta
                meta = _VIEW_META[key] = view_meta(op, statics, src_shape, extra)
            else:
                out = jax.eval_shape(op.pure(statics, None), jax.ShapeDtypeStruct(src_shape, src_dtype), *extra)
                meta = _VIEW_META[key] = (tuple(out.shape), out.dtype)
        except (TypeError, ValueError) as e:
            raise _translate_error(op, e, dyn) from None
    link = (op, statics, extra)
    t = object.__new__(Tensor)
    t._st = src._st
    t._vfn = src._vfn + (link,)
    t._val = None
    t._valver = 0
    t._meta = meta
    base = src._base
    if base is None:
        t._base = src
        t._avfn = (link,)
        t._gver_seen = src._gver
    else:
        t._base = base
        t._avfn = src._avfn + (link,)
        t._gver_seen = base._gver
    if src._vc is not None:  # (a view of a ``.data`` alias shares its version counter)
        t._vc = src._vc
    if not GRAD.enabled:  # (torch forbids writes through it with grad mode on: Tensor._check_inplace)
        t._cm = NO_GRAD_VIEW
    elif src._cm is not None:
        t._cm, t._cmv = src._cm, src._st.version
    ls = t._strides = _new(LazyStrides)
    ls.op, ls.statics, ls.shape, ls.src, ls.value = op, statics, src_shape, src._strides, None
    t._gver = 0
    t._requires_grad = False
    t._grad_fn = None
    t._out_idx = 0
    t._grad = None
    t._accumulator = None
    t._retains = False
    t._sig = None
    if GRAD.enabled and op.differentiable and (src._requires_grad or (src._base is not None and src.requires_grad)):
        _record(op, statics, None, dyn, [src._lazy_value(), *extra], t)
    elif TRANSFORMS.depth and (src._requires_grad or src._base is not None and src._base._requires_grad):
        _record_inside(op, statics, None, dyn, [src._lazy_value(), *extra], t)
    return t


class LazyStrides:
    """A view's strides, computed from its source's only when asked (stride(), is_contiguous())."""
    __slots__ = ("op", "statics", "shape", "src", "value")

    def __init__(self, op, statics, shape, src):
        self.op, self.statics, self.shape, self.src, self.value = op, statics, shape, src, None

    def get(self):
        if self.value is None:
            src = self.src
            if type(src) is LazyStrides:
                src = src.get()
            key = (self.op, self.statics, self.shape, src)
            v = _STRIDES.get(key)
            if v is None:
                shape = tuple(self.shape)
                v = self.op.view(shape, contiguous_strides(shape) if src is None else src, *self.statics)
                if len(_STRIDES) > 16384:
                    _STRIDES.clear()
                _STRIDES[key] = v
            self.value = v
            self.src = None
        return self.value


_STRIDES = {}  # (view op, statics, source shape, source strides or None) -> the view's strides


def _write_out(out, res, inputs=(), any_overlap=False, same_dtype=False, resize_warning=True):
    """``res`` written into torch's ``out=`` tensor(s), after torch's checks: ``out`` may not hold one element
    twice (an expand), nor share elements with one of ``inputs`` (the tensors the op read; ``any_overlap``
    False: sharing them all in the same places is allowed, as for elementwise ops); ``same_dtype``: ``out``'s
    dtype must be the result's (the ops that do not cast); ``resize_warning``: torch's warning when an ``out`` with
    elements is resized (its factories and random ops resize silently)."""
    if isinstance(res, (tuple, list)):
        if not isinstance(out, (tuple, list)) or len(out) != len(res) or not all(isinstance(o, Tensor) for o in out):
            raise TypeError(f"argument 'out' must be a tuple of {len(res)} Tensors, not {type(out).__name__}")
    elif not isinstance(out, Tensor):
        raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
    if isinstance(out, (tuple, list)):
        for o, r in zip(out, res):
            _write_out(o, r, inputs, any_overlap, same_dtype, resize_warning)
        # (torch returns its named tuple's out form; the result's named tuple here)
        return type(res)(*out) if hasattr(res, "_fields") else out
    _check_out(out, res, inputs, any_overlap, same_dtype)
    if out.shape != res.shape:
        if resize_warning and out.numel() != 0:
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                          f"which does not match the required output shape {list(res.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they "
                          "have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, "
                          "to zero elements with t.resize_(0).", UserWarning, stacklevel=3)
        out._set_array(res._value.astype(out.dtype.np))
        from ._memfmt import restride_resized
        restride_resized(out, res)  # (torch restrides a resized out= tensor as the result)
    else:
        out.copy_(res)
    return out


_INPUT_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
                  "single memory location. Please clone() the tensor before performing the operation.")


def _check_out(out, res, inputs, any_overlap, same_dtype):
    from .tensor import _internal_overlap, overlap_error, _dense_range
    if same_dtype and out.dtype is not res.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {D.cpp_type_name(res.dtype)}, but got "
                           f"{D.cpp_type_name(out.dtype)} instead")
    if not D.can_cast(res.dtype, out.dtype):  # (torch casts into out= only to a kind at least as wide)
        raise RuntimeError(f"result type {D.scalar_type_name(res.dtype)} can't be cast to the desired output type "
                           f"{D.scalar_type_name(out.dtype)}")
    if out._vfn and _internal_overlap(out):
        raise overlap_error()
    st = out._st
    for a in inputs:
        if isinstance(a, (list, tuple)):
            _check_out(out, res, a, any_overlap, False)
        elif isinstance(a, Tensor) and a._st is st:
            ro, ra = _dense_range(out), _dense_range(a)
            # (torch's overlap status: not dense is "too hard", not checked; the same range is a full overlap)
            if ro is not None and ra is not None and ro[0] < ra[1] and ra[0] < ro[1] and (any_overlap or ro != ra):
                raise RuntimeError(_INPUT_OVERLAP)


# ---------------------------------------------------------------- views
# A view chain is a tuple of links (op, statics, dyn): dyn holds the op's extra dynamic
# arguments (offsets), passed to the compiled chain as traced values, so the cache is keyed
# by the structure only.
def chain_structure(vfn):
    return tuple((op, statics) for op, statics, _ in vfn)


def chain_args(vfn):
    return tuple(d for _, _, d in vfn)


def apply_chain(x, structure, args):
    """Apply a view chain to array ``x`` (inside a trace)."""
    for (op, statics), d in zip(structure, args):
        x = op.pure(statics, None)(x, *d)
    return x


_CHAINS = {}


def chain_fn(vfn):
    """root array -> view array for a view chain (a jitted call)."""
    key = chain_structure(vfn)
    f = _CHAINS.get(key)
    if f is None:
        f = _CHAINS[key] = jax.jit(lambda a, args: apply_chain(a, key, args))
    args = chain_args(vfn)
    return lambda a: f(a, args)


def scatter_into(root, new, structure, args):
    """``root`` with the elements a view chain selects replaced by ``new`` (inside a trace)."""
    # (decided once per chain structure, when traced)
    cut = [op.untracked for op, _ in structure if op.untracked is not None]
    if any(op.positions for op, _ in structure):
        out = _scatter_bytes(root, new, structure, args)
    else:
        idx = apply_chain(jnp.arange(root.size).reshape(root.shape), structure, args)
        new = jnp.broadcast_to(jnp.asarray(new, root.dtype), idx.shape)
        out = root.ravel().at[idx.ravel()].set(new.ravel()).reshape(root.shape)
    if cut:  # through an untracked alias (torch.func): the root keeps its derivative
        from ._untracked import untracked
        out = untracked(out, root, everywhere=any(cut))
    return out


def byte_positions(first, size, structure, args):
    """The first byte of each element of a view chain in its root's storage, from ``first`` (the root
    elements' byte offsets) and the root's element ``size``; and the view's element size. Reinterpreting
    links map positions with their own rule, the others are applied to the positions as to values."""
    for (op, statics), d in zip(structure, args):
        if op.positions is None:
            first = op.pure(statics, None)(first, *d)
        else:
            first, size = op.positions(first, size, *statics)
    return first, size


_BYTES = {}


def view_bytes(vfn, shape, size, elements=None):
    """``byte_positions`` of view chain ``vfn`` over a root of ``shape`` and element ``size`` (numpy; from
    metadata alone, so a meta or traced root serves as well); ``elements``: the root elements' places in
    its buffer where they are not row-major (a memory format)."""
    key = (chain_structure(vfn), size)
    f = _BYTES.get(key)
    if f is None:
        f = _BYTES[key] = jax.jit(lambda p, args: byte_positions(p * size, size, key[0], args)[0])
    if elements is None:
        elements = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    with jax.ensure_compile_time_eval():  # (concrete inside jtorch.compile's trace too)
        return np.asarray(f(jnp.asarray(elements, jnp.int64), chain_args(vfn)))


def _scatter_bytes(root, new, structure, args):
    """scatter_into for a chain through reinterpreting views (view(dtype), real, imag, view_as_real,
    view_as_complex): the root's and the new values' bytes, as words both sizes divide (their float parts
    where they share them, so gradients flow), scattered at the view elements' byte positions (a view may
    cover part of a root element, or several)."""
    size = root.dtype.itemsize
    pos, t = byte_positions(jnp.arange(root.size, dtype=jnp.int64).reshape(root.shape) * size, size,
                            structure, args)
    view_dtype = jax.eval_shape(lambda r: apply_chain(r, structure, args), root).dtype
    new = jnp.broadcast_to(jnp.asarray(new).astype(view_dtype), pos.shape)
    word = _bits.word_type(root.dtype, view_dtype)
    w = word.itemsize
    at = (pos // w)[..., None] + jnp.arange(t // w)
    flat = _bits.to_words(root, word).reshape(-1).at[at.reshape(-1)].set(_bits.to_words(new, word).reshape(-1))
    return _bits.from_words(flat.reshape(*root.shape, -1), root.dtype)


_SCATTERS = {}


def scatter_fn(vfn):
    """jitted (root, new_view_value) -> root with the view's elements replaced."""
    key = chain_structure(vfn)
    f = _SCATTERS.get(key)
    if f is None:
        f = _SCATTERS[key] = jax.jit(lambda root, new, args: scatter_into(root, new, key, args))
    args = chain_args(vfn)
    return lambda root, new: f(root, new, args)


# numpy's keyword names that torch's argument parser takes for its parameters of these names
# (``torch.sum(x, axis=0, keepdims=True)``, ``torch.add(x1=a, x2=b)``); never beside the name itself
NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input", "x1": "input", "x2": "other"}


def numpy_target(k, kwargs):
    """The parameter numpy's keyword ``k`` stands for; None where it is no such name, or where another of
    the parameter's numpy names is given too (``sin(x=t, a=t)``)."""
    t = NUMPY_NAMES.get(k)
    if t is not None:
        for other in kwargs:
            if other != k and NUMPY_NAMES.get(other) == t:
                return None
    return t


# ---------------------------------------------------------------- declaring ops
def defop(fn=None, *, name=None, method=True, function=True, inplace=False, aliases=(), **opts):
    """Declare an op from a pure jax function. See the module docstring."""
    if fn is None:
        return functools.partial(defop, name=name, method=method, function=function,
                                 inplace=inplace, aliases=aliases, **opts)
    op = OpDef(fn, name or fn.__name__.rstrip("_"), **opts)
    export(op, op.name, method=method, function=function, inplace=inplace, aliases=aliases)
    return op


def export(f, name, method=True, function=True, inplace=False, aliases=(), tensors=None, same_dtype=False):
    """Make ``f`` available as jtorch.name / Tensor.name / Tensor.name_ (in place). A plain function is
    exported as its public entry of the __torch_function__ protocol (an op checks in ``OpDef.__call__``)."""
    entry = meth = f
    if not isinstance(f, OpDef):  # (torch's functions take out=, its methods not)
        takes_out, raw, f = _takes_out(f), f, TF.public(f, name)
        entry = meth = f
        if function and (tensors or not takes_out):
            entry = raw if takes_out else _out_form(raw, same_dtype, name not in TF.PYTHON_IN_TORCH)
            entry = TF.public(wants_tensors(*tensors, of=raw)(entry) if tensors else entry, name)
        if method and takes_out:
            meth = TF.public(_without_out(raw, name not in TF.PYTHON_IN_TORCH), name)
    for n in (name,) + tuple(aliases):
        if function:
            REGISTRY[n] = entry
        if method:
            METHODS[n] = meth
        if inplace:
            METHODS[n + "_"] = _make_inplace(f, n)
    return f


def _takes_out(f):
    try:
        return "out" in inspect.signature(f, follow_wrapped=False).parameters  # (what f itself accepts)
    except (TypeError, ValueError):
        return True


def _out_form(f, same_dtype=False, numpy=True):
    """``f`` as a torch function, whose ``out=`` receives the result (``_write_out``: resized, cast, checked;
    ``same_dtype``: for the functions whose result dtype is fixed, as argmax's); a function that names ``out``
    itself writes it (the factories, whose ``out`` gives the dtype). Tensor methods take no ``out=`` (torch's
    neither)."""
    def with_out(*args, out=None, **kwargs):
        try:
            res = f(*args, **kwargs)
        except TypeError:
            if not numpy:
                raise
            kwargs = _numpy_retry(f, args, kwargs)
            res = f(*args, **kwargs)
        return res if out is None else _write_out(out, res, args, same_dtype=same_dtype)
    functools.update_wrapper(with_out, f)
    return with_out


def wants_tensors(*groups, of=None):
    """A plain function's ``OpDef.tensors``: the arguments (by the names of ``of``'s parameters, default the
    function's own) torch's signature types as Tensor, where a Python number raises its TypeError; checked on
    each call (a frame and a type test), so only where torch rejects numbers."""
    def declare(f):
        names = list(inspect.signature(of or f).parameters)
        spec = tuple(tuple((names.index(n), n) for n in ((g,) if isinstance(g, str) else g)) for g in groups)
        last = max(i for group in spec for i, _ in group)
        name = (of or f).__name__

        def checked(*args, **kwargs):
            if kwargs and len(args) <= last:
                args_ = list(args) + [kwargs.get(n) for n in names[len(args):last + 1]]
                check_tensors(name, spec, args_)
            else:
                check_tensors(name, spec, args)
            return f(*args, **kwargs)
        return functools.wraps(f)(checked)
    return declare


def _numpy_retry(f, args, kwargs):
    """``kwargs`` with numpy's keyword names (``axis``, ``keepdims``...) given by the parameters of ``f``
    they stand for, for a wrapper's call of ``f`` that raised TypeError (so free until then); re-raises
    that error where there is nothing to translate, torch's where a name's parameter is given too."""
    kw = TF.numpy_kwargs(f, kwargs)
    if kw is None:
        raise
    try:
        inspect.signature(f).bind(*args, **kw)
    except TypeError:
        alias = next(k for k in kwargs if k not in kw)
        raise TypeError(f"{f.__name__}() got an unexpected keyword argument '{alias}'") from None
    return kw


def _without_out(f, numpy=True):
    def method(*args, **kwargs):
        if "out" in kwargs:
            raise TypeError(f"{f.__name__}() got an unexpected keyword argument 'out'")
        try:
            return f(*args, **kwargs)
        except TypeError:
            if not numpy:
                raise
            kw = _numpy_retry(f, args, kwargs)
        return f(*args, **kw)
    functools.update_wrapper(method, f)
    return method


def _make_inplace(f, name):
    def inplace(self, *args, **kwargs):
        if TORCH_FUNCTION is True or (type(self) is not Tensor and OVERLOADS.get(type(self)) is not False):
            if TF.wants((self, *args), kwargs):  # (``torch.abs_(tensor_like)`` too)
                return TF.handle(inplace, (self, *args), kwargs)
        try:
            return self._inplace(f, args, kwargs)
        except TF.TensorLikeArgument as e:  # (an argument that dispatches, met before anything was written)
            if TF.declines(e, (self, *args), kwargs):
                raise
            return TF.handle(inplace, (self, *args), kwargs, caught=True)
    TF.CATCHERS.add(inplace.__code__)
    inplace.__name__ = inplace.__qualname__ = name + "_"
    inplace._torch_function_public = True
    return inplace


def not_a_tensor(name, obj):
    """torch's error for a Tensor method called on something else (``Tensor.__radd__(2, 3)``)."""
    return TypeError(f"descriptor '{name}' for 'torch._C.TensorBase' objects doesn't apply to a "
                     f"'{type(obj).__name__}' object")


def op_method(op, name):
    """``Tensor.<name>`` for an op: an object of its own (``Tensor.add is not torch.add``, as in torch) that
    __torch_function__ receives for ``x.add(y)``, as the op receives itself for ``torch.add(x, y)``. A
    plain call costs what the op bound as a method did (this frame in place of the op's ``__get__`` and a
    bound method); like a Python function's public entry it tests its first argument's type, so a
    subclass there dispatches here without the op's road raising for it."""
    def method(self, *args, **kwargs):
        if TORCH_FUNCTION is True or type(self) is not Tensor:
            if (TORCH_FUNCTION is True or OVERLOADS.get(type(self)) is not False) and TF.wants((self, *args), kwargs):
                return TF.handle(method, (self, *args), kwargs)
            if not isinstance(self, Tensor):  # ``Tensor.add(2, t)``: a method wants a Tensor first
                raise not_a_tensor(name, self)
        try:
            if kwargs:
                if "out" in kwargs:  # (torch's methods take no out=)
                    raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
                return op(self, *args, **kwargs)
            return op(self, *args)  # (no empty keyword dict to copy)
        except TF.TensorLikeArgument as e:  # (the op declines: this frame is the entry its argument was given to)
            if TF.declines(e, (self, *args), kwargs):
                raise
        return TF.handle(method, (self, *args), kwargs, caught=True)
    TF.CATCHERS.add(method.__code__)
    method.__name__, method.__qualname__, method.__module__ = name, "Tensor." + name, "jtorch"
    method.__wrapped__ = op
    method._torch_function_public = True
    return method


OP_METHOD_CODE = next(c for c in op_method.__code__.co_consts if isinstance(c, types.CodeType))


def function(fn=None, *, name=None, method=True, inplace=False, aliases=(), tensors=None, same_dtype=False):
    """Export a plain Python function (written with other ops) like an op; ``tensors``: as ``OpDef.tensors``
    (checked by its function form, ``wants_tensors``: a method's self is a Tensor); ``same_dtype``: an
    ``out=`` must have the result's dtype (``_write_out``)."""
    if fn is None:
        return functools.partial(function, name=name, method=method, inplace=inplace, aliases=aliases,
                                 tensors=tensors, same_dtype=same_dtype)
    export(fn, name or fn.__name__, method=method, inplace=inplace, aliases=aliases, tensors=tensors,
           same_dtype=same_dtype)
    return fn


from . import _torch_function as TF  # noqa: E402  (it reads this module's flag; imports point downward from it)
OVERLOADS = TF.OVERLOADS  # type -> whether its instances dispatch (never rebound)
TF.CATCHERS.add(OpDef.__call__.__code__)
