"""torch.func on JAX's transforms.

A function of jtorch Tensors becomes a function of jax arrays by wrapping the arrays
(concrete or JAX tracers) in Tensors (``Tensor._wrap``) and unwrapping what it returns;
every jtorch op dispatches through jitted callables, which accept tracers, so the
function traces like any JAX code. Grad mode is off inside (JAX differentiates; the
eager tape stays out of it). ``grad``, ``vjp``, ``jvp``, ``vmap``, ``jacrev``,
``jacfwd``, ``hessian`` and ``linearize`` are then JAX's own, with torch's signatures
and errors. Their results join the eager tape (``_on_tape``): when grad mode is on and a tensor
passed in, or one the function captures (``_Seen``), requires grad, the outputs are one recorded
node whose backward is JAX's VJP of the whole transform, so ``torch.func.grad(f)(x).sum().backward()``
fills ``x.grad`` with second derivatives, as torch's functorch does. In-place writes follow torch's
rules (``_Level``): inside vmap they reach the caller's tensors, grad-type transforms refuse them on
captured tensors. ``functional_call`` swaps a module's parameters and buffers for given
tensors (restored afterwards, even on error), so a module is a pure function of its
parameters: with ``module_function`` it is a JAX function usable with ``jax.jit``,
``jax.grad`` and optax.
"""
import contextlib
import functools
import itertools
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from ._dispatch import GRAD
from .autograd.grad_mode import transform_running
from .interop import to_jax
from ._lazy import Pending as _Pending
from ._untracked import untracked, reverse_traced, level_requires_grad, tape_traced, TAPE_TRACES
from . import _wide_tangents
from ._ops.shape import _untracked_alias
from .random import KEY_STORAGES

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "vmap", "jacrev", "jacfwd", "hessian",
           "linearize", "stack_module_state", "functionalize", "replace_all_batch_norm_modules_", "jax_function",
           "module_function"]


def _T():
    return _dispatch.Tensor


class _Dict(dict):
    """A dict as a JAX pytree node that keeps its keys' order: JAX sorts a plain dict's keys, and
    torch.func.grad(f)(params) must give the gradients in the order of ``params`` (code zips them
    with ``params.items()``)."""


jax.tree_util.register_pytree_with_keys(
    _Dict, lambda d: (tuple((jax.tree_util.DictKey(k), v) for k, v in d.items()), tuple(d)),
    lambda keys, values: _Dict(zip(keys, values)),
    flatten_func=lambda d: (tuple(d.values()), tuple(d)))


def _ordered(tree):
    """Plain dicts (at any depth of lists/tuples/dicts) -> _Dict."""
    if type(tree) is dict:
        return _Dict((k, _ordered(v)) for k, v in tree.items())
    if type(tree) in (list, tuple):
        return type(tree)(_ordered(v) for v in tree)
    return tree


def _plain(tree):
    """_Dict -> dict again (at any depth of lists/tuples/dicts)."""
    if isinstance(tree, dict):
        return (dict if type(tree) is _Dict else type(tree))((k, _plain(v)) for k, v in tree.items()) \
            if type(tree) in (dict, _Dict) else tree
    if type(tree) in (list, tuple):
        return type(tree)(_plain(v) for v in tree)
    return tree


def _dims_like(dims, value):
    """An in_dims/out_dims prefix tree with its dicts as _Dict in ``value``'s key order."""
    if isinstance(dims, dict) and isinstance(value, dict) and set(dims) == set(value):
        return _Dict((k, _dims_like(dims[k], value[k])) for k in value)
    if type(dims) in (list, tuple) and type(value) in (list, tuple) and len(dims) == len(value):
        return type(dims)(_dims_like(d, v) for d, v in zip(dims, value))
    return _ordered(dims)


def _wrap_tree(tree):
    """jax arrays / tracers -> Tensors over them (no copies). A transform's results inside another's
    no_grad are constants for the outer one."""
    T = _T()
    stop = untracked if _dispatch.STOP_GRADIENT[0] is not None else (lambda x: x)
    return _plain(jax.tree_util.tree_map(lambda x: T._wrap(stop(x)) if isinstance(x, jax.Array) else x, tree,
                                         is_leaf=lambda x: isinstance(x, T)))


def _unwrap_tree(tree):
    return to_jax(_ordered(tree))


# ------------------------------------------------------------------ what the function captures
class _Level:
    """``_dispatch.TRACE`` while a transform runs its function (nested transforms nest levels): the
    storages made meanwhile (``new``: the wrapped arguments and everything computed from them) are told
    apart from those the function captured from outside. Every event is passed on to the enclosing
    recorder (an outer level, jtorch.compile's), so compile still sees the state a transform reads."""

    def __init__(self):
        self.outer = _dispatch.TRACE
        self.new = weakref.WeakSet()
        self.inputs = ()  # the jax values the transform passed in (its leaves: grad_fn_inside)
        self.refuse_random = False  # (vmap's and jacfwd's randomness="error": a draw raises before it moves the stream)

    def __enter__(self):
        _dispatch.TRACE = self
        return self

    def __exit__(self, *exc):
        _dispatch.TRACE = self.outer

    def captured(self, st):
        return st not in self.new and st not in KEY_STORAGES

    def batched(self, a):  # (vmap's level: whether ``a`` holds a value per batch element)
        return False

    def created(self, st):
        self.new.add(st)
        if self.outer is not None:
            self.outer.created(st)

    def read(self, t):
        if self.outer is not None:
            self.outer.read(t)

    def write(self, t):
        if self.refuse_random and t._st in KEY_STORAGES:
            raise RuntimeError(_RANDOM_IN_ERROR_MODE)
        if _dispatch.TRANSFORMS.enabled and _no_grad_view(t) and reverse_traced(t._st.array):
            raise RuntimeError("A view was created in no_grad mode and is being modified inplace with grad mode "
                               "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
                               "You can clarify your code by moving both the view and the inplace either both "
                               "inside the no_grad block (if you don't want the inplace to be tracked) or both "
                               "outside (if you want the inplace to be tracked).")
        if self.outer is not None:
            self.outer.write(t)

    def grad_set(self, t, g):
        if self.outer is not None:
            self.outer.grad_set(t, g)

    @property
    def backward_ran(self):
        return getattr(self.outer, "backward_ran", False)

    @backward_ran.setter
    def backward_ran(self, v):
        if self.outer is not None:
            self.outer.backward_ran = v


class _Seen(_Level):
    """Around a transform whose results may join the tape: the captured storages its function touches,
    with their arrays at the first touch and the tensors that read them. The backward replays the
    function on those arrays, traced where a reader's root tensor (itself or its view base) requires
    grad: that root is an input of the transform's node; readers of other lineages (a ``.data``
    alias) read the array as a constant."""

    def __init__(self, skip=()):
        super().__init__()
        self.touched = {}  # id(storage) -> (storage, array, {id(reader): reader})
        self.skip = skip  # the storages of the transform's own arguments

    def read(self, t):
        st = t._st
        seen = self.touched.get(id(st))
        if seen is None:
            if st not in self.skip and self.captured(st) and isinstance(st._arr, (jax.Array, _Pending)):
                self.touched[id(st)] = (st, st.array, {id(t): t})  # (meta and complex32 storages: left alone)
        else:
            seen[2][id(t)] = t
        super().read(t)

    def write(self, t):
        self.read(t)
        if self.outer is not None:
            self.outer.write(t)

    def held(self):
        """(storages, their first arrays, positions of the differentiated ones, their roots, the readers
        of other lineages)."""
        sts, arrs, pos, roots, others = [], [], [], [], []
        for k, (st, arr, readers) in enumerate(self.touched.values()):
            sts.append(st)
            arrs.append(arr)
            root = None
            for t in readers.values():
                r = t if t._base is None else t._base
                if root is None and r._requires_grad and (r.is_floating_point() or r.is_complex()):
                    root = r
            if root is not None:
                pos.append(k)
                roots.append(root)
                others += [(t, arr) for t in readers.values() if (t if t._base is None else t._base) is not root]
        return sts, arrs, pos, roots, others


class _LevelNode:
    """``grad_fn`` inside a reverse-mode transform of a tensor computed from what it differentiates: JAX
    keeps that history, so this node only says there is one (torch's names the op)."""
    next_functions = ()

    def __init__(self):
        self.metadata = {}  # (each node its own, as torch's)

    def name(self):
        return "TransformBackward"

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


def requires_grad_inside(t):
    """``t.requires_grad`` while a transform runs (tensor.py): whether a reverse-mode level differentiates
    its value (see _untracked.level_requires_grad); a tensor none holds answers with its own flag (a meta
    tensor, e.g. a custom op's fake kernel's input, has no value for a level to hold)."""
    if t.is_meta:
        return t._requires_grad
    r = level_requires_grad(t._value)
    return t._requires_grad if r is None else r


def grad_fn_inside(t):
    """``t.grad_fn`` while a transform runs: None for a transform's own inputs (leaves there, as torch's)
    and for what no reverse level differentiates."""
    r = level_requires_grad(t._value)
    if r is None:
        return t._grad_fn
    if not r:
        return None
    v, level = t._value, _dispatch.TRACE
    while isinstance(level, _Level):
        if any(v is a for a in level.inputs):
            return None
        level = level.outer
    node = t.__dict__.get("_level_node")
    if node is None:  # (the same node at every look, as torch's)
        node = t.__dict__["_level_node"] = _LevelNode()
    return node


def record_inside_vmap(op, statics, dt, dyn, arrays, res):
    """An op on tensors that require grad, run inside transforms (_dispatch.py): where only vmap's levels
    run, grad mode is on and no input is batched, torch's vmap runs it as the plain op, recorded on the
    tape (``cap * 2`` of a captured ``cap`` requires grad there, with a grad_fn). Grad-type levels (and
    values a transform traces) leave it to JAX."""
    leaves = jax.tree_util.tree_leaves(arrays)
    if op.differentiable and tape_inside() and \
            not any(isinstance(a, jax.core.Tracer) and not tape_traced(a) for a in leaves):
        from .autograd.graph import record
        if any(tape_traced(a) for a in leaves):  # (a captured leaf standing in for the tape's VJP)
            # the tape's node holds the values; the results keep the traced ones for the run's VJP, and get
            # their values after it (they may leave the function)
            run = _TAPE_RUNS[-1]
            record(op, statics, dt, dyn, jax.tree_util.tree_map(_tape_primal, arrays), res)
            outs = [t for t in jax.tree_util.tree_leaves(res, is_leaf=lambda x: isinstance(x, _T()))
                    if isinstance(t, _T())]
            run["made"] += [t._st for t in outs if t._base is None and id(t._st) not in run["versions"]]
            node = outs[0]._grad_fn if outs else None
            if node is not None:  # (the saved stand-ins at the versions their storages get back)
                node.versions = [(st, run["versions"].get(id(st), v), t) for st, v, t in node.versions]
            return
        record(op, statics, dt, dyn, arrays, res)


_TAPE_RUNS = []  # per run under the tape's VJP (_run_under_vjp): the storages standing in (their versions),
# those recorded on the tape with traced values (made)


def _tape_primal(a):
    while tape_traced(a):
        a = a.primal
    return a


def tape_inside(target=None):
    """Whether the eager tape records unbatched ops here, as torch's vmap does: grad mode on, and every
    transform running is a vmap (record_inside_vmap). tensor.py's in-place writes then move the history
    of their ``target`` on too, where the function made it: a captured one's moves on to vmap's node
    after the call (_VmapLevel.taped)."""
    if not _dispatch.TRANSFORMS.enabled:
        return False
    level, inner = _dispatch.TRACE, None
    while isinstance(level, _Level):
        if isinstance(level, _GradLevel):
            return False
        if inner is None and isinstance(level, _VmapLevel):
            inner = level
        level = level.outer
    return inner is not None and (target is None or target._st in inner.new)


def check_inplace_inside(t):
    """An in-place op on ``t`` while a transform runs (tensor.py), before it moves any history: a leaf
    that requires grad made inside the function (a factory's ``requires_grad=True``), or a view of one,
    refuses it with grad mode on, as torch's. (Captured tensors follow their level's rules at the write.)"""
    level = _dispatch.TRACE
    root = t if t._base is None else t._base
    if isinstance(level, _Level) and _dispatch.TRANSFORMS.enabled and root._requires_grad and \
            root._grad_fn is None and root._st in level.new:
        raise _leaf_error(t)


def _leaf_error(t):
    what = "a view of a leaf Variable" if t._base is not None else "a leaf Variable"
    return RuntimeError(f"{what} that requires grad is being used in an in-place operation.")


class _GradLevel(_Level):
    """A grad-type transform's function (grad, vjp, jvp, jacrev, jacfwd) may not write in place to a
    tensor it captured (torch's functorch refuses it), nor to an input it differentiates (``refuse``:
    their storages; torch's inputs there are leaves that require grad)."""

    def __init__(self):
        super().__init__()
        self.refuse = ()

    def write(self, t):
        st = t._st
        if st in self.refuse and _dispatch.TRANSFORMS.enabled and not _untracked_link(t):
            raise _leaf_error(t)  # (a write grad mode or a detached alias does not track is allowed)
        if self.captured(st):
            raise RuntimeError("During a grad (vjp, jvp, grad, etc) transform, the function provided attempted "
                               "to call an in-place operation that would mutate a captured Tensor. This is not "
                               "supported; please rewrite the function being transformed to explicitly accept "
                               "the mutated Tensor(s) as inputs.")
        super().write(t)


def _no_grad_view(t):
    """Whether ``t`` is (a view of) an alias made under no_grad inside a transform (_ops/shape.py)."""
    return any(op is _untracked_alias for op, _, _ in t._vfn)


def _untracked_link(t):
    """Whether ``t`` is (a view of) an untracked alias: detached, or made under no_grad (_ops/shape.py)."""
    return any(op.untracked is not None for op, _, _ in t._vfn)


class _VmapLevel(_Level):
    """vmap's function may write in place to a tensor it captured: a value that is the same for every
    batch element lands in the caller's tensor (once per call, as torch's), one that differs per
    element cannot (``undo_batched_writes`` puts the tensor back and vmap raises torch's error)."""

    def __init__(self, grad_on):
        super().__init__()
        self.trace = _current_trace()
        self.grad_on = grad_on  # grad mode outside the transform (off inside)
        self.before = {}  # id(storage) -> (storage, its array before the function's first write)
        self.taped = {}  # id(tensor) -> captured tensor written that requires grad (its history moves on)

    def batched(self, a):
        return isinstance(a, jax.core.Tracer) and a._trace is self.trace

    def write(self, t):
        st = t._st
        if self.captured(st):
            root = t if t._base is None else t._base
            if self.grad_on and root._requires_grad:
                if root._grad_fn is None:
                    raise _leaf_error(t)
                self.taped[id(root)] = root
            self.before.setdefault(id(st), (st, st._arr))
        super().write(t)

    def undo_batched_writes(self):
        """Captured storages holding a per-element value get their arrays back; whether there were any."""
        undone = False
        for st, arr in self.before.values():
            if self.batched(st._arr):
                st._arr = arr
                st.version += 1  # (a view's cached per-element value is stale now)
                undone = True
        return undone


def _current_trace():
    from jax._src.core import trace_ctx  # (JAX keeps the current trace private)
    return trace_ctx.trace


_BATCHED_WRITE = ("vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a Tensor "
                  "`other` in extra_args that has more elements than `self`. This happened due to `other` being "
                  "vmapped over but `self` not being vmapped over in a vmap. Please try to use out-of-place "
                  "operators instead of inplace arithmetic.")


_RANDOM_IN_ERROR_MODE = ("vmap: called random operation while in randomness error mode. Please either use the "
                         "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                         "of vmap")

_REPLAY = itertools.count(1)


@contextlib.contextmanager
def _standing_in(storages, arrays, others=()):
    """Each storage holds its ``arrays`` entry for the block: a transform's replay in backward sees the
    captured tensors as its forward did (traced where they are differentiated), and the replay's
    in-place writes stay off them. Meanwhile a storage's version is one no write reaches (views
    recompute their values from the stand-in, and again after). ``others``: (tensor, array) pairs of
    readers that get a storage of their own, holding the constant ``array``."""
    T = _T()
    saved = [(st, st._arr, st.version) for st in storages]
    saved_readers = [(t, t._st, t._val) for t, _ in others]
    try:
        for st, a in zip(storages, arrays):
            st._arr, st.version = a, -next(_REPLAY) << 32
        for t, a in others:
            t._st, t._val = T._wrap(a)._st, None
        yield
    finally:
        for st, a, v in saved:
            st._arr, st.version = a, v
        for t, st, val in saved_readers:
            t._st, t._val = st, val


_VALUE_READS = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                jax.errors.TracerIntegerConversionError, jax.errors.TracerBoolConversionError)


@contextlib.contextmanager
def _values_unreadable(transform):
    """Inside a transform a tensor's values do not exist yet: reading them in Python (.item(), .tolist(),
    bool(), float(), .numpy()) is torch's RuntimeError, not JAX's tracer error."""
    try:
        yield
    except _VALUE_READS as e:
        from .compile import is_compiling
        if is_compiling():  # maybe the compiled step's own tracer: torch.compile breaks the graph on it
            raise
        raise RuntimeError(f"{transform}: a Tensor's values were read in Python (.item(), .tolist(), bool(), "
                           "float(), .numpy() or data-dependent control flow) inside the transformed function; "
                           "this is not supported, write it with tensor operations instead") from e


def _check_differentiable(args, argnums, name):
    T = _T()
    for a in (argnums if isinstance(argnums, tuple) else (argnums,)):
        for leaf in jax.tree_util.tree_leaves(args[a], is_leaf=lambda x: isinstance(x, T)):
            if isinstance(leaf, T) and not (leaf.is_floating_point() or leaf.is_complex()):
                raise RuntimeError("only Tensors of floating point dtype can require gradients")


def jax_function(func):
    """``func`` of jtorch Tensors (pytrees) as a function of jax arrays, traceable by JAX."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        with transform_running():
            out = func(*_wrap_tree(args), **_wrap_tree(kwargs))
        return _unwrap_tree(out)
    return run


def _arrays(args):
    """Tensors in ``args`` -> their jax arrays (detached: JAX takes over differentiation)."""
    return _unwrap_tree(args)


def _check_argnums(argnums, nargs, name):
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums:
        raise RuntimeError(f"{name}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"{name}: argnums must be int or Tuple[int, ...], got: {type(a).__name__}")
        if not -nargs <= a < nargs:
            raise RuntimeError(f"Got argnum={a}, but only {nargs} positional inputs")
    if len({a % nargs for a in nums}) != len(nums):
        raise RuntimeError(f"argnums elements must be unique, got {tuple(a % nargs for a in nums)}")
    return argnums


def _split_output(out, has_aux, where):
    """(output, aux) of a transformed function's result, with torch's errors: a pair when has_aux, only
    tensors in the output (``where``: the transform as torch's messages name it) and in aux."""
    T = _T()
    is_t = lambda x: isinstance(x, T)  # noqa: E731
    aux = None
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise RuntimeError(f"{where}: output of function f should be a tuple: (output, aux) if has_aux is True")
        out, aux = out
        _check_aux(aux)
    for leaf in jax.tree_util.tree_leaves(out, is_leaf=is_t):
        if not is_t(leaf):
            raise RuntimeError(f"{where}: expected f(*primals) to return only tensors, got unsupported type "
                               f"{type(leaf)}")
    return out, aux


def _check_aux(aux):
    T = _T()
    for leaf in jax.tree_util.tree_leaves(aux, is_leaf=lambda x: isinstance(x, T)):
        if not isinstance(leaf, T):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")


def _scalar_output(out, name="grad_and_value(f)(*args)"):
    T = _T()
    if not isinstance(out, T):
        raise RuntimeError(f"{name}: Expected f(*args) to return a Tensor, got {type(out).__name__}")
    if out.ndim != 0:
        raise RuntimeError(f"{name}: Expected f(*args) to return a scalar Tensor, got tensor with {out.ndim} "
                           "dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
    return out._value


# ------------------------------------------------------------------ grad
def grad_and_value(func, argnums=0, has_aux=False):
    """``(grad, value)`` (or ``(grad, (value, aux))``) of a scalar-valued function."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        _check_argnums(argnums, len(args), "grad_and_value")
        _check_differentiable(args, argnums, "grad_and_value")

        counts = {}

        def f(*arrays):
            with _GradLevel() as level, transform_running(), _values_unreadable("grad_and_value(f)(*args)"):
                inputs = _wrap_tree(arrays)
                level.inputs = jax.tree_util.tree_leaves(arrays)
                level.refuse = _storages([inputs[a] for a in _nums(argnums)])
                out = func(*inputs, **kwargs)
                written = _written_inputs(inputs, arrays, level, counts)
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: "
                                       "(output, aux) if has_aux is True")
                _check_aux(out[1])
                return _scalar_output(out[0]), (_unwrap_tree(out[1]), written)
            return _scalar_output(out), (None, written)

        # (the inputs written in place ride in aux: their values, not differentiated)
        vg = jax.value_and_grad(f, argnums=argnums, has_aux=True)

        def split(arrs):  # ((value, aux), g) -> ((value, g), aux)
            (v, aux), g = vg(*arrs)
            return (v, g), aux
        (v, g), (aux, written) = _on_tape(split, args, _arrays(args), has_aux=True, func=func)
        _write_back(args, written, counts)
        if has_aux:
            return _wrap_tree(g), (_wrap_tree(v), _wrap_tree(aux))
        return _wrap_tree(g), _wrap_tree(v)
    return run


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar-valued function with respect to ``argnums``."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def run(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return run


# ------------------------------------------------------------------ vjp / jvp / linearize
def vjp(func, *primals, has_aux=False):
    """``(output, vjp_fn)``: ``vjp_fn(cotangents)`` gives one gradient per primal."""
    counts = {}

    def f(*arrays):  # -> (output, (aux, the primals written in place))
        with _GradLevel() as level, transform_running():
            inputs = _wrap_tree(arrays)
            level.inputs = jax.tree_util.tree_leaves(arrays)
            level.refuse = _storages(inputs)
            out, aux = _split_output(func(*inputs), has_aux, "vjp(f, *primals)")
            written = _written_inputs(inputs, arrays, level, counts)
        return _unwrap_tree(out), (_unwrap_tree(aux), written)

    pa = _arrays(primals)
    watch = _Watch(primals)
    nested = None
    if _taped(primals):  # (vjp_fn's results are differentiable in the primals too)
        out, pull, aux, written, nested = _vjp_of_vjp(f, pa, watch)
    else:  # the function runs once, under jax.vjp; its output joins the tape (replayed if a backward comes)
        with watch:
            out, pull, (aux, written) = jax.vjp(f, *pa, has_aux=True)
    _write_back(primals, written, dict(counts))
    if GRAD.enabled:
        out, (aux, _) = _record(lambda arrs: f(*arrs), primals, pa, (out, (aux, written)), watch, True,
                                vjp_of_run=nested and nested.of_outputs)
    if _taped(primals) or _grad_captured(watch):
        replay = lambda arrs: jax.vjp(f, *arrs[0], has_aux=True)[1](arrs[1])  # noqa: E731
    else:  # (differentiable in the cotangents only: no need to run the function again)
        replay = lambda arrs: pull(arrs[1])  # noqa: E731

    def vjp_fn(*cotangents):
        ct = cotangents[0] if len(cotangents) == 1 else cotangents
        ca = _arrays(ct)
        _check_cotangents(ca, out)
        grads = pull(ca)
        if GRAD.enabled:  # differentiable in the primals, the captured tensors and the cotangents, as torch's
            grads = _record(replay, (primals, ct), (pa, ca), grads, watch,
                            vjp_of_run=nested and functools.partial(nested.of_gradients, ca))
        return _wrap_tree(grads)

    if has_aux:
        return _wrap_tree(out), vjp_fn, _wrap_tree(aux)
    return _wrap_tree(out), vjp_fn


class _VjpOfVjp:
    """The VJPs of a vjp's one run in its primals (``_vjp_of_vjp``): ``of_outputs`` for the recorded
    outputs, ``of_gradients`` for vjp_fn's results (through the pullback's residuals, and the cotangents)."""

    def __init__(self, outer, main, residuals, tree):
        self.outer, self.main, self.residuals, self.tree = outer, main, residuals, tree

    def pull(self, ct):
        """The pullback of the vjp's output (its aux and written inputs get zero cotangents)."""
        zeros = [jnp.zeros_like(a) for a in self.main[1]]
        return jax.tree_util.tree_unflatten(self.tree, self.residuals)((ct, zeros))

    def of_outputs(self, cot):
        return self._in_primals(self.outer((cot, [_zero_cotangent(r) for r in self.residuals])))

    def of_gradients(self, ca, cot):
        def pull_of(residuals, ct):
            zeros = [jnp.zeros_like(a) for a in self.main[1]]
            return jax.tree_util.tree_unflatten(self.tree, residuals)((ct, zeros))
        res_cot, ct_cot = jax.vjp(pull_of, self.residuals, ca)[1](cot)
        in_primals = self.outer((jax.tree_util.tree_map(_zero_cotangent, self.main), res_cot))
        return self._in_primals(in_primals, jax.tree_util.tree_leaves(ct_cot))

    @staticmethod
    def _in_primals(grads, extra=()):
        return jax.tree_util.tree_leaves(grads) + list(extra)


def _zero_cotangent(a):
    return jnp.zeros_like(a) if jnp.issubdtype(a.dtype, jnp.inexact) else np.zeros(a.shape, jax.dtypes.float0)


def _vjp_of_vjp(f, pa, watch):
    """vjp's run when a primal requires grad: ``f`` (-> ``(out, (aux, written))``) runs once under a VJP of
    its own VJP, so a backward through its outputs, or through vjp_fn's results (second derivatives, as
    torch's vjp_fn gives) needs no replay. -> (out, pullback, aux, written, _VjpOfVjp)."""
    def g(*arrays):
        out, (aux, written) = f(*arrays)
        return _split_aux((out, (aux, written)))

    def outer(*p):
        main, pull, rest = jax.vjp(g, *p, has_aux=True)
        residuals, tree = jax.tree_util.tree_flatten(pull)
        return (main, residuals), (rest, tree)

    with watch:
        (main, residuals), outer_pull, ((rest, idx, aux_def), tree) = jax.vjp(outer, *pa, has_aux=True)
    out, (aux, written) = _unsplit_aux((main, (rest, idx, aux_def)))
    nested = _VjpOfVjp(outer_pull, main, residuals, tree)
    return out, nested.pull, aux, written, nested


def _check_cotangents(ca, out):
    """vjp_fn's cotangents must have the outputs' structure and shapes (torch's RuntimeErrors)."""
    c_leaves, c_def = jax.tree_util.tree_flatten(ca)
    o_leaves, o_def = jax.tree_util.tree_flatten(out)
    if c_def.num_leaves != o_def.num_leaves or (c_def != o_def and len(o_leaves) > 1):
        raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of outputs "
                           f"to the function. cotangents: {c_def}, primal output: {o_def}")
    for i, (c, o) in enumerate(zip(c_leaves, o_leaves)):
        if tuple(np.shape(c)) != tuple(o.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of torch.Size({list(np.shape(c))}) "
                               f"and output[{i}] has a shape of torch.Size({list(o.shape)}).")


def _check_inexact(t, what):
    """Forward mode's primals and tangents are floating point or complex (torch's ValueError)."""
    if not (t.is_floating_point() or t.is_complex()):
        raise ValueError(f"Expected {what} to be floating point or complex, but got: {t.dtype}")


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(output, jvp_out)``: the forward-mode derivative along ``tangents``."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid "
                           "to call f(*primals).")
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           "structure.")
    for p, t in zip(jax.tree_util.tree_leaves(primals, is_leaf=lambda x: isinstance(x, _T())),
                    jax.tree_util.tree_leaves(tangents, is_leaf=lambda x: isinstance(x, _T()))):
        if not isinstance(p, _T()):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals to only contain Tensors, got {type(p)}")
        _check_inexact(p, "primal")
        if not isinstance(t, _T()) or tuple(p.shape) != tuple(t.shape):
            raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same shape")
        _check_inexact(t, "tangent")

    counts = {}

    def f(*arrays):
        with _GradLevel() as level, transform_running("forward"):
            inputs = _wrap_tree(arrays)
            level.inputs = jax.tree_util.tree_leaves(arrays)
            out, aux = _split_output(func(*inputs), has_aux, "jvp(f, primals, tangents)")
            # (torch writes a primal written in place through to the caller's tensor: its value rides in aux)
            written = _written_inputs(inputs, arrays, level, counts)
        return _unwrap_tree(out), (_unwrap_tree(aux), written)

    def run(arrs):
        pa, ta = arrs
        # (primals may be trees: a dict of parameters, as in torch.func's model examples)
        leaves = jax.tree_util.tree_leaves
        if any(_wide_tangents.is_wider(t.dtype, p.dtype) for t, p in zip(leaves(ta), leaves(pa))):
            out, tangent_out, aux = _wide_tangents.jvp(f, pa, ta)  # (a float64 tangent stays float64, as torch's)
        else:
            ta = jax.tree_util.tree_map(lambda t, p: jnp.asarray(t, p.dtype), ta, pa)
            out, tangent_out, aux = jax.jvp(f, pa, ta, has_aux=True)
        # an integer or bool output's tangent: zeros of its dtype, as torch's (JAX's is float0)
        tangent_out = jax.tree_util.tree_map(lambda t, o: jnp.zeros(o.shape, o.dtype) if t.dtype == jax.dtypes.float0
                                             else t, tangent_out, out)
        return (out, tangent_out), aux

    (out, tangent_out), (aux, written) = _on_tape(run, (primals, tangents),
                                                  (_arrays(primals), _arrays(tangents)), True, func)
    _write_back(primals, written, counts)
    if has_aux:
        return _wrap_tree(out), _wrap_tree(tangent_out), _wrap_tree(aux)
    return _wrap_tree(out), _wrap_tree(tangent_out)


def linearize(func, *primals):
    """``(output, jvp_fn)`` with the linearization evaluated once."""
    def jf(*arrays):
        with _GradLevel(), transform_running("forward"):
            out = func(*_wrap_tree(arrays))
        return _unwrap_tree(out)

    pa = _arrays(primals)
    with _Seen() as seen:
        out, f_jvp = jax.linearize(jf, *pa)
    # torch's jvp_fn is a traced graph whose constants (from the primals) require grad when the primals or
    # captured tensors do: its results require grad, though no gradient reaches those tensors. A hidden
    # leaf stands for the constants.
    constants = []
    if _taped(primals) or _grad_captured(seen):
        out = _on_tape(lambda arrs: jf(*arrs), primals, pa, func=func)
        constants = [_T()._wrap(jnp.zeros(())).requires_grad_()]

    def jvp_fn(*tangents):
        for i, (t, p) in enumerate(zip(jax.tree_util.tree_leaves(_arrays(tangents)), jax.tree_util.tree_leaves(pa))):
            for what, a, b in (("shape", tuple(np.shape(t)), tuple(p.shape)), ("dtype", t.dtype, p.dtype)):
                if a != b:
                    from ._dtype import _FROM_NP
                    show = (lambda v: f"torch.Size({list(v)})") if what == "shape" else (lambda v: _FROM_NP[v])
                    raise RuntimeError(f"tangent:{i} with {what} {show(a)} in flattened pytree doesn't match the "
                                       f"{what} {show(b)} of the corresponding primal.")
        # linear in the tangents, the primals fixed at linearization: on the tape through the tangents
        return _wrap_tree(_on_tape(lambda arrs: f_jvp(*arrs[0]), (tangents, constants),
                                   (_arrays(tangents), _arrays(constants))))
    return _wrap_tree(out), jvp_fn


# ------------------------------------------------------------------ jacobians
def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jac(jax.jacrev, func, argnums, has_aux, "jacrev", None)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    if randomness not in ("error", "different", "same"):
        @functools.wraps(func)
        def refuse(*args, **kwargs):  # (torch refuses it when called)
            raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                               f"Got {randomness}")
        return refuse
    return _jac(jax.jacfwd, func, argnums, has_aux, "jacfwd", randomness)


def _jac(transform, func, argnums, has_aux, name, randomness):
    @functools.wraps(func)
    def run(*args, **kwargs):
        _check_argnums(argnums, len(args), name)

        counts = {}

        def f(*arrays):
            with _GradLevel() as level, transform_running("forward" if transform is jax.jacfwd else "reverse"):
                level.refuse_random = randomness == "error"  # (jacfwd maps over the tangents)
                inputs = _wrap_tree(arrays)
                level.inputs = jax.tree_util.tree_leaves(arrays)
                if transform is jax.jacrev:  # (jacfwd's inputs carry tangents, not gradients)
                    level.refuse = _storages([inputs[a] for a in _nums(argnums)])
                out, aux = _split_output(func(*inputs, **kwargs), has_aux, "jvp(f, primals, tangents)"
                                         if transform is jax.jacfwd else "vjp(f, *primals)")
                written = _written_inputs(inputs, arrays, level, counts)  # (their values ride in aux)
            return _unwrap_tree(out), (_unwrap_tree(aux), written)

        if transform is jax.jacrev:
            _check_differentiable(args, argnums, name)
        else:
            for a in _nums(argnums):
                for leaf in jax.tree_util.tree_leaves(args[a], is_leaf=lambda x: isinstance(x, _T())):
                    if isinstance(leaf, _T()):
                        _check_inexact(leaf, "primal")
        jac = transform(f, argnums=argnums, has_aux=True)
        res, (aux, written) = _on_tape(lambda arrs: jac(*arrs), args, _arrays(args), True, func)
        _write_back(args, written, counts)
        if has_aux:
            return _wrap_tree(res), _wrap_tree(aux)
        return _wrap_tree(res)
    return run


def hessian(func, argnums=0):
    return jacfwd(jacrev(func, argnums), argnums)


# ------------------------------------------------------------------ the eager tape
def _diff_leaves(args):
    """(tensor leaves of ``args``, their treedef, positions of those that take part in autograd)."""
    T = _T()
    leaves, treedef = jax.tree_util.tree_flatten(_ordered(args), is_leaf=lambda x: isinstance(x, T))
    pos = [i for i, t in enumerate(leaves) if isinstance(t, T) and t.requires_grad and t.is_floating_point()]
    return leaves, treedef, pos


def _nums(argnums):
    return argnums if isinstance(argnums, tuple) else (argnums,)


def _storages(tree):
    T = _T()
    return {t._st for t in jax.tree_util.tree_leaves(tree, is_leaf=lambda x: isinstance(x, T)) if isinstance(t, T)}


def _grad_captured(seen):
    """Whether the function ``seen`` watched read a captured tensor that requires grad."""
    return GRAD.enabled and bool(seen.held()[2])


def _taped(args):
    """Whether results computed from ``args`` go on the eager tape (grad mode on, one requires grad)."""
    return GRAD.enabled and bool(_diff_leaves(args)[2])


def _cotangent(g, o):
    """A backward gradient as the cotangent of output array ``o`` (float0 zeros for integer outputs)."""
    if not jnp.issubdtype(o.dtype, jnp.inexact):
        return np.zeros(o.shape, jax.dtypes.float0)
    return g._value if g is not None else jnp.zeros_like(o)


def _rng_key():
    """The default generator's key value now (a transform's recomputation in backward replays it)."""
    from .random import default_generator
    return default_generator._key._lazy_value()  # an immutable array (or pending value)


@contextlib.contextmanager
def _replaying_rng(key):
    """Random ops draw from a copy of ``key`` (the stream as the forward saw it); the live stream is
    left as it was."""
    from .random import default_generator as gen
    live = gen._key
    gen._key = _T()._wrap(key)
    try:
        yield
    finally:
        gen._key = live


def _on_tape(fn, args, arrays, has_aux=False, func=None):
    """``fn(arrays)``; when grad mode is on and a tensor in ``args``, or a tensor the transformed function
    captured, requires grad, the outputs are recorded on the eager tape as one node whose backward is
    JAX's VJP of ``fn`` (torch.func transforms compose with ordinary autograd: a loss of vmap's output,
    or of grad's, backpropagates to the tensors passed in and to the parameters a closure or module
    reads). ``has_aux``: ``fn`` returns ``(out, aux)``; aux's floating-point arrays are recorded too
    (torch hands aux to the outer level), its other leaves pass through. The node's backward is itself
    taped under ``create_graph`` (any order). ``func``: the user's function (``_capturable``)."""
    if not GRAD.enabled:
        return fn(arrays)
    watch = _Watch(args)
    capturable = _capturable(func, watch.skip) if func is not None else []
    if _diff_leaves(args)[2] or capturable:  # (run by _record, under JAX's VJP in those inputs and leaves)
        return _record(fn, args, arrays, None, watch, has_aux, capturable=capturable)
    with watch:
        res = fn(arrays)
    return _record(fn, args, arrays, res, watch, has_aux)


_SCANNED = 256  # (larger containers, a data set in a global list, are not looked through on every call)


def _capturable(func, skip, depth=3):
    """The leaf tensors that require grad which ``func`` can reach without being given them: in its
    closure, defaults and the globals it names (and those of the functions and lambdas found there),
    the modules there (their parameters), a bound method's object, a partial's arguments, a transform's
    function (``__wrapped__``). A run can then differentiate them as inputs; a captured tensor found no
    other way makes the backward replay the function."""
    import types
    T = _T()
    found, seen = {}, set()

    def visit(obj, depth):
        if id(obj) in seen or depth < 0:
            return
        seen.add(id(obj))
        if isinstance(obj, T):
            if obj._requires_grad and obj._grad_fn is None and obj._st not in skip and \
                    (obj.is_floating_point() or obj.is_complex()) and isinstance(obj._st._arr, (jax.Array, _Pending)):
                found.setdefault(id(obj._st), obj._st)
        elif isinstance(obj, (types.ModuleType, type, str, bytes, int, float)):
            return
        elif hasattr(obj, "_parameters") and callable(getattr(obj, "parameters", None)):  # an nn.Module
            for t in obj.parameters():
                visit(t, depth)
        elif isinstance(obj, (list, tuple, set)) and len(obj) <= _SCANNED:
            for v in obj:
                visit(v, depth - 1)
        elif isinstance(obj, dict) and len(obj) <= _SCANNED:
            for v in obj.values():
                visit(v, depth - 1)
        elif isinstance(obj, functools.partial):
            for v in (obj.func, *obj.args, *obj.keywords.values()):
                visit(v, depth)
        elif isinstance(obj, types.MethodType):
            visit(obj.__self__, depth)
            visit(obj.__func__, depth)
        elif isinstance(obj, types.FunctionType):
            if hasattr(obj, "__wrapped__"):
                visit(obj.__wrapped__, depth)
            if obj.__module__ and obj.__module__.split(".")[0] in ("jtorch", "torch"):
                return
            for cell in obj.__closure__ or ():
                try:
                    visit(cell.cell_contents, depth - 1)
                except ValueError:  # (an empty cell)
                    pass
            for v in (*(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values()):
                visit(v, depth - 1)
            codes = [obj.__code__]
            while codes:  # (the names its nested lambdas and functions read too)
                code = codes.pop()
                for name in code.co_names:
                    if name in obj.__globals__:
                        visit(obj.__globals__[name], depth - 1)
                codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        elif callable(getattr(obj, "__wrapped__", None)):
            visit(obj.__wrapped__, depth)
    visit(func, depth)
    return list(found.values())


def _split_aux(res):
    """``(out, aux)`` -> ``((out, aux's floating-point arrays), (aux's other leaves, their positions, its
    treedef))``: only the former are recorded outputs."""
    out, aux = res
    aux_leaves, aux_def = jax.tree_util.tree_flatten(aux)
    idx = [i for i, a in enumerate(aux_leaves) if isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jnp.inexact)]
    rest = [None if i in idx else a for i, a in enumerate(aux_leaves)]
    return (out, [aux_leaves[i] for i in idx]), (rest, idx, aux_def)


def _unsplit_aux(res):
    """``_split_aux``'s result put back together: ``(out, aux)``."""
    (out, floats), (rest, idx, aux_def) = res
    leaves = list(rest)
    for i, a in zip(idx, floats):
        leaves[i] = a
    return out, jax.tree_util.tree_unflatten(aux_def, leaves)


def _run_under_vjp(fn, treedef, flat_arrays, pos, watch, has_aux, leaves=()):
    """``fn``'s one run, under ``watch`` and JAX's VJP in the input leaves at ``pos`` and the storages
    ``leaves`` (captured leaf tensors that require grad: standing in with the VJP's inputs): (its result with
    aux split as ``_split_aux`` does, the VJP of the recorded outputs, whether the run wrote to one of
    ``leaves``). A captured storage the run wrote with a value computed from those inputs, and a result
    the tape recorded inside vmap (``record_inside_vmap``), gets its array back (it held the VJP's tracer)."""
    written, firsts = [], [st.array for st in leaves]
    writes, made = [0] * len(leaves), []

    def main(*diff):
        flat = list(flat_arrays)
        for i, a in zip(pos, diff):
            flat[i] = a
        TAPE_TRACES.append(_current_trace())
        _TAPE_RUNS.append({"made": made, "versions": {id(st): st.version for st in leaves}})
        try:
            with _standing_in(leaves, diff[len(pos):]):
                stood = [st.version for st in leaves]
                r = fn(jax.tree_util.tree_unflatten(treedef, flat))
                writes[:] = [st.version - v for st, v in zip(leaves, stood)]
                leaf_values = [st._arr for st in leaves]
        finally:
            TAPE_TRACES.pop()
            _TAPE_RUNS.pop()
        for k, st in enumerate(leaves):  # (a read records the array the storage held: the real one)
            seen = watch.touched.get(id(st))
            if seen is not None:
                watch.touched[id(st)] = (st, firsts[k], seen[2])
        main_out, rest = _split_aux(r) if has_aux else (r, None)
        written[:] = [st for st, _, _ in watch.touched.values() if isinstance(st._arr, jax.core.Tracer)] + \
            [st for st in made if isinstance(st._arr, jax.core.Tracer)]
        return main_out, (rest, [st._arr for st in written], leaf_values)

    with watch:
        out, pull, (rest, values, leaf_values) = jax.vjp(main, *(flat_arrays[i] for i in pos), *firsts,
                                                         has_aux=True)
    for st, a in zip(written, values):
        st._arr = a
    for st, a, n in zip(leaves, leaf_values, writes):
        if n:  # (a write the stand-in took: the storage gets its value)
            st._arr = a
            st.version += n
    return (out, rest) if has_aux else out, pull, any(writes)


class _Watch(_Seen):
    """``_Seen`` around a transform's one run, for ``_record``: the storages of its arguments skipped, the
    random stream as the run found it (a backward's replay draws the same values)."""

    def __init__(self, args):
        super().__init__(skip=_storages(args))
        self.rng = _rng_key()


def _record(fn, args, arrays, res, watch, has_aux=False, vjp_of_run=None, capturable=()):
    """``res``, the result of ``fn(arrays)`` run once under ``watch``, on the eager tape as ``_on_tape``
    records it. With ``res`` None, ``fn`` runs here, under JAX's VJP in the inputs that require grad and
    the ``capturable`` storages (``_capturable``): a backward then uses that VJP, as torch's never runs
    the function again. Otherwise (a captured tensor that requires grad found no other way than by the
    run, a write to one, a ``.data`` alias read beside it, or a backward under ``create_graph``) ``fn`` is
    replayed if a backward comes. ``vjp_of_run``: the run's VJP given by the caller (the cotangents of
    all the leaves of ``arrays``)."""
    T = _T()
    leaves, treedef, pos = _diff_leaves(args)
    flat_arrays = jax.tree_util.tree_leaves(arrays)
    rng = watch.rng
    if vjp_of_run is not None:
        every = vjp_of_run
        vjp_of_run = lambda cot: [g for i, g in enumerate(every(cot)) if i in pos]  # noqa: E731
    split, ran, leaf_written = res is None and has_aux, res is None, False
    if ran:
        try:
            res, vjp_of_run, leaf_written = _run_under_vjp(fn, treedef, flat_arrays, pos, watch, has_aux,
                                                           capturable)
        except (RuntimeError, *_VALUE_READS) as e:
            if not capturable or not isinstance(e.__cause__ if isinstance(e, RuntimeError) else e, _VALUE_READS):
                raise
            # the function reads a captured leaf's values in Python, which the VJP cannot trace: run it again
            # with them as constants (from the same random stream; a backward then replays it)
            from .random import default_generator
            default_generator._key._st._arr = watch.rng
            watch.touched.clear()
            capturable = ()
            res, vjp_of_run, leaf_written = _run_under_vjp(fn, treedef, flat_arrays, pos, watch, has_aux)
    # the captured storages: replayed at their first arrays; those whose root requires grad are inputs too
    held_sts, held_vals, caught, roots, others = watch.held()
    if not (pos or caught):
        return _unsplit_aux(res) if split else res
    # the run's VJP has the captured tensors' gradients where it took them as inputs (``leaves``)
    where = {id(st): len(pos) + i for i, st in enumerate(capturable)}
    if caught and (not ran or leaf_written or others or any(id(held_sts[k]) not in where for k in caught)):
        vjp_of_run = None
    elif ran and vjp_of_run is not None:
        of_all, picks = vjp_of_run, [where[id(held_sts[k])] for k in caught]

        def vjp_of_run(cot):
            g = of_all(cot)
            return [*g[:len(pos)], *(g[i] for i in picks)]
    from .autograd.function import Function
    holder = {}

    def split_aux(res):  # (out, aux) -> ((out, aux's float arrays), aux's other leaves)
        main_out, (rest, holder["aux_idx"], holder["aux_def"]) = _split_aux(res)
        return main_out, rest

    def of_diff(*diff):
        flat = list(flat_arrays)
        for i, a in zip(pos, diff):
            flat[i] = a
        vals = list(held_vals)
        for k, a in zip(caught, diff[len(pos):]):
            vals[k] = a
        grad_was = GRAD.enabled
        GRAD.enabled = True  # (the grad mode the forward ran in: a transform inside reads it)
        try:
            with _standing_in(held_sts, vals, others):
                r = fn(jax.tree_util.tree_unflatten(treedef, flat))
        finally:
            GRAD.enabled = grad_was
        return split_aux(r) if has_aux else r

    def main(*diff):  # the recorded outputs as a function of the differentiable inputs
        return of_diff(*diff)[0] if has_aux else of_diff(*diff)

    prims = tuple(flat_arrays[i] for i in pos) + tuple(held_vals[k] for k in caught)
    if split:  # (by _run_under_vjp)
        res, (holder["aux"], holder["aux_idx"], holder["aux_def"]) = res
    elif has_aux:
        res, holder["aux"] = split_aux(res)

    class _Transform(Function):
        @staticmethod
        def forward(ctx, *ts):
            # the outputs of the plain call above: the VJP is built only if a backward comes (most results
            # of grad(f)(params) never see one), from the same inputs and random stream (_replaying_rng)
            ctx.ins, ctx.rng = ts, rng
            flat_out, holder["def"] = jax.tree_util.tree_flatten(res)
            ctx.outs = flat_out
            return tuple(T._wrap(o) for o in flat_out)

        @staticmethod
        def backward(ctx, *grads):
            cot = [_cotangent(g, o) for g, o in zip(grads, ctx.outs)]
            tree = holder["def"]
            if not GRAD.enabled and vjp_of_run is not None:
                return tuple(T._wrap(g) for g in vjp_of_run(jax.tree_util.tree_unflatten(tree, cot)))
            with _replaying_rng(ctx.rng):
                if not GRAD.enabled:
                    pull = jax.vjp(main, *prims)[1]
                    return tuple(T._wrap(g) for g in pull(jax.tree_util.tree_unflatten(tree, cot)))

                # create_graph: the VJP as a function of the inputs and the gradients, itself on the tape
                def pull(arrs):
                    prim, cts = arrs
                    return jax.vjp(main, *prim)[1](jax.tree_util.tree_unflatten(tree, list(cts)))
                # (grads are materialised: one tensor per output, so the leaves line up with ``cot``)
                res = _on_tape(pull, (tuple(ctx.ins), tuple(grads)), (prims, tuple(cot)))
            return tuple(T._wrap(r) if not isinstance(r, T) else r for r in res)

    outs = _Transform.apply(*(leaves[i] for i in pos), *roots)
    outs = outs if isinstance(outs, tuple) else (outs,)
    out = jax.tree_util.tree_unflatten(holder["def"], list(outs))
    if not has_aux:
        return out
    (out, diff_aux), aux_leaves = out, list(holder["aux"])
    for i, t in zip(holder["aux_idx"], diff_aux):
        aux_leaves[i] = t
    return out, jax.tree_util.tree_unflatten(holder["aux_def"], aux_leaves)


# ------------------------------------------------------------------ vmap
def _batch_size(args, in_dims, name):
    """The size of the mapped dimension, with torch's errors for in_dims that do not fit the inputs."""
    T = _T()
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
                         "trying to vmap over a function with no inputs. The latter is unsupported.")
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    if len(dims) != len(args):
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
                         f"structure {len(dims)} but inputs has structure {len(args)}.")
    sizes = []

    def visit(d, a):
        if d is None:
            return
        if isinstance(d, int) and not isinstance(d, bool):
            for leaf in jax.tree_util.tree_leaves(a, is_leaf=lambda x: isinstance(x, T)):
                if not isinstance(leaf, T):
                    raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type "
                                     f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please use None "
                                     "as the respective in_dim")
                if not -leaf.ndim <= d < leaf.ndim:
                    raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                                     f"dimension {leaf.ndim}. Please use in_dim=None or a dimension in "
                                     f"[-{leaf.ndim}, {leaf.ndim})" if leaf.ndim else
                                     f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                                     "dimension 0. A 0-dim Tensor has no dimension to map over: use in_dim=None")
                sizes.append(leaf.shape[d])
        elif isinstance(d, (tuple, list)) and isinstance(a, (tuple, list)) and len(d) == len(a):
            for di, ai in zip(d, a):
                visit(di, ai)
        elif isinstance(d, dict) and isinstance(a, dict) and set(d) == set(a):
            for k in a:
                visit(d[k], a[k])
        else:
            raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
                             f"structure {jax.tree_util.tree_structure(d)} but inputs has structure "
                             f"{jax.tree_util.tree_structure(a, is_leaf=lambda x: isinstance(x, T))}.")
    for d, a in zip(dims, args):
        visit(d, a)
    if not sizes:
        raise ValueError(f"{where}: at least one input must be a Tensor mapped over a dimension (in_dims)")
    if len(set(sizes)) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0]


def _check_outputs(out, out_dims, name):
    """vmap's outputs must be tensors (torch's ValueError), with out_dims fitting their structure."""
    T = _T()
    for leaf in jax.tree_util.tree_leaves(out, is_leaf=lambda x: x is None or isinstance(x, T)):
        if not isinstance(leaf, T):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(leaf)}. Did "
                             "you mean to set out_dims= to None for output?")
    pairs = [(out_dims, out)]
    if isinstance(out_dims, tuple) and isinstance(out, (tuple, list)) and len(out_dims) == len(out):
        pairs = list(zip(out_dims, out))
    for d, o in pairs:
        if isinstance(d, int):
            for leaf in jax.tree_util.tree_leaves(o, is_leaf=lambda x: isinstance(x, T)):
                nd = leaf.ndim + 1  # (with the batch dimension)
                if not -nd <= d < nd:
                    raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but "
                                     f"got {d})")


def _written_inputs(inputs, arrays, level, counts):
    """The inputs the function wrote in place, as a tree like theirs: each written tensor's final value
    (None elsewhere), mapped back into the caller's tensor after the call (``_write_back``); ``counts``
    gets their number of writes by leaf. An input vmap does not map over (in_dims None) cannot take a
    per-sample value (``y.add_(x)`` with x batched): torch refuses, as one tensor cannot hold a value
    per batch element."""
    T = _T()
    counts.clear()
    leaves, tree = jax.tree_util.tree_flatten(_ordered(inputs), is_leaf=lambda x: isinstance(x, T))
    finals = []
    for i, (t, a) in enumerate(zip(leaves, jax.tree_util.tree_leaves(arrays))):
        if isinstance(t, T) and t._st.version:
            v = t._value
            if level.batched(v) and not level.batched(a):
                raise RuntimeError(_BATCHED_WRITE)
            counts[i] = t._st.version
            finals.append(v)
        else:
            finals.append(None)
    return jax.tree_util.tree_unflatten(tree, finals)


def _write_back(args, written, counts):
    """The caller's tensors get what the mapped function wrote into its inputs (``_written_inputs``),
    with autograd and one version step per write, as torch's in-place ops on them."""
    if not counts:
        return
    T = _T()
    leaves, tree = jax.tree_util.tree_flatten(_ordered(args), is_leaf=lambda x: isinstance(x, T))
    finals = tree.flatten_up_to(written)
    for i, n in counts.items():
        t, new = leaves[i], finals[i]
        if GRAD.enabled and t.requires_grad and (t._base if t._base is not None else t).is_leaf:
            raise _leaf_error(t)
        t._write(new if isinstance(new, T) else T._wrap(new))
        t._st.version += n - 1


def _rerecord(tensors, finals):
    """Captured tensors that require grad, written in place inside vmap, hold their new values already;
    their autograd history moves on to the transform's node as torch's in-place ops would (``finals``:
    those values on the tape), without another version step."""
    versions = [(t._st, t._st.version) for t in tensors]
    for t, new in zip(tensors, finals):
        if isinstance(new, _T()) and new.requires_grad:
            t._write(new)
    for st, v in versions:
        st.version = v  # (the values are the same: views' cached values stay right)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Map ``func`` over a batch dimension of its inputs (JAX's vmap)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                           f"Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def run(*args, **kwargs):
        n = _batch_size(args, in_dims, name)
        if chunk_size is None or chunk_size >= n:
            return run_chunk(n, args, kwargs)
        return _chunked(run_chunk, n, chunk_size, args, in_dims, out_dims, randomness, kwargs)

    def run_chunk(n, args, kwargs):
        from .random import default_generator as gen
        grad_on = GRAD.enabled
        counts = {}  # input leaf -> in-place writes the function made to it
        taped = []  # captured tensors that require grad and were written

        def f(keys, *arrays):
            saved = gen._key
            with _VmapLevel(grad_on) as level:
                level.refuse_random = randomness == "error"
                try:
                    if keys is not None:
                        gen._key = _T()._wrap(keys)  # each batch element draws from its own key
                    inputs = _wrap_tree(arrays)
                    level.inputs = jax.tree_util.tree_leaves(arrays)
                    with transform_running("batch"), _values_unreadable("vmap"):
                        out = func(*inputs, **kwargs)
                    _check_outputs(out, out_dims, name)
                finally:
                    gen._key = saved
                    batched_write = level.undo_batched_writes()
                if batched_write:
                    raise RuntimeError(_BATCHED_WRITE)
                written = _written_inputs(inputs, arrays, level, counts)
                taped[:] = level.taped.values()
                finals = [t._value for t in taped]
            return _unwrap_tree(out), written, finals

        keys = None
        if randomness == "different":
            keys = jax.random.split(jax.random.wrap_key_data(gen.next_key()), n)
            keys = jax.random.key_data(keys)
        axes = (0 if keys is not None else None,) + (in_dims if isinstance(in_dims, tuple)
                                                    else (in_dims,) * len(args))
        arrays = _arrays(args)
        # dict prefixes as _Dict (the outputs' dicts are ordered as out_dims lists them)
        in_axes = _dims_like(axes, (keys,) + tuple(arrays))
        # the inputs written in place come back mapped as they went in
        mapped = jax.vmap(f, in_axes=in_axes, out_axes=(_ordered(out_dims), in_axes[1:], None))
        out, written, finals = _on_tape(lambda arrs: mapped(keys, *arrs), args, arrays, func=func)
        _write_back(args, written, counts)
        _rerecord(taped, finals)
        return _wrap_tree(out)
    return run


def _chunked(run_chunk, n, size, args, in_dims, out_dims, randomness, kwargs):
    """vmap with ``chunk_size``: the function mapped over one chunk of the batch after another, as torch
    does (a captured tensor written in place changes between chunks), the outputs concatenated along
    ``out_dims``. With randomness 'same' every chunk draws the same values."""
    from .random import default_generator as gen
    from ._dispatch import REGISTRY
    T = _T()
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    key = gen._key.clone() if randomness == "same" else None
    outs = []
    for start in range(0, n, size):
        k = min(size, n - start)

        def part(d, sub):  # (a view: in-place writes to the inputs reach the caller's tensors)
            if d is None:
                return sub
            return jax.tree_util.tree_map(lambda t: t.narrow(d, start, k) if isinstance(t, T) else t, sub,
                                          is_leaf=lambda x: isinstance(x, T))
        chunk = jax.tree_util.tree_map(part, _ordered(dims), _ordered(args), is_leaf=lambda x: x is None)
        if randomness == "same" and start:
            gen._key.copy_(key)
        outs.append(_ordered(run_chunk(k, _plain(chunk), kwargs)))
    cat = REGISTRY["cat"]

    def join(d, *subs):
        if d is None:
            return subs[0]
        return jax.tree_util.tree_map(lambda *ts: cat(ts, d) if isinstance(ts[0], T) else ts[0], *subs,
                                      is_leaf=lambda x: isinstance(x, T))
    return _plain(jax.tree_util.tree_map(join, _dims_like(out_dims, outs[0]), *outs, is_leaf=lambda x: x is None))


# ------------------------------------------------------------------ modules
def _resolve(module, name):
    """(owning submodule, attribute name, 'param' | 'buffer' | None) for a dotted name."""
    *path, attr = name.split(".")
    mod = module
    for p in path:
        mod = mod._modules.get(p) if hasattr(mod, "_modules") else None
        if mod is None:
            return None, attr, None
    if attr in mod._parameters:
        return mod, attr, "param"
    if attr in mod._buffers:
        return mod, attr, "buffer"
    return mod, attr, None


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """Call ``module`` with its parameters and buffers replaced by the given tensors."""
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):
        values = {}
        for d in parameter_and_buffer_dicts:
            dup = sorted(set(values) & set(d))
            if dup:
                raise ValueError(f"{dup} appeared in multiple dictionaries; behavior of functional call is "
                                 "ambiguous")
            values.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = kwargs or {}

    all_names = [n for n, _ in module.named_parameters(remove_duplicate=False)] + \
        [n for n, _ in module.named_buffers(remove_duplicate=False)]
    if tie_weights:  # a tensor given for one name of a tied parameter replaces all its names
        by_id = {}
        for n, t in list(module.named_parameters(remove_duplicate=False)) + \
                list(module.named_buffers(remove_duplicate=False)):
            by_id.setdefault(id(t), []).append(n)
        for names in by_id.values():
            given = [n for n in names if n in values]
            if any(values[n] is not values[given[0]] for n in given):
                raise ValueError(f"functional_call got multiple values for keys {sorted(given)}, which are tied. "
                                 "Consider using tie_weights=False")
            if given:
                for n in names:
                    if n not in values:
                        values[n] = values[given[0]]
    if strict:
        missing = [n for n in all_names if n not in values]
        unexpected = [n for n in values if n not in all_names]
        if missing or unexpected:
            msg = f"Error(s) in reparametrizing for {type(module).__name__}:"
            if unexpected:
                msg += "\n\tUnexpected key(s): " + ", ".join(repr(k) for k in unexpected) + "."
            if missing:
                msg += "\n\tMissing key(s): " + ", ".join(repr(k) for k in missing) + "."
            raise RuntimeError(msg)

    saved = []
    try:
        for name, value in values.items():
            mod, attr, kind = _resolve(module, name)
            if kind is None:
                continue
            table = mod._parameters if kind == "param" else mod._buffers
            saved.append((table, attr, table[attr]))
            table[attr] = value
        return module(*args, **kwargs)
    finally:
        for table, attr, old in reversed(saved):
            table[attr] = old


def module_function(module):
    """``(apply, params)``: ``apply(params, *args, **kwargs)`` runs ``module`` as a pure JAX function of
    ``params`` (a dict of jax arrays: its parameters and buffers) and jax array arguments."""
    params = {n: t.detach().jax() for n, t in module.named_parameters()}
    params.update({n: t.detach().jax() for n, t in module.named_buffers()})

    def apply(params, *args, **kwargs):
        with transform_running():
            out = functional_call(module, _wrap_tree(params), _wrap_tree(args), _wrap_tree(kwargs))
        return _unwrap_tree(out)
    return apply, params


def stack_module_state(models):
    """``(params, buffers)``: each model's parameters and buffers stacked along a new first dim."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    t0 = type(models[0])
    if not all(type(m) is t0 for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    from ._dispatch import REGISTRY
    stack = REGISTRY["stack"]
    params = {n: stack([dict(m.named_parameters())[n].detach() for m in models])
              for n, _ in models[0].named_parameters()}
    buffers = {n: stack([dict(m.named_buffers())[n] for m in models]) for n, _ in models[0].named_buffers()}
    for n, p in models[0].named_parameters():
        if p.requires_grad:
            params[n].requires_grad_(True)
    return params, buffers


def functionalize(func, *, remove="mutations"):
    """torch.func.functionalize: under JAX tracing every jtorch op is already functional (in-place
    writes become new arrays), so the function is returned wrapped, unchanged in meaning."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n     remove='mutations': all inplace and out= operators will be "
                           "removed from the program, and replaced with their out-of-place equivalents.\n     "
                           "remove='mutations_and_views': In addition to the above, all aliasing operators "
                           "{view} will be replaced with their non-aliasing counterparts, {view}_copy.\n")

    @functools.wraps(func)
    def run(*args, **kwargs):
        return func(*args, **kwargs)
    return run


def replace_all_batch_norm_modules_(root):
    """Make every BatchNorm in ``root`` stop tracking running statistics (for vmap), in place."""
    for m in root.modules():
        if any(c.__name__.startswith("_BatchNorm") or c.__name__.startswith("BatchNorm") for c in type(m).__mro__):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root
