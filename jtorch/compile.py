"""jtorch.compile: run a whole function (forward, loss, backward, optimizer step)
as one XLA program.

How it works (DESIGN.md, "Whole-function compilation"):

1. The first call runs eagerly while recording every tensor storage the function
   reads that it did not create: parameters, buffers, ``.grad``s, optimizer state,
   the RNG key. That set is the *state*.
2. Later calls trace the function once per guard key under ``jax.jit``: the state
   storages' arrays are swapped for tracers (lifted to inputs), the function runs
   on the ordinary eager machinery (every op is a jitted callable, which simply
   stages into the outer trace; the autograd tape works on tracers too), and
   every state storage it wrote, every new storage that outlives the call (e.g.
   a ``.grad`` it created) and its outputs become the program's outputs.
3. Each call then runs the compiled program and writes the results back into the
   same Python storage objects, so ``p``, ``p.grad``, optimizer state and BN
   buffers are updated in place, exactly as eager would leave them.

A state read that the trace did not expect (state created by the previous call)
triggers one retrace with it lifted. Something that cannot be traced (``.item()``,
``print(t)``, Python control flow on tensor values) makes the function fall back
to eager with one warning naming the line, or raises with ``fullgraph=True``.
Guards: argument shapes/dtypes/requires_grad, Python scalar arguments, state
shapes/dtypes and requires_grad (``requires_grad_(False)`` freezing), which ``.grad``s are None,
modules' ``training`` flags, and the plain Python values the function reads from its closure,
globals and ``self`` (``_PyState``). Optimizer state is found through its optimizer, so tensors
``opt.load_state_dict`` puts there replace the old ones as program inputs (no recompile).
Optimizer learning rates are lifted as traced scalars, and so is any other float
hyper-parameter once it changes between calls (OneCycleLR's momentum), so a scheduler
does not recompile. A Python number (argument or value read) whose value changes between
calls becomes an input traced as a SymInt/SymFloat (torch's automatic dynamic; ``dynamic=``),
specialised again where Python needs its value; a branch on one (``if (i + 1) % k == 0``) is a
guard instead, one program per branch (torch's symbolic guards). Python values the step writes (a counter,
``g["lr"] = lr``) are replayed after each call; writes that cannot be (a list grown) break
the graph.
On one device each program is one donating executable, compiled on its first call;
see docs/internals.md ("jtorch.compile") for that, the buffers donated for the
tensors a step creates, and programs that create state.
"""
import functools
import gc
import sys
from operator import attrgetter, is_, itemgetter
import traceback
import types
import warnings
import weakref

import jax
import jax.extend.core as jax_core
import numpy as np

from . import _chalf, _compile_args, _compile_cuts, _dispatch, _layout, _lazy, _spmd
from ._errors import Unsupported
from ._legacy import strided as _strided
from ._dispatch import GRAD
from .autograd.forward_ad import _LEVEL as _DUAL_LEVEL, _TANGENTS
from .autograd.graph import Node
from .tensor import HIDDEN
from ._symbolic import DECIDE as _sym_decide, SYM_TYPES, Input as _SymInput, evaluate as _sym_eval, \
    python_type as _sym_type, wrap as _sym_wrap

_ALL = weakref.WeakSet()  # every CompiledFunction (``reset`` forgets their programs)
# torch.compiler.set_stance (compiler.py): "default"; "force_eager" (compiled functions run eagerly);
# "eager_on_recompile"/"fail_on_recompile" (a call that needs a new program runs eagerly / raises);
# "eager_then_compile" and "aot_eager_then_compile" are jtorch's default (its first call is eager anyway)
_STANCE = ["default"]
_STANCES = frozenset(["default", "force_eager", "eager_on_recompile", "fail_on_recompile", "eager_then_compile",
                      "aot_eager_then_compile"])
_COMPILING_STANCES = frozenset(["eager_then_compile", "aot_eager_then_compile"])
_NO_RECOMPILE = frozenset(["eager_on_recompile", "fail_on_recompile"])


class _NestedArgs(Exception):
    """Nested tensor arguments: the call goes to the per-structure programs of nested/_compile.py."""


class GraphBreak(RuntimeError):
    pass


class UserGraphBreak(Exception):
    """``torch._dynamo.graph_break()`` met while tracing: a graph break like any other."""


class EagerThisCall(Exception):
    """Raised while tracing by code that cannot be traced this time but may be on a later call (a
    GradScaler step before the optimizer has state): this call runs eagerly, the next traces again."""


class _Recorder:
    """Collects storage reads/writes while the first (eager) call runs."""

    def __init__(self):
        self.new = weakref.WeakSet()
        self.order = []          # weakrefs to new storages, in creation order
        self.reads = {}          # id(storage) -> (storage, tensor that read it)
        self.grad_touched = {}   # id(tensor) -> tensor whose .grad was assigned
        self.backward_ran = False  # set by the autograd engine: a training step, not a forward

    def created(self, st):
        self.new.add(st)
        self.order.append(weakref.ref(st))

    def read(self, t):
        st = t._st
        if st in self.new:
            return
        cur = self.reads.get(id(st))
        # remember a root-layout tensor for each storage (a parameter rather than a view of it),
        # preferring one that requires grad: it is the autograd input for that state
        if t._vfn:
            t = None
        if cur is None or (t is not None and (cur[1] is None or (t._requires_grad and not cur[1]._requires_grad))):
            self.reads[id(st)] = (st, t)

    def write(self, t):
        self.read(t)

    def grad_set(self, t, g):
        self.grad_touched[id(t)] = t


def _untraced_version(before, now):
    """The version of a storage the trace swapped tracers into, once its array is back: one it never had, so
    views cached during the trace recompute, and one autograd reads as ``before`` (a multiple of HIDDEN on
    top, as a ``.data`` write), so graphs of earlier eager calls that saved it still backpropagate."""
    return before + HIDDEN * ((now - before) // HIDDEN + 1)


class _Tracer(_Recorder):
    """Active while jax traces the function: swaps nothing itself, but notices
    state it was not told about (a concrete array read inside the trace)."""

    def __init__(self, lifted):
        super().__init__()
        self.lifted = lifted     # ids of storages whose arrays are tracers now
        self.missed = {}
        self.restore = []        # concrete arrays of missed storages, put back after the trace
        self.grad_log = []       # (tensor, grad tensor or None) assignments, in order

    def read(self, t):
        st = t._st
        if id(st) in self.lifted or st in self.new or id(st) in self.missed:
            return
        if not isinstance(st.array, jax.core.Tracer):
            self.missed[id(st)] = (st, None if t._vfn else t)
            self.restore.append((st, st.array, st.version))

    def grad_set(self, t, g):
        self.grad_log.append((t, g))


def _is_tensor(x):
    return isinstance(x, _dispatch.Tensor)


def _flatten(tree):
    return jax.tree_util.tree_flatten(tree, is_leaf=_is_tensor)


def _user_frame(tb):
    """The innermost traceback frame outside jtorch and jax: the line that broke the graph."""
    here = __file__.rsplit("/", 1)[0] + "/"  # the jtorch package (not the folder it is in: scripts there)
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(here) and "/jax/" not in f.filename
              and "/jax_" not in f.filename and f.filename != "<torch_function entry>"]  # (jtorch's generated entries)
    return frames[-1] if frames else None


def _find_optimizers(state_ids):
    try:
        from .optim.optimizer import Optimizer
    except ImportError:
        return []
    found = []
    for opt in list(getattr(Optimizer, "_instances", ())):
        for g in opt.param_groups:
            if any(id(p._st) in state_ids for p in g["params"]):
                found.append(opt)
                break
    return found


def _opt_identity(optimizers):
    """What load_state_dict replaces in each optimizer: its state dict and param_groups list (held,
    compared by identity)."""
    return [(o.state, o.param_groups) for o in optimizers]


def _opt_same(seen, optimizers):
    return len(seen) == len(optimizers) and all(
        o.state is s and o.param_groups is g for o, (s, g) in zip(optimizers, seen))


def _mod_identity(modules):
    """Each module's parameters, buffers and submodules (held): one replaced by another object
    (``load_state_dict(assign=True)``, ``m.weight = Parameter(...)``, ``model.fc = nn.Linear(...)``) is
    state the program does not read."""
    return [(m, list(m._parameters.values()), list(m._buffers.values()), list(m._modules.values()))
            for m in modules]


def _mod_same(seen):
    for m, ps, bs, cs in seen:
        p, b, c = m._parameters, m._buffers, m._modules
        if len(p) != len(ps) or len(b) != len(bs) or len(c) != len(cs) or not all(map(is_, p.values(), ps)) \
                or not all(map(is_, b.values(), bs)) or not all(map(is_, c.values(), cs)):
            return False
    return True


def _find_modules(state_ids):
    try:
        from .nn.modules.module import Module
    except ImportError:
        return []
    mods, every = [], list(getattr(Module, "_instances", ()))
    for m in every:
        own = list(m._parameters.values()) + list(m._buffers.values())
        if any(t is not None and id(t._st) in state_ids for t in own):
            mods.append(m)
    # and the modules above them (a parent holding no state of its own, e.g. a Sequential): whether
    # their submodules are the same objects is guarded too
    found = {id(m) for m in mods}
    grew = True
    while grew:
        grew = False
        for m in every:
            if id(m) not in found and any(id(c) in found for c in m._modules.values() if c is not None):
                found.add(id(m))
                mods.append(m)
                grew = True
    return mods


class _Entry:
    """One traced program for one guard key."""
    __slots__ = ("key", "once", "fallback", "esc_avals", "jitted", "written", "arg_written", "escaped", "out_tree", "out_order",
                 "out_static", "grad_replay", "n_out", "body",
                 "grad_op", "out_is_tensor", "outer_grad", "donating",
                 "dyn_args", "py_in", "py_writes", "n_reads", "numbers", "guards", "other",
                 "out_layouts", "views", "arg_grads", "out_const", "out_grads", "probes")  # (see _trace)


class CompiledFunction:
    def __init__(self, fn, fullgraph=False, dynamic=None, mode=None, backend=None, options=None):
        self.fn = fn
        self.fullgraph = fullgraph
        self.dynamic = dynamic  # scalar arguments: None automatic (dynamic after a change), True, False
        self._forget()
        _ALL.add(self)
        functools.update_wrapper(self, fn, updated=())

    def _forget(self):
        self.state = None        # list of (storage, tensor)
        self.grad_of = {}        # state index -> the tensor whose .grad that state is
        self.opt_slots = {}      # state index -> (optimizer, param, key) of optimizer state
        self.opt_seen = []       # the optimizers' state dicts and param_groups lists (see _note_grads)
        self.mod_seen = []       # the modules' parameters and buffers (see _mod_identity)
        self.compiles = 0        # programs traced (the entries, and those dropped after one run)
        self._retraced = set()   # guard keys whose first program ran once only (see entry.once)
        self.entries = {}
        self._nested = {}  # nested-argument structure -> (CompiledFunction over the values, its _Call)
        self.eager = False
        self.optimizers = []
        self.modules = []
        self._device = None  # where the state lives (scalars are placed there)
        self._ranks = None  # set when the step runs across processes (see _spmd.trace_step)
        self._fast = None  # _Fast: what the last call left, for a cheap guard on the next (see _call_fast)
        # optimizer hyper-parameters passed as traced scalars: lr always, any other float (or tuple of
        # floats, Adam's betas) once it changed between calls (OneCycleLR's momentum), unless tracing
        # with it failed (a Python branch on its value): those stay static (guarded by value)
        self.lifted_keys = {"lr"}
        self._static_keys = set()
        self._hyper_seen = {}  # (id(group), key) -> value of each unlifted hyper-parameter at the last trace
        self.py = _PyState(self.fn)
        self._dyn_pos = set()  # leaf positions of scalar arguments traced as inputs (SymInt/SymFloat)
        self._static_pos = set()  # positions that failed as inputs: guarded by value for good
        self._arg_seen = None  # (tree, {position: value}) of the scalar arguments at the last trace
        self._py_seen = None  # the Python items' values at the last trace
        self._static_views = False  # view arguments' positions guarded by value (see _compile_args.py)
        self._ids = None  # (state list, its length, ids of its storages): see _state_ids
        self._plans = _compile_args.PlanCache()  # the tensor arguments' last Plans, reused while one fits
        self._probing = None  # the next trace's probes (shapes, dtypes) for retained tensors (see _trace)

    def __get__(self, obj, cls=None):
        return self if obj is None else functools.partial(self, obj)

    # -------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        if self.eager or _dispatch.TRACE is not None or (_DUAL_LEVEL[0] >= 0 and _TANGENTS):
            # (inside a torch.func transform, or a forward AD level with dual tensors about: eager's ops carry
            # the tangents, through no_grad regions too, which the program's stop_gradient cuts would not)
            return self.fn(*args, **kwargs)
        if _STANCE[0] != "default" and _STANCE[0] not in _COMPILING_STANCES:
            if _STANCE[0] == "force_eager":
                return self.fn(*args, **kwargs)
            if _STANCE[0] not in _STANCES:
                raise RuntimeError(f"invalid torch.compile stance '{_STANCE[0]}'")
        if _lazy._CUR[0].nodes:
            _lazy.flush()  # pending eager ops first: the state is read (and donated) as real arrays
        fast = self._fast
        if fast is not None:
            if not kwargs:
                out = _call_fast(fast, args)
                if out is not _MISS:
                    return out
            # it holds the state arrays: drop it (and this frame's reference) before the full path's
            # refcount test, else that path never donates
            self._fast = fast = None
        if self.state is not None:
            self._follow_rebinds()
        if self.state is None:
            if _STANCE[0] in _NO_RECOMPILE:  # (torch would compile at this call)
                return self._no_recompile(args, kwargs)
            out = self._discover(args, kwargs)
            if self.fullgraph and not self.eager and self.state is not None:
                # torch reports a graph break under fullgraph=True at the first call: trace it now
                # (the next call runs this program) rather than at the second call
                leaves, tree = _flatten((args, kwargs))
                try:
                    self._guard_key(leaves, tree)  # (nested arguments: their own programs, nested/_compile.py)
                    self._add_entry(args, kwargs, leaves, tree)
                except (GraphBreak, EagerThisCall, _NestedArgs):
                    pass
            return out
        leaves, tree = _flatten((args, kwargs))
        try:
            key = self._guard_key(leaves, tree)
        except GraphBreak:
            return self.fn(*args, **kwargs)
        except _NestedArgs:
            from .nested._compile import compiled_call
            return compiled_call(self, args, kwargs)
        entry = self._lookup(key, leaves)
        if entry is None and (self._dyn_changed(leaves, tree) | (bool(self.entries) and self._lift_changed())):
            key = self._guard_key(leaves, tree)
            entry = self._lookup(key, leaves)
        if entry is None:
            from ._dynamo import config
            # (the first trace is allowed: it is the program of the first call, which ran eagerly)
            if (_STANCE[0] in _NO_RECOMPILE or config.error_on_recompile) and (self.compiles or self.entries) \
                    and key not in self._retraced:
                return self._no_recompile(args, kwargs)
            limit = config.recompile_limit
            if sum(len(self._chain(e)) for e in self.entries.values()) >= limit:
                if config.fail_on_recompile_limit_hit:
                    from ._dynamo.exc import FailOnRecompileLimitHit
                    raise FailOnRecompileLimitHit("Hard failure due to fail_on_recompile_limit_hit")
                warnings.warn(f"jtorch.compile: {getattr(self.fn, '__name__', 'function')} recompiled "
                              f"{limit} times (cache_size_limit); running it eagerly from now on.")
                self.eager = True
                return self.fn(*args, **kwargs)
            try:
                entry = self._add_entry(args, kwargs, leaves, tree)
            except (GraphBreak, EagerThisCall):
                return self.fn(*args, **kwargs)
        dyn = _arg_dyn(args, entry.dyn_args)
        sig = _arg_sig(args, dyn, self._plans, self._static_views, self._state_ids(), self._device)[0] if not kwargs and \
            not (entry.outer_grad and GRAD.enabled) and len(dyn) == len(entry.dyn_args) else None
        out = self._run(entry, leaves)
        if out is _EAGER:
            return self.fn(*args, **kwargs)
        if entry.once:
            # the program created state that later calls must read (an optimizer's buffers made by its
            # first step()): Python decided that from state it could not see (``len(state) == 0``), so
            # the next call traces again, with that state lifted
            self._retraced.add(entry.key)
            self._remove(entry)
            return out
        # the state as the call left it must select this same entry: then the next call can
        # reuse it after checking only that nothing changed since (see _Fast)
        if sig is not None and self._lookup(self._guard_key(leaves, tree), leaves) is entry:
            self._fast = _Fast.make(self, entry, sig, dyn)
        return out

    def _no_recompile(self, args, kwargs):
        """A call that needs a new program under set_stance("eager_on_recompile"/"fail_on_recompile")."""
        if _STANCE[0] == "eager_on_recompile":
            return self.fn(*args, **kwargs)
        fn = getattr(self.fn, "__func__", self.fn)
        fn = getattr(getattr(fn, "__self__", None), "forward", fn)  # a module: its forward
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if _STANCE[0] != "fail_on_recompile":  # config.error_on_recompile
            from ._dynamo.exc import RecompileError
            where = "" if code is None else f" in {code.co_filename}:{code.co_firstlineno}"
            raise RecompileError(f"Recompiling function {getattr(fn, '__name__', 'function')}{where}")
        where = "" if code is None else (f" filename: '{code.co_filename}', function name: '{code.co_name}', "
                                         f"line number: {code.co_firstlineno}")
        raise RuntimeError(f"Detected recompile when torch.compile stance is 'fail_on_recompile'.{where}")

    def _add_entry(self, args, kwargs, leaves, tree):
        """Trace and keep the program for these arguments."""
        entry = self._build(args, kwargs)
        # building may have found more state: key the entry by the settled state
        entry.key = self._guard_key(leaves, tree)
        head = self.entries.get(entry.key)
        # programs of one key that differ in their symbolic guards (a branch on a SymInt) chain
        entry.other = head if head is not None and entry.guards else None
        self.entries[entry.key] = entry
        self.compiles += 1
        if entry.once and entry.key in self._retraced:
            entry.once = False  # traced again and still creating tensors: they are made afresh each call
        return entry

    def _lookup(self, key, leaves):
        """The entry for guard key ``key`` whose symbolic guards hold for these arguments, or None."""
        entry = self.entries.get(key)
        while entry is not None and entry.guards and not _guards_hold(
                entry.guards, self._scalar_values(leaves, entry.dyn_args, entry.py_in)):
            entry = entry.other
        return entry

    def _chain(self, entry):
        out = []
        while entry is not None:
            out.append(entry)
            entry = entry.other
        return out

    def _remove(self, entry):
        chain = [e for e in self._chain(self.entries.get(entry.key)) if e is not entry]
        for a, b in zip(chain, chain[1:] + [None]):
            a.other = b
        if chain:
            self.entries[entry.key] = chain[0]
        else:
            self.entries.pop(entry.key, None)

    def _discover(self, args, kwargs):
        rec = _Recorder()
        self.py = _PyState(self.fn)  # what the function sees now (a counter made after compile())
        py_before = self.py.snapshot()
        groups_before = _group_values()
        moved = _schedulers_moved(None)
        prev = _dispatch.TRACE
        _dispatch.TRACE = rec
        try:
            out = self.fn(*args, **kwargs)
        finally:
            _dispatch.TRACE = prev
        # Python state the function changes: the compiled calls replay what they can (a number or
        # other plain value written); the rest (a list grown, an object rebound, an optimizer's
        # hyper-parameters set) they cannot: the function then runs eagerly from now on
        written, new, changed = self.py.diff(py_before, first=True)
        self.py.items += new
        if moved() or any(k in g and _differs(g[k], v) and type(g[k]) not in _PyState._TYPES
                          for g, vals in groups_before for k, v in vals.items()):
            changed += [f"param_groups[...][{k!r}]" for g, vals in groups_before for k, v in vals.items()
                        if k in g and _differs(g[k], v)]
        if changed:
            try:
                raise self._break("it changes Python state a compiled call would not update "
                                  f"({', '.join(sorted(set(changed)))}; e.g. a counter or a scheduler stepped inside)")
            except GraphBreak:
                return out
        leaves, tree = _flatten((args, kwargs))
        if self.dynamic is not False:
            # a number the function writes (a counter) changes every call: an input from the start
            self.py.lifted |= {i for i in written + list(range(len(self.py.items) - len(new), len(self.py.items)))
                               if _dyn_ok(self.py.get(*self.py.items[i][1:]))}
        if self.dynamic is True:
            self._dyn_pos = {i for i, x in enumerate(leaves) if _dyn_ok(x)}
        self._see_scalars(leaves, tree)
        arg_ids = {id(t._st) for t in leaves if _is_tensor(t)}
        self.state = [(st, t) for k, (st, t) in rec.reads.items() if k not in arg_ids]
        ids = {id(st) for st, _ in self.state}
        self.optimizers = _find_optimizers(ids)
        self.modules = _find_modules(ids)
        self.grad_params = list(rec.grad_touched.values())
        self._note_grads()
        return out

    def _note_grads(self):
        """Which state entries are some tensor's ``.grad``: that state is found through the tensor
        (``p.grad``), not the gradient tensor object, since ``zero_grad()`` and a later backward (or
        another compiled program of this function) give ``p`` a new ``.grad``."""
        where = {id(st): i for i, (st, _) in enumerate(self.state)}
        self.grad_of = {}
        for st, t in self.state:
            g = t._grad if t is not None and t._requires_grad else None
            if g is not None and id(g._st) in where:
                self.grad_of[where[id(g._st)]] = t
        # optimizer state is found through its optimizer (``opt.state[p][k]``): load_state_dict gives
        # it new tensors (and new param_groups), which the program then reads in place of the old ones
        self.opt_slots = {}
        for opt in self.optimizers:
            for p, st in opt.state.items():
                for k, v in st.items():
                    if isinstance(v, _dispatch.Tensor) and id(v._st) in where:
                        self.opt_slots[where[id(v._st)]] = (opt, p, k)
        self.opt_seen = _opt_identity(self.optimizers)
        self.mod_seen = _mod_identity(self.modules)

    def _follow_rebinds(self):
        """A state tensor given another storage since (``p.data = t``): lift that storage in its
        place (the guard then checks its shape), or discover the state afresh if it is a view or
        already lifted."""
        for i, p in self.grad_of.items():
            g = p._grad
            if g is not None and self.state[i][1] is not g:
                self.state[i] = (self.state[i][0], g)  # rebound below, like p.data = t
        if not _opt_same(self.opt_seen, self.optimizers):
            for i, (opt, p, k) in self.opt_slots.items():
                t = opt.state.get(p, {}).get(k)
                if not isinstance(t, _dispatch.Tensor):
                    self.state, self.entries = None, {}  # the state changed shape: discover it again
                    return
                self.state[i] = (self.state[i][0], t)
            self.opt_seen = _opt_identity(self.optimizers)
        if not _mod_same(self.mod_seen):
            self.state, self.entries = None, {}  # a parameter replaced (assign=True): discover the state again
            return
        if all(t is None or t._st is st for st, t in self.state):
            return
        ids = {id(st) for st, _ in self.state}
        state = []
        for st, t in self.state:
            if t is not None and t._st is not st:
                if t._vfn or id(t._st) in ids:
                    self.state, self.entries = None, {}
                    return
                st = t._st
            state.append((st, t))
        self.state = state

    def _guard_key(self, leaves, tree):
        key = [tree]
        dyn = self._dyn_pos
        tensors = []
        for i, x in enumerate(leaves):
            if _is_tensor(x):
                tensors.append(x)
                if x.is_nested:  # a program per ragged structure, over the values (nested/_compile.py)
                    raise _NestedArgs()
                if x.layout is not _strided:  # so are sparse ones (docs/sparse.md)
                    raise self._break(f"a {x.layout} argument")
                if type(x._st._arr) is _chalf.ChalfArray:  # (its storage holds no jax array: _chalf.py)
                    raise self._break("a complex32 argument")
                if x._vfn:  # (without computing the view's value: the program takes its storage)
                    shape, dtype = x._shape_dtype()
                else:
                    a = x._value
                    shape, dtype = a.shape, a.dtype
                key.append((shape, dtype, x._requires_grad, x._st.layout))
            elif i in dyn and _dyn_ok(x):
                key.append((type(x), _DYN))  # an input of the program: any value of that type
            else:
                key.append(_static_key(x))
        # views, arguments sharing a storage (with each other or the state): their geometry
        views = self._arg_plan(tensors)
        if views is not None:
            key.append(views.key)
        for st, _ in self.state:
            a = st.array
            key.append((getattr(a, "shape", None), getattr(a, "dtype", None)))
        key.append(tuple(p._grad is None for p in self.grad_params))
        key.append(tuple(t is not None and t._requires_grad for _, t in self.state))  # frozen parameters
        key.append(tuple(m.training for m in self.modules))
        key.append(GRAD.enabled)
        key.append(self.py.values())
        key.append(frozenset(self.lifted_keys))
        lifted = self.lifted_keys
        for opt in self.optimizers:
            for g in opt.param_groups:
                vals = tuple([(k, type(v), len(v) if type(v) is tuple else None) if k in lifted and _liftable(k, v) else v
                              for k, v in g.items() if k != "params"])
                try:
                    hash(vals)
                except TypeError:
                    vals = tuple(_static_key(v) for v in vals)
                key.append(vals)
        return tuple(key)

    def _arg_plan(self, tensors):
        """The _compile_args.Plan of these tensor arguments (None: each plain, on a storage of its own)."""
        return _compile_args.plan(tensors, self._static_views, self._state_ids(), self._plans)

    def _state_ids(self):
        """The ids of the state storages, kept while the state list is the same object of the same length
        (its storages change only with a new list or more entries; rebinds replace entries in a new list)."""
        ids, state = self._ids, self.state
        if ids is None or ids[0] is not state or ids[1] != len(state):
            ids = self._ids = (state, len(state), frozenset(id(st) for st, _ in state))
        return ids[2]

    def _scalar_values(self, leaves, dyn_args, py_in):
        """The numbers traced as inputs: scalar arguments, then Python items."""
        py = self.py
        return [leaves[i] for i in dyn_args] + [py.get(*py.items[i][1:]) for i in py_in]

    def _dyn_args(self, leaves):
        """The leaf positions of the scalar arguments traced as inputs for these arguments."""
        dyn = self._dyn_pos
        return [i for i in sorted(dyn) if i < len(leaves) and _dyn_ok(leaves[i])] if dyn else []

    def _see_scalars(self, leaves, tree):
        self._arg_seen = (tree, {i: x for i, x in enumerate(leaves) if _dyn_ok(x)})
        self._py_seen = [self.py.get(c, k) for _, c, k in self.py.items]

    def _dyn_changed(self, leaves, tree):
        """On a guard miss: torch's automatic dynamic. A scalar argument, or a number the function
        reads from its closure, globals or ``self``, whose value changed since the last trace becomes
        an input of the program (one program for all its values instead of one per value). Returns
        whether any did."""
        if self.dynamic is False:
            return False
        new = False
        if self._arg_seen is not None and self._arg_seen[0] == tree:
            seen = self._arg_seen[1]
            for i, x in enumerate(leaves):
                if i in seen and i not in self._dyn_pos and i not in self._static_pos and _dyn_ok(x) \
                        and type(x) is type(seen[i]) and x != seen[i]:
                    self._dyn_pos.add(i)
                    new = True
        py = self.py
        if self._py_seen is not None and len(self._py_seen) == len(py.items):
            for i, ((_, c, k), old) in enumerate(zip(py.items, self._py_seen)):
                if i in py.lifted or i in py.static:
                    continue
                v = py.get(c, k)
                if _dyn_ok(v) and type(v) is type(old) and v != old:
                    py.lifted.add(i)
                    new = True
        return new

    def _demote(self):
        """Tracing failed with scalars traced as inputs: perhaps one was used where Python needs its
        value (``range(n)``, a shape, a dim, ``if x > 0``). Specialise them again, ints first (the
        likelier culprits), as torch does with a SymInt used where a static value is needed. Returns
        whether any was demoted."""
        py = self.py
        for t in (int, float):
            pos = {i for i in self._dyn_pos if type(self._arg_seen[1].get(i) if self._arg_seen else None) is t}
            items = {i for i in py.lifted if type(py.get(*py.items[i][1:])) is t}
            if pos or items:
                self._dyn_pos -= pos
                self._static_pos |= pos
                py.lifted -= items
                py.static |= items
                return True
        return False

    def _hyper(self):
        """The (group, key) of each lifted optimizer hyper-parameter: traced scalars, so a scheduler
        moving them does not recompile."""
        out = []
        lifted = self.lifted_keys
        for opt in self.optimizers:
            for g in opt.param_groups:
                for k in lifted:
                    if k in g and _liftable(k, g[k]):
                        out.append((g, k))
        return out

    def _lift_changed(self):
        """On a guard miss: lift the float hyper-parameters whose values changed since the last trace.
        Returns whether any was."""
        new = set()
        for opt in self.optimizers:
            for g in opt.param_groups:
                for k, v in g.items():
                    if k in self.lifted_keys or k in self._static_keys or not _liftable(k, v):
                        continue
                    old = self._hyper_seen.get((id(g), k), v)
                    if old != v:
                        new.add(k)
        self.lifted_keys |= new
        return bool(new)

    def _see_hyper(self):
        self._hyper_seen = {(id(g), k): v for opt in self.optimizers for g in opt.param_groups
                            for k, v in g.items() if k != "params" and k not in self.lifted_keys}

    # -------------------------------------------------------------- tracing
    def _build(self, args, kwargs):
        for _ in range(5):
            try:
                entry, missed = self._trace(args, kwargs)
            except _Unlift:
                continue
            if not missed:
                return entry
            self.state.extend(missed)
            ids = {id(st) for st, _ in self.state}
            self.optimizers = _find_optimizers(ids)
            self.modules = _find_modules(ids)
            self._note_grads()
        raise self._break("the set of state tensors did not settle")

    def _break(self, why, exc=None):
        where = ""
        if exc is not None:
            fr = _user_frame(exc.__traceback__)
            if fr is not None:
                where = f" at {fr.filename}:{fr.lineno} ({fr.line})"
        msg = f"jtorch.compile: graph break in {getattr(self.fn, '__qualname__', self.fn)}{where}: {why}."
        if self.fullgraph:
            return GraphBreakError(msg + " (fullgraph=True)")
        msg += " Running this function eagerly."
        warnings.warn(msg)
        self.eager = True
        return GraphBreak(msg)

    def _trace(self, args, kwargs):
        states = [st for st, _ in self.state]
        leaves, tree = _flatten((args, kwargs))
        tensor_pos = [i for i, x in enumerate(leaves) if _is_tensor(x)]
        hyper = self._hyper()
        entry = _Entry()
        info = {}
        guards = []  # (expression, truth value) decided by the trace (see decide)
        fn = self.fn
        py = self.py
        self._see_scalars(leaves, tree)
        # numbers traced as inputs (SymInt/SymFloat): scalar arguments, then Python items (a counter)
        dyn_args, py_in = self._dyn_args(leaves), py.inputs()
        nd = len(dyn_args)
        # a zero input per tensor the function computes and retains the gradient of (_compile_cuts.Cuts.retain),
        # found by a trace without them
        probing, self._probing = self._probing, None
        n_probes = len(probing) if probing is not None else 0
        concrete = self._scalar_values(leaves, dyn_args, py_in)

        def decide(expr):
            # a branch on the traced numbers: taken as for the values traced for, and guarded on
            v = bool(_sym_eval(expr, concrete))
            guards.append((expr, v))
            return v

        def body(state_arrays, arg_arrays, hyper_vals):
            probes = hyper_vals[len(hyper_vals) - n_probes:] if n_probes else []
            hyper_vals = hyper_vals[:len(hyper_vals) - n_probes]
            n_h = len(hyper_vals) - nd - len(py_in)
            scalars, hyper_vals = hyper_vals[n_h:], hyper_vals[:n_h]
            py_snap = py.snapshot()
            # a run after the trace (the forward and VJP of a recorded program) leaves the objects the step
            # sees as the trace left them (``self.h = h`` names the trace's tensor, state the program writes)
            kept = [(w, dict(w)) for _, w in py.watch if isinstance(w, dict)] if info.get("traced") else ()
            saved = [(st, st.array, st.version) for st in states]
            saved_hyper = [(g, k, g[k]) for g, k in hyper]
            saved_groups = [(g, dict(g)) for opt in self.optimizers for g in opt.param_groups]
            it = iter(hyper_vals)
            saved_grads = {id(p): (p, p._grad) for p in self.grad_params}
            tr = _Tracer({id(st) for st in states})
            for st, a in zip(states, state_arrays):
                st.array = a
                st.version += 1
            for g, k in hyper:
                g[k] = tuple(next(it) for _ in g[k]) if type(g[k]) is tuple else next(it)
            # the arguments are wrapped before the tracer listens: not tensors the function created
            # (that would make one an output of the program if anything kept it alive)
            lv = list(leaves)
            if views is None:
                for i, a in zip(tensor_pos, arg_arrays):
                    lv[i] = _compile_args.wrap_arg(leaves[i], a)
                arg_inputs = [lv[i] for i in tensor_pos]
            else:  # views rebuilt on their storages' roots (_compile_args.py)
                traced, arg_inputs = views.rebuild(arg_tensors, arg_arrays)
                for i, t in zip(tensor_pos, traced):
                    lv[i] = t
            # (a backward inside sets the .grad of these: the caller's tensors get it after each call)
            info["arg_of"] = {id(t): k for k, t in enumerate(arg_inputs) if t is not None}
            for n, (i, a) in enumerate(zip(dyn_args, scalars)):
                lv[i] = _sym_wrap(a, _SymInput(n))
            given = {}
            for n, (i, a) in enumerate(zip(py_in, scalars[nd:])):
                given[i] = _sym_wrap(a, _SymInput(nd + n))
                py.put(*py.items[i][1:], given[i])
            prev, prev_decide, prev_cut = _dispatch.TRACE, _sym_decide[0], _dispatch.CUT[0]
            _dispatch.TRACE, _sym_decide[0] = tr, decide
            # JAX's derivative of the program (a forward recorded as one op) stops where the tape would
            _dispatch.CUT[0] = cuts = _compile_cuts.Cuts(None if probing is None else probes)
            guards.clear()
            try:
                a2, k2 = jax.tree_util.tree_unflatten(tree, lv)
                expect = {(id(g), k): g[k] for g, k in hyper}
                moved = _schedulers_moved(self.optimizers)
                out = fn(*a2, **k2)
                info["state_owners"] = _state_rebinds(cuts.rebinds, set(map(id, states)))
                # the function set a hyper-parameter: replayed (a number, or a value computed from the
                # numbers traced as inputs: ``g["lr"] = lr``), unless a scheduler stepped inside (its
                # own state would not be) or the value is something else
                group_writes, bad = _group_writes(saved_groups, expect)
                info["hyper_changed"] = bad or moved()
                out_leaves, out_tree = _flatten(out)
                if any(_is_tensor(o) and o.is_nested for o in out_leaves):  # eager only (docs/nested.md)
                    raise self._break("it returns a nested tensor")
                info["out_order"] = _dict_order(out)
                # outputs in a memory format (_memfmt.py): the program returns logical arrays, laid again
                lays = [o._st.layout if _is_tensor(o) and not o._vfn else None for o in out_leaves]
                info["out_layouts"] = lays if any(la is not None for la in lays) else None
                info["backward_ran"] = tr.backward_ran
                info["hooked"] = cuts.hooked
                where = {id(o): k for k, o in enumerate(out_leaves) if _is_tensor(o)}
                # each retained tensor: the output it is, else (weakly: one nothing else keeps is not state
                # the program must write) the tensor, whose .grad a probe gives where the step keeps it
                info["retained"] = [(t._st.array.shape, t._st.array.dtype, where.get(id(t), weakref.ref(t)))
                                    for t in cuts.retained]
                info["retain_inexact"] = cuts.inexact
                cuts.retained = [None] * len(cuts.retained)
                info["outer_grad"] = (not tr.backward_ran) and any(
                    _is_tensor(o) and o._requires_grad for o in out_leaves)
                # the tensor outputs the tape gives no history (``w.detach()``, an integer result)
                info["out_const"] = tuple(k for k, o in enumerate(o for o in out_leaves if _is_tensor(o))
                                          if not o.requires_grad)
                # outputs a backward inside gave a .grad (one retained, a leaf made inside): each returned
                # tensor gets it after every call, the output it is where the function returns it too
                info["out_grads"] = [(k, where.get(id(o._grad), o._grad)) for k, o in enumerate(out_leaves)
                                     if _is_tensor(o) and o._grad is not None]
                for o in out_leaves:
                    if _is_tensor(o):
                        o._grad_fn = None  # the program is one op; drop the inner graph
                # tensor arguments the function wrote in place (``a.add_(1)``, ``a[0] = 5``): their new
                # values are program outputs, written back into the caller's tensors after each call
                arg_written = [k for k, t in enumerate(arg_inputs) if t is not None and t._st.array is not arg_arrays[k]]
                arg_new = [arg_inputs[k]._st.array for k in arg_written]
                del a2, k2, lv
                out_ids = {id(o._st) for o in out_leaves if _is_tensor(o)}
                gc.collect()
                written = [i for i, st in enumerate(states) if st.array is not state_arrays[i]]
                alive = [r() for r in tr.order]
                escaped = [st for st in alive if st is not None and isinstance(st.array, jax.core.Tracer)
                           and id(st) not in out_ids]
                info.update(esc_avals=[(st.array.shape, st.array.dtype) for st in escaped])
                # the Python numbers the step returns and the Python values it writes (replayed after
                # each call): each a constant, an expression of the numbers traced as inputs, or a
                # program output read back (see _number)
                reads = []
                out_static = [None if _is_tensor(o) else _number(o, reads) or o for o in out_leaves]
                pw, pnew, info["py_bad"] = py.diff(py_snap)
                py_writes = [(c, k, _number(py.get(c, k), reads) or _SymOut(py.get(c, k)))
                             for c, k in [py.items[i][1:] for i in pw if not (i in given and py.get(*py.items[i][1:])
                                                                            is given[i])]
                             + [(c, k) for _, c, k in pnew] + group_writes]
                info.update(written=written, arg_written=arg_written, escaped=escaped, out_tree=out_tree, missed=list(tr.missed.values()),
                            grad_log=list(tr.grad_log), out_static=out_static, py_writes=py_writes,
                            n_reads=len(reads))
                return ([states[i].array for i in written] + arg_new, [st.array for st in escaped],
                        [o._value if _is_tensor(o) else None for o in out_leaves], reads)
            finally:
                _dispatch.TRACE, _sym_decide[0], _dispatch.CUT[0] = prev, prev_decide, prev_cut
                # tensors rebound (``p.data = t``) go back: a trace run again (the VJP of a recorded forward,
                # a retrace) starts where this one did; those of the program kept are rebound after (_trace)
                info["rebound"] = cuts.unbind()
                py.restore(py_snap)
                for w, old in kept:
                    for k, v in old.items():
                        if w.get(k, _MISS) is not v:
                            w[k] = v
                info["traced"] = True
                # state the trace did not know about (tr.restore) may have been written with tracers (e.g. an
                # optimizer's buffers created by the first, eager call): undone as the state's
                for st, a, v in saved + tr.restore:
                    st.array, st.version = a, _untraced_version(v, st.version)
                for g, vals in saved_groups:
                    g.update(vals)
                for g, k, v in saved_hyper:
                    g[k] = v
                for p, gr in saved_grads.values():
                    p._grad = gr

        state_arrays = [st.array for st in states]
        # (across processes each tensor argument is this rank's shard of the batch: passed as its own value)
        arg_tensors = [leaves[i] for i in tensor_pos]
        views = self._arg_plan(arg_tensors) if self._ranks is None and _spmd._ranks() is None else None
        arg_arrays = [x._value for x in arg_tensors] if views is None else views.arrays(arg_tensors)
        self._device = _device_of(state_arrays + arg_arrays)
        self._see_hyper()
        # the numbers themselves: jit passes a Python number as a weakly typed scalar in a few us, where
        # making it an array first (jnp.asarray, device_put) costs ~50 us per new value
        hyper_vals = _hyper_arrays([g[k] for g, k in hyper], self._device) + self._scalar_values(
            leaves, dyn_args, py_in) + [_zeros(shape, dtype) for shape, dtype, _ in probing or ()]
        if _commit(states, state_arrays + arg_arrays + hyper_vals):
            state_arrays = [st.array for st in states]
        try:
            # trace exactly once (the escaped storages found by this trace are the ones the
            # program's outputs belong to), then jit the jaxpr: a pure function, so calls take
            # jit's fast path and never rerun the Python function
            # a step with collectives across processes (DDP) is traced under shard_map (_spmd.Ranks)
            scheds = _schedulers(self.optimizers)
            try:
                traced, ranks = _spmd.trace_step(body, state_arrays, arg_arrays, hyper_vals, self._ranks)
            finally:
                changed = list(info.get("py_bad", ()))
                if info.get("hyper_changed"):
                    changed.append("optimizer hyper-parameters")
                if changed:
                    for sch, d in scheds:  # the eager rerun steps them
                        sch.__dict__.clear()
                        sch.__dict__.update(d)
            if changed:
                # a compiled call runs no Python: it would not update them (torch replays such writes)
                raise self._break(f"it changes Python state a compiled call would not update ({', '.join(changed)})")
            if info.get("backward_ran") and any(_is_tensor(t) and t._requires_grad and not t.is_leaf for t in (
                    arg_tensors if views is None else views.targets(arg_tensors))):
                # inside the program an argument is a leaf: the gradient would stop there, not reach the
                # tensors it was computed from
                raise self._break("a backward inside it reaches the autograd history of an argument")
            if info.get("outer_grad") and info.get("hooked"):
                # the backward of a forward recorded as one op is the program's VJP: it would not call them
                raise self._break("it registers a hook on a tensor it computes, and its outputs require grad")
            retained = info.get("retained") if info.get("outer_grad") else None
            if retained:
                # the gradient of a tensor inside the program is the gradient of a zero added to it (a probe)
                if info["retain_inexact"]:
                    raise self._break("it calls retain_grad() on a view it computes, or on a tensor after an op "
                                      "read it or before one writes it, and its outputs require grad")
                if probing is None:
                    self._probing = retained
                    raise _Unlift()  # traced again with the probes
                if [r[:2] for r in retained] != [r[:2] for r in probing]:
                    raise self._break("the tensors it retains the gradient of changed between traces")
            if views is not None and not views.split.isdisjoint(info.get("arg_written", ())):
                # an argument passed by value (a leaf view) and another on its storage: inside the program
                # a write to one would not be seen through the other
                raise self._break("it writes an argument that shares its storage with one passed by value")
            self._ranks = ranks
            # a step that placed tensors on a device mesh (nn.DataParallel) runs as one SPMD program
            place = _spmd.program_shardings(traced.jaxpr, state_arrays) if ranks is None else None
            spmd = {} if place is None else dict(in_shardings=place[0], out_shardings=place[1])
            if place is not None:
                self._device = place[2]
            program = _program(traced.jaxpr, place is None and ranks is None and self._device is not None
                               and self._device.platform == "cpu", getattr(fn, "__name__", "step"))
            jitted = jax.jit(program, **spmd)
        except (GraphBreakError, GraphBreak, EagerThisCall, _Unlift):
            raise
        except Exception as e:
            if isinstance(e, UserGraphBreak):
                raise self._break("torch._dynamo.graph_break() called", e)
            if isinstance(e, _chalf.ChalfArgument):  # (its storage holds no jax array: _chalf.py)
                raise self._break("a complex32 tensor is not traced", e)
            if views is not None and views.numbers and isinstance(e, _VALUE_NEEDED):
                # Python needed a view argument's position (its storage offset): guard them by value
                self._static_views = True
                raise _Unlift() from e
            if (dyn_args or py_in) and self._demote():
                raise _Unlift() from e  # a traced number was needed as a value: specialise it, retrace
            if not isinstance(e, _VALUE_NEEDED):
                raise
            extra = self.lifted_keys - {"lr"}
            if extra:  # perhaps Python branched on a lifted hyper-parameter: keep those static, retrace
                self._static_keys |= extra
                self.lifted_keys = {"lr"}
                raise _Unlift() from e
            raise self._break(type(e).__name__.replace("Error", "") + ": a tensor value was needed in Python", e)
        entry.dyn_args, entry.py_in = dyn_args, py_in
        entry.views = views is not None
        entry.guards, entry.other = list(guards), None
        entry.py_writes, entry.n_reads = info["py_writes"], info["n_reads"]
        if info.get("missed"):
            # escaped tensors may hold tracers now; the retrace recreates them
            return None, info["missed"]
        if place is None and ranks is None:
            # one device: one program, which donates the written state buffers (parameters, optimizer
            # state) so XLA updates them in place; a written array something else still holds is copied
            # first (see _unshared). Compiled ahead of time on its first call: an executable, unlike
            # jit's cache, does not tell committed arrays from uncommitted ones, so an argument drawn
            # from the RNG key before the key was pinned (torch.randn between steps) and one drawn after
            # run the same executable (jit lowered and compiled the whole step again)
            # The tensors it creates that outlive it (the new .grads) came back in fresh buffers, a new
            # allocation per call (up to 1% of the MLP step on a 2-core CPU, within noise; more where
            # allocations cost more). So on the CPU the program also takes the arrays the last call left
            # in those tensors, unused but donated: XLA writes the new values into them. Not on a GPU:
            # there those donations made the step slower (H100: MLP 192 against 164 us, CNN 588 against
            # 311 us for the same program without them; bench.overhead, docs/internals.md)
            cpu = self._device is not None and self._device.platform == "cpu"
            donate_esc = cpu if DONATE_ESCAPED is None else DONATE_ESCAPED
            n_in = len(state_arrays) + len(arg_arrays) + len(hyper_vals)
            n_esc = len(info["escaped"]) if donate_esc else 0

            def program_esc(*xs, run=program):
                return run(*xs[:n_in])
            program_esc.__name__ = program_esc.__qualname__ = program.__name__
            entry.fallback = jax.jit(program_esc, donate_argnums=tuple(info["written"]) + tuple(
                range(n_in, n_in + n_esc)))
            entry.jitted, entry.donating = None, _Once(entry)
            entry.esc_avals = info["esc_avals"] if donate_esc else None
        else:
            entry.fallback, entry.esc_avals = None, None
            entry.jitted = _spmd.cpu_safe(jitted, place) if ranks is None else ranks.runner(jitted)
            # a second program donates the written state buffers (parameters, optimizer state) so XLA
            # updates them in place; used when nothing else holds those arrays (see _run)
            entry.donating = jax.jit(program,
                                     donate_argnums=tuple(info["written"]), **spmd) if info["written"] else None
            entry.donating = _spmd.cpu_safe(entry.donating, place) if ranks is None else ranks.runner(
                entry.donating)
        entry.written, entry.arg_written = info["written"], info["arg_written"]
        entry.escaped = info["escaped"]
        grads = {id(g._st) for _, g in info["grad_log"] if g is not None}
        entry.once = any(id(st) not in grads for st in entry.escaped)
        entry.out_tree, entry.out_order = info["out_tree"], info["out_order"]
        entry.out_layouts = info["out_layouts"]
        entry.out_static = info["out_static"]
        entry.numbers = bool(entry.py_writes) or any(type(o) in _NUMBER_SPECS for o in entry.out_static)
        # the last assignment of each tensor's .grad is replayed after every call, onto the caller's
        # tensor for an argument (entry.arg_grads: its index among the program's tensor inputs)
        last = {}
        for t, g in info["grad_log"]:
            last[id(t)] = (t, g)
        arg_of = info["arg_of"]
        outs = {id(g) for _, g in info["out_grads"]}
        entry.out_grads = info["out_grads"]
        entry.grad_replay = [(t, g) for t, g in last.values() if id(t) not in arg_of and id(g) not in outs]
        entry.arg_grads = [(arg_of[id(t)], g) for t, g in last.values() if id(t) in arg_of]
        for st in entry.escaped:
            st.array = None  # filled by the first run
        for t, b in info["rebound"]:
            _compile_cuts.bind(t, b)
        owners = info["state_owners"]
        for i, (st, t) in enumerate(self.state):
            if id(st) in owners and (t is None or not t._requires_grad):
                self.state[i] = (st, owners[id(st)])  # (the state input carries its history)
        entry.n_out = len(entry.out_static)
        entry.out_is_tensor = [s is None for s in entry.out_static]
        # outputs get a graph through the program only for forwards (no backward inside)
        entry.outer_grad = info["outer_grad"]
        entry.out_const = info["out_const"]
        # (a retained tensor the step keeps, ``self.h = h``: state the program writes, its .grad the probe's)
        written = {id(st) for st in entry.escaped}
        entry.probes = [(shape, dtype, k if type(k) is int else _kept(k(), written)) for shape, dtype, k in retained] \
            if retained else ()
        entry.body, entry.grad_op = body, None
        return entry, None

    # -------------------------------------------------------------- running
    def _run(self, entry, leaves):
        states = [st for st, _ in self.state]
        arg_tensors = [x for x in leaves if _is_tensor(x)]
        views = None
        if entry.views:  # the program takes storage roots: the tensors that receive them (_compile_args.py)
            views, given = self._arg_plan(arg_tensors), arg_tensors
            arg_arrays, arg_tensors = _view_inputs(views, arg_tensors, self._device), views.targets(arg_tensors)
        else:
            arg_arrays = [x._value for x in arg_tensors]
        if entry.arg_grads and any(arg_tensors[k]._grad is not None for k, _ in entry.arg_grads):
            return _EAGER  # a backward inside accumulates into an argument's .grad: the program makes a new one
        scalars = self._scalar_values(leaves, entry.dyn_args, entry.py_in)
        hyper_vals = _hyper_arrays([g[k] for g, k in self._hyper()], self._device) + scalars
        if entry.outer_grad and GRAD.enabled:
            return self._run_recorded(entry, states, arg_tensors, hyper_vals, scalars,
                                      None if views is None else views.state_owners(given))
        hyper_vals += [_zeros(shape, dtype) for shape, dtype, _ in entry.probes]
        fn = entry.jitted
        alone = [states[i].host is None and sys.getrefcount(states[i].array) <= 2 for i in entry.written]
        arrays = [st.array for st in states]
        if entry.donating is not None and all(alone):
            # every written state array is held by its storage alone: let XLA update it in place
            fn = entry.donating
        elif fn is None:  # one program that donates: copy what something else holds
            fn = entry.donating
            for i, ok in zip(entry.written, alone):
                if not ok:
                    arrays[i] = jax.numpy.array(arrays[i], copy=True)
        esc = []
        if entry.esc_avals is not None:
            # last call's arrays of the tensors the program creates, donated for the new values
            esc = [st.array if st.array is not None and st.host is None and sys.getrefcount(st.array) <= 2
                   else None for st in entry.escaped]
            esc = [a if a is not None and not any(a is b for b in arrays) else _zeros(*av)
                   for a, av in zip(esc, entry.esc_avals)]
        args = (*arrays, *arg_arrays, *hyper_vals, *esc)
        del arrays, esc, arg_arrays
        try:
            flat = fn(*args)
        except TypeError:
            if entry.fallback is None:
                raise
            flat = entry.fallback(*args)  # arguments of other types than compiled for (weak types)
        nw, ne = len(entry.written) + len(entry.arg_written), len(entry.escaped)
        it = iter(flat[nw + ne:])
        outs = [next(it) if m else None for m in entry.out_is_tensor]
        return self._finish(entry, states, arg_tensors, flat[:nw], flat[nw:nw + ne], outs, scalars,
                            flat[len(flat) - entry.n_reads:])

    def _run_recorded(self, entry, states, arg_tensors, hyper_vals, scalars, lifted=None):
        """Outputs that need gradients: the whole program is dispatched as one op, so its
        backward is the program's VJP (forward-only compiled models trained eagerly). ``lifted``: for a
        state storage an argument is on, the argument that owns it (inside the trace the argument stands on
        the state's input, so that input carries the argument's history: _compile_args.Plan.state_owners)."""
        if entry.grad_op is None:
            body, ns, na = entry.body, len(states), len(arg_tensors)
            mask = entry.out_is_tensor

            def flat(*xs):
                # traced again for the forward and for its VJP (which the engine runs with grad mode off):
                # in the grad mode this program is for, so the tape (and _compile_cuts) see what eager would
                was, GRAD.enabled = GRAD.enabled, True
                try:
                    w, e, o, p = body(list(xs[:ns]), list(xs[ns:ns + na]), list(xs[ns + na:]))
                finally:
                    GRAD.enabled = was
                return tuple(w) + tuple(e) + tuple(a for a, m in zip(o, mask) if m) + tuple(p)
            entry.grad_op = _dispatch.OpDef.raw(flat, "CompiledFunction", ns + na + len(hyper_vals) + len(entry.probes))
            entry.grad_op.lazy = False  # tracing ``body`` swaps state arrays and versions: never recorded lazily
            # state and arguments the program writes (BatchNorm's running statistics, ``v.mul_(2)`` under
            # no_grad) are written back after the call: not inputs the backward checks for in-place changes
            # (its arrays are kept anyway)
            written = set(entry.written) | {ns + k for k in entry.arg_written}
            entry.grad_op.saves = frozenset(i for i in range(ns + na + len(hyper_vals) + len(entry.probes))
                                            if i not in written)
        T = _dispatch.Tensor
        probes = [_Probe.tensor(shape, dtype) for shape, dtype, _ in entry.probes]
        dyn = [lifted[id(st)] if lifted and id(st) in lifted else t if t is not None else
               _compile_args.storage_tensor(st) for st, t in self.state] + list(arg_tensors) + hyper_vals + probes
        res = list(_dispatch.apply(entry.grad_op, dyn, ()))
        _own_written(entry, res, dyn, len(states))
        nw, ne = len(entry.written) + len(entry.arg_written), len(entry.escaped)
        written = [r._value for r in res[:nw]]
        escaped = [r._value for r in res[nw:nw + ne]]
        for k in entry.out_const:  # not in the graph, as in eager (the op's other outputs are)
            r = res[nw + ne + k]
            r._requires_grad, r._grad_fn = False, None
        it = iter(res[nw + ne:])
        outs = [next(it) if m else None for m in entry.out_is_tensor]
        for p, (_, _, k) in zip(probes, entry.probes):
            if k is not None:  # a returned (or kept) tensor retains the gradient its probe gets
                t = outs[k] if type(k) is int else k
                t._retains = True
                p._grad_fn._retain = {0: t}
        return self._finish(entry, states, arg_tensors, written, escaped, outs, scalars,
                            [r._value for r in res[len(res) - entry.n_reads:]])

    def _finish(self, entry, states, arg_tensors, written, escaped, outs, scalars, reads):
        nw = len(entry.written)
        for st, a in zip([states[i] for i in entry.written] + entry.escaped, list(written[:nw]) + list(escaped)):
            st.array = a
            st.version += 1
            if st.host is not None:
                _store_host(st)
        for k, a in zip(entry.arg_written, written[nw:]):
            t = arg_tensors[k]
            if t._vfn:  # a view: written through to its base, as the function's in-place op did
                was, GRAD.enabled = GRAD.enabled, False
                try:
                    t.copy_(_dispatch.Tensor._wrap(a))
                finally:
                    GRAD.enabled = was
            else:
                t._st.array = a
                t._st.version += 1
                if t._st.host is not None:
                    _store_host(t._st)
        for t, g in entry.grad_replay:
            t._grad = g
        T = _dispatch.Tensor
        for k, g in entry.arg_grads:
            # a tensor of its own (the program's storage for it takes the next call's gradient), as each
            # eager backward makes a new .grad where there was none
            arg_tensors[k]._grad = None if g is None else _compile_args.wrap_arg(g, g._value)
        out_leaves = [s if a is None else (a if isinstance(a, T) else T._wrap(a))
                      for a, s in zip(outs, entry.out_static)]
        if entry.out_layouts is not None:
            _lay_outputs(out_leaves, entry.out_layouts)
        if entry.out_grads:
            _give_grads(out_leaves, entry.out_grads)
        if entry.numbers:
            out_leaves = _numbers(entry, reads, scalars, out_leaves)
        out = jax.tree_util.tree_unflatten(entry.out_tree, out_leaves)
        return out if entry.out_order is None else _reorder(out, entry.out_order)


def _own_written(entry, res, dyn, ns):
    """The recorded call's saved values of the state and arguments it writes (not among the op's saves:
    the write-back is no in-place change its backward checks for) in buffers of their own, where their
    storage shares its buffer with a numpy array: writing the new values back there would change them."""
    node = next((r._grad_fn for r in res if r._grad_fn is not None), None)
    if node is None:
        return
    saved = None
    for i in list(entry.written) + [ns + k for k in entry.arg_written]:
        st = dyn[i]._st
        if st.host is not None and st.alias is True:
            from .autograd.graph import _host_free
            saved = saved or list(node.saved)
            saved[i] = _host_free(saved[i])
    if saved is not None:
        node.saved = tuple(saved)


def _kept(t, escaped):
    """A retained tensor the trace made that outlives it on a storage the program writes, else None."""
    return t if t is not None and id(t._st) in escaped else None


def _state_rebinds(rebinds, state_ids):
    """A state tensor the function rebound (``p.data = t``) goes back to its storage, which takes the new
    value: the program writes it there, and a trace again (the VJP of a recorded forward) starts from it.
    Returns {id(storage): tensor} of those that require grad."""
    owners = {}
    for t, (st, vfn, *_) in reversed(rebinds):
        if t._st is st or id(st) not in state_ids or vfn or t._vfn:
            continue
        a = t._st.array
        if a.shape != st.array.shape or a.dtype != st.array.dtype:
            continue  # (the new storage is state the program creates, as before)
        st.array = a
        st.version += 1
        t._st, t._val, t._valver = st, None, st.version
        t._sig = t._meta = t._strides = None
        if t._requires_grad:
            owners[id(st)] = t
    return owners


class _Probe(Node):
    """The source of a probe (_compile_cuts.Cuts.retain) of a forward recorded as one op: the gradient the
    backward gives it is the ``.grad`` of the returned tensor in ``_retain`` (the engine's road for a tensor
    that retains its gradient); nothing before it."""
    __slots__ = ()

    def __init__(self, shape, dtype):
        super().__init__()
        self.next_edges = ()
        self.out_meta = ((shape, dtype),)
        self.saved = self.inputs = None
        self.versions = ()

    @staticmethod
    def tensor(shape, dtype):
        """A zero tensor this node is the history of."""
        t = _dispatch.Tensor._wrap(_zeros(shape, dtype))
        t._requires_grad, t._grad_fn, t._out_idx = True, _Probe(shape, t.dtype), 0
        return t

    def name(self):
        return "RetainedGradProbe"

    @property
    def next_functions(self):
        return ()

    def _check_saved(self):
        pass

    def apply(self, grads, create_graph):
        return []

    def release(self):
        pass


def _guards_hold(guards, inputs):
    """Whether each branch a program took on its traced numbers goes the same way for ``inputs``."""
    memo = {}
    return all(bool(_sym_eval(e, inputs, memo)) is v for e, v in guards)


class _SymOut:
    """A Python value the step returns or writes, computed in Python after each call from the values of
    the numbers traced as inputs (``expr``, Python's own arithmetic: no wait for the program); a
    constant is its own expression."""
    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class _ReadOut:
    """A number the step returns or writes that only the program computes (from a lifted learning
    rate, a symbolic number of unknown expression): program output ``index`` of the numbers read
    back, as this Python type (a host read: the call waits for the program)."""
    __slots__ = ("type", "index")

    def __init__(self, typ, index):
        self.type, self.index = typ, index


_NUMBER_SPECS = (_SymOut, _ReadOut)


def _number(v, reads):
    """How a traced call's Python number ``v`` is had after each compiled call: a _SymOut or _ReadOut
    (its jax value appended to ``reads``, the program outputs read back); None for a plain value."""
    if isinstance(v, SYM_TYPES):
        if v.expr is not None:
            return _SymOut(v.expr)
        v = v.node
    elif not isinstance(v, jax.core.Tracer):
        return None
    reads.append(v)
    return _ReadOut(_sym_type(_sym_wrap(v)), len(reads) - 1)


def _numbers(entry, reads, inputs, out_leaves):
    """After a call: write the Python values the step writes, and fill in the numbers it returns."""
    memo = {}

    def value(s):
        return _sym_eval(s.expr, inputs, memo) if type(s) is _SymOut else s.type(reads[s.index])
    for c, k, s in entry.py_writes:
        _PyState.put(c, k, value(s))
    return [value(s) if type(s) in _NUMBER_SPECS else o for o, s in zip(out_leaves, entry.out_static)]


def _dict_order(x):
    """The key order of the dicts in a returned structure (jax's pytrees sort dict keys), None if there
    is no dict to put back in order."""
    if isinstance(x, dict):
        return list(x), {k: _dict_order(v) for k, v in x.items()}
    if type(x) in (tuple, list):
        sub = [_dict_order(v) for v in x]
        return None if all(o is None for o in sub) else sub
    return None


def _reorder(x, order):
    if order is None:
        return x
    if isinstance(x, dict):
        keys, sub = order
        out = {k: _reorder(x[k], sub[k]) for k in keys}
        if type(x) is dict:
            return out
        x.clear()  # a dict subclass (defaultdict): the same object type, its keys in order again
        x.update(out)
        return x
    return type(x)(_reorder(v, o) for v, o in zip(x, order))


class GraphBreakError(Unsupported):
    """Raised under fullgraph=True where torch.compile would graph-break (torch._dynamo.exc.Unsupported)."""


class _PyState:
    """The plain Python values (numbers, strings, bools, None) a function can see besides its
    arguments: its closure cells, the globals its code names, for a bound method its object's
    attributes, and one level down the entries of the dicts and the attributes of the plain objects
    found there (``stats["n"]``, ``meter.count``). The trace bakes them in, so they are guarded by
    value, except the numbers that are *lifted* (``lifted``: traced as SymInt/SymFloat inputs and
    guarded by type), the ones the step writes (a counter) or that changed between calls.

    A value the step writes is replayed after each compiled call: a constant written back, a
    symbolic one (computed from lifted values) read back from the program (``_trace``). A write that
    cannot be replayed (a list or dict grown or shrunk, an attribute rebound to another kind of
    object) breaks the graph."""
    _TYPES = (int, float, bool, str, type(None))

    def __init__(self, fn):
        self.items = []  # (label, dict or cell, key or None)
        self.lifted = set()  # indices of items traced as inputs
        self.static = set()  # indices of items that failed as inputs: guarded by value for good
        self.watch = []  # (label, container): list/dict/set lengths and object attributes watched for writes
        obj = None
        if isinstance(fn, functools.partial):
            fn = fn.func
        if hasattr(fn, "__self__") and hasattr(fn, "__func__"):
            obj, fn = fn.__self__, fn.__func__
        code = getattr(fn, "__code__", None)
        if code is None:
            return
        names = set(code.co_names)  # the attribute and global names the code uses
        first = []  # (label, value) of the non-plain values seen at the first level
        if obj is not None and isinstance(getattr(obj, "__dict__", None), dict):
            d = obj.__dict__
            self.watch.append(("self", d))
            for k, v in d.items():
                if k in names:
                    self._add(f"self.{k}", d, k, v, first)
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            self._add(name, cell, None, v, first)
        g = getattr(fn, "__globals__", {})
        for k in code.co_names:
            if k in g:
                self._add(k, g, k, g[k], first)
        for label, v in first:
            inner = _plain_dict(v)
            if inner is None:
                continue
            self.watch.append((label, inner))
            dot = type(inner) is not type(v) or not isinstance(v, dict)
            for k, e in list(inner.items()):
                if type(e) in self._TYPES and (not dot or isinstance(k, str)):
                    self.items.append((f"{label}.{k}" if dot else f"{label}[{k!r}]", inner, k))
                elif isinstance(e, (list, set, dict)):
                    self.watch.append((f"{label}.{k}" if dot else f"{label}[{k!r}]", e))

    def _add(self, label, c, k, v, first):
        if type(v) in self._TYPES:
            self.items.append((label, c, k))
        elif isinstance(v, (list, set)):
            self.watch.append((label, v))
        else:
            first.append((label, v))

    @staticmethod
    def get(c, k):
        try:
            return c.cell_contents if k is None else c[k]
        except (KeyError, ValueError):
            return _MISS

    @staticmethod
    def put(c, k, v):
        if k is None:
            c.cell_contents = v
        elif v is _MISS:
            c.pop(k, None)
        else:
            c[k] = v

    def values(self):
        out = []
        lifted = self.lifted
        for i, (_, c, k) in enumerate(self.items):
            try:
                v = c.cell_contents if k is None else c[k]
            except (KeyError, ValueError):
                v = _MISS
            t = type(v)
            if i in lifted and (t is float or t is int):
                out.append((t, _DYN))  # an input of the program: any value of that type
            else:
                # by value while a plain value; another object is not guarded here (nor was it before)
                out.append((t, v if t in self._TYPES else None))
        return tuple(out)

    def inputs(self):
        """The items traced as inputs now: lifted and holding a number."""
        return [i for i in sorted(self.lifted) if _dyn_ok(self.get(*self.items[i][1:]))]

    def snapshot(self):
        """What a call can change: each item's value, each watched container's size and keys."""
        return ([self.get(c, k) for _, c, k in self.items],
                [(len(w), set(w) if isinstance(w, dict) else None) for _, w in self.watch],
                [w.copy() for _, w in self.watch if not isinstance(w, dict)])

    def diff(self, snap, first=False):
        """Since ``snap``: (indices of the items written, new plain entries (label, dict, key), labels of
        the writes a compiled call cannot replay). ``first``: the eager first call, which may create an
        entry holding a tensor (``self.last = loss.detach()``; state the program then writes each call);
        a trace creating one more grows a dict each call."""
        vals, sizes, _ = snap
        written = [i for i, ((_, c, k), old) in enumerate(zip(self.items, vals))
                   if not _same_value(self.get(c, k), old)]
        new, bad = [], []
        for (label, w), (n, keys) in zip(self.watch, sizes):
            if keys is None:
                if len(w) != n:
                    bad.append(f"{label} changed size")
                continue
            for k in set(w) - keys:
                v = w[k]
                if (type(v) in self._TYPES or isinstance(v, SYM_TYPES)) and isinstance(k, str):
                    new.append((f"{label}[{k!r}]", w, k))
                elif not first or not isinstance(v, _dispatch.Tensor) and not _is_tensor_tuple(v):
                    # a tensor kept by the step (``self.last = loss.detach()``) is program state (escaped)
                    bad.append(f"{label}[{k!r}] added")
            if keys - set(w):
                bad.append(f"{label}: entries deleted")
        for i in written:
            v = self.get(*self.items[i][1:])
            if type(v) not in self._TYPES and not isinstance(v, SYM_TYPES):
                bad.append(f"{self.items[i][0]} set to a {type(v).__name__}")
        return written, new, bad

    def restore(self, snap):
        """Undo what a trace did to the items and watched containers (it ran on symbolic values)."""
        for (_, c, k), old in zip(self.items, snap[0]):
            if self.get(c, k) is not old:
                self.put(c, k, old)
        copies = iter(snap[2])
        for (_, w), (n, keys) in zip(self.watch, snap[1]):
            if keys is not None:
                for k in set(w) - keys:
                    del w[k]
                continue
            old = next(copies)
            if len(w) != n:
                w.clear()
                w.update(old) if isinstance(w, set) else w.extend(old)


def _plain_dict(v):
    """The dict of plain values one level down: a dict itself, or a plain object's attributes (not a
    module, class, function, tensor or jtorch object: those are state or guarded otherwise)."""
    if type(v) is dict:
        return v
    t = type(v)
    if isinstance(v, (types.ModuleType, type, types.FunctionType, types.MethodType, functools.partial)) or \
            t.__module__.startswith(("jtorch", "builtins", "jax", "numpy", "torch")):
        return None
    d = getattr(v, "__dict__", None)
    if type(d) is not dict:
        return None
    try:
        from .nn.modules.module import Module
        from .optim.optimizer import Optimizer
        if isinstance(v, (Module, Optimizer)):
            return None
    except ImportError:
        pass
    return d


def _is_tensor_tuple(v):
    return isinstance(v, (tuple, list)) and len(v) > 0 and all(isinstance(e, _dispatch.Tensor) for e in v)


def _same_value(a, b):
    if a is b:
        return True
    if type(a) is not type(b) or type(a) not in _PyState._TYPES:
        return False
    return a == b or a != a and b != b  # NaN stays NaN


def _dyn_ok(v):
    """A Python number that can be a traced input (an int that fits in int64; no bools)."""
    t = type(v)
    return t is float or t is int and -(1 << 63) <= v < (1 << 63)


def _schedulers(optimizers):
    """The LR schedulers of ``optimizers``, each with a shallow copy of its attributes."""
    try:
        from .optim.lr_scheduler import LRScheduler
    except ImportError:
        return []
    opts = None if optimizers is None else {id(o) for o in optimizers}
    return [(s, dict(s.__dict__)) for s in list(LRScheduler._instances)
            if opts is None or id(getattr(s, "optimizer", None)) in opts]


def _schedulers_moved(optimizers):
    """A function telling whether an LR scheduler of ``optimizers`` stepped since this call."""
    before = [(s, s.__dict__.get("last_epoch"), s.__dict__.get("_step_count")) for s, _ in _schedulers(optimizers)]
    return lambda: any(s.__dict__.get("last_epoch") != e or s.__dict__.get("_step_count") != n for s, e, n in before)


def _group_writes(saved_groups, expect):
    """The (group, key) of each hyper-parameter the function set (from ``saved_groups``: each group's
    values before, ``expect``: the traced inputs it was given), and whether some write cannot be
    replayed (a key added or removed, a value other than a number or one computed from traced numbers)."""
    out, bad = [], False
    for g, vals in saved_groups:
        if g.keys() != vals.keys():
            bad = True
            continue
        for k, v in g.items():
            if k == "params":
                continue
            old = expect.get((id(g), k), vals[k])
            if v is old:
                continue
            symbolic = isinstance(v, (jax.core.Tracer, *SYM_TYPES))
            if not symbolic and not isinstance(old, (jax.core.Tracer, *SYM_TYPES)) and not _differs(v, old):
                continue
            if symbolic or type(v) in _PyState._TYPES:
                out.append((g, k))
            else:
                bad = True
    return out, bad


def _differs(a, b):
    if a is b:
        return False
    try:
        return bool(a != b)
    except Exception:  # e.g. tensors of several elements
        return True


def _group_values():
    """Every live optimizer's param groups with their hyper-parameter values (all but the params)."""
    try:
        from .optim.optimizer import Optimizer
    except ImportError:
        return []
    return [(g, {k: v for k, v in g.items() if k != "params"})
            for opt in list(getattr(Optimizer, "_instances", ())) for g in opt.param_groups]


class _Unlift(Exception):
    """Tracing failed with lifted hyper-parameters beyond lr: trace again with them static."""


def _liftable(k, v):
    """Whether hyper-parameter ``k`` with value ``v`` can be a traced scalar: lr as any number; others
    as a nonzero float (optimizers test ``!= 0`` in Python: a zero stays static and guarded) or a
    tuple of floats (betas)."""
    t = type(v)
    if k == "lr":
        return t is float or t is int
    if t is float:
        return v != 0
    return t is tuple and len(v) > 0 and all(type(e) is float for e in v)


def _hyper_arrays(vals, device):
    out = []
    for v in vals:
        if type(v) is tuple:
            out.extend(_scalar_array(e, device) for e in v)
        else:
            out.append(_scalar_array(v, device))
    return out


# ------------------------------------------------------------------ the per-call fast path
_MISS = object()
_EAGER = object()  # (_run: this call runs the function eagerly)
# what tracing raises where Python needs a traced value
_VALUE_NEEDED = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                 jax.errors.TracerIntegerConversionError, jax.errors.TracerBoolConversionError)
_DYN = "dynamic"  # the guard of a lifted number: its type only
_VIEWS = object()  # heads the last item of _arg_sig's signature where the program takes storage roots
_SIMPLE = frozenset([int, float, bool, str, type(None)])
_get_array = attrgetter("array")
_get_arr = attrgetter("_arr")
_get_grad = attrgetter("_grad")
_get_st = attrgetter("_st")
_get_requires = attrgetter("_requires_grad")
_get_training = attrgetter("training")


class _Holder:  # stands for a Storage in _refcount_limits
    __slots__ = ("array",)

    def __init__(self, a):
        self.array = a


def _refcount_limits():
    """sys.getrefcount of a state array that nothing but its storage holds, counted the way
    _call_fast counts it (the storage, _Fast.held, the call's argument list, and a tuple picked
    from that list when only some state is written): measured once, not assumed."""
    stores = [_Holder(object()), _Holder(object())]
    held = list(map(_get_array, stores))  # noqa: F841 (counted: it stands for _Fast.held)
    arrays = list(map(_get_array, stores))
    return max(map(sys.getrefcount, arrays)), max(map(sys.getrefcount, itemgetter(0, 1)(arrays)))


_REFS_ALL, _REFS_PICKED = _refcount_limits()


def _refcount_esc():
    """sys.getrefcount of an escaped array that nothing but its storage holds, counted the way
    _call_fast counts it (the storage and the list taken from _Fast.held_esc)."""
    store = _Holder(object())
    esc = [store.array]
    return max(map(sys.getrefcount, esc))


_REFS_ESC = _refcount_esc()


def _zeros(shape, dtype):
    return jax.numpy.zeros(shape, dtype)


def _arg_sig(args, dyn=(), plans=None, static_views=False, state=frozenset(), device=None):
    """Positional arguments as the guard sees them: tensors by (shape, dtype, requires_grad, memory format),
    plain Python scalars by type and value, those at the positions ``dyn`` (traced as inputs) by
    type only; (None, None) for anything else (the full guard's job). Views among the tensors: the program
    takes storage roots, and the last item is (_VIEWS, their geometry), from the PlanCache ``plans``
    (``state``: the state storages' ids; see _compile_args.py)."""
    sig = []
    arrays = []
    T = _dispatch.Tensor
    views = False
    for x in args:
        if isinstance(x, T):
            if x._vfn:
                views = True
                sig.append((*x._shape_dtype(), x._requires_grad, x._st.layout))
                continue
            a = x._value
            arrays.append(a)
            sig.append((a.shape, a.dtype, x._requires_grad, x._st.layout))
        elif type(x) in _SIMPLE:
            sig.append((type(x), x))
        else:
            return None, None
    for j in dyn:
        sig[j] = (type(args[j]), _DYN)
    if views:
        tensors = [x for x in args if isinstance(x, T)]
        plan = _compile_args.plan(tensors, static_views, state, plans)
        sig.append((_VIEWS, plan.key))
        arrays = _view_inputs(plan, tensors, device)
    return sig, arrays


def _view_inputs(views, tensors, device):
    """The program's inputs for the tensor arguments by their _compile_args.Plan, the views' positions
    as scalars cached by value (a Python int costs the call ~15 us more than an array)."""
    arrays = views.arrays(tensors)
    n = len(views.numbers)
    if n:
        held = views.inputs
        if held is not None and held[0] is device:
            nums = held[1]
        else:
            nums = _hyper_arrays(views.numbers, device)
            # kept once each is an array (a value seen for the first time goes in as a number: _scalar_array)
            views.inputs = (device, nums) if not any(type(a) in _SIMPLE for a in nums) else None
        arrays[len(arrays) - n:] = nums
    return arrays


def _arg_dyn(args, leaf_pos):
    """The positions in ``args`` (plain tensors and scalars, no keywords) of the leaves ``leaf_pos``."""
    if not leaf_pos:
        return ()
    idx = [j for j, x in enumerate(args) if x is not None]
    try:
        return tuple(idx[i] for i in leaf_pos)
    except IndexError:
        return ()


class _Fast:
    """What a call through the full guard left behind, so that the next call can skip that guard.

    Recorded only when the state as the call left it selects the same entry under the full guard
    key. The next call then only checks that nothing the key depends on changed since: the
    argument signature; each state storage still holds the very array the last call left there
    (held here, so identity cannot be fooled by a reused address) and still belongs to the same
    tensor (``p.data = t`` rebinds); each ``.grad`` is the same object; the same ``training``
    flags, grad mode and optimizer hyper-parameters. A compiled call
    runs no Python, so it changes none of these itself except the state arrays (written back and
    re-held) and the ``.grad``s (replayed, the same objects every call). Anything else takes the
    full guard, which drops this record first.
    """
    __slots__ = ("entry", "sig", "states", "escaped", "held", "held_esc", "donate_esc", "py", "py_vals", "owners", "owned", "gparams", "grads",
                 "modules", "training", "grad_enabled", "groups", "hyper", "lrs", "lr_arrays", "device",
                 "wstores", "nws", "nw", "written", "picked", "replay", "single", "T", "dyn", "py_in",
                 "frozen", "requires", "opts", "opt_seen", "mod_seen", "plans", "static_views", "state_ids", "nargs")

    @classmethod
    def make(cls, cf, entry, sig, dyn=()):
        states = [st for st, _ in cf.state]
        if sig is None or entry.arg_written or entry.arg_grads or any(st.host is not None for st in states + entry.escaped):
            # numpy-shared storages, written arguments and their .grads need the write-backs of the full path
            return None
        views = bool(sig) and sig[-1][0] is _VIEWS
        if entry.views != views:
            # arguments sharing a storage with no view among them (the full guard tells them apart), or
            # views a program across processes takes by value
            return None
        f = cls()
        f.entry, f.sig, f.states, f.escaped = entry, sig, states, list(entry.escaped)
        f.nargs = len(sig) - views
        f.held = list(map(_get_array, states))
        f.held_esc = list(map(_get_array, f.escaped))
        f.py, f.py_vals = cf.py, cf.py.values()
        f.donate_esc = entry.esc_avals is not None and bool(f.escaped)
        f.owners = [t for _, t in cf.state if t is not None]  # p.data = ... rebinds p to another storage
        f.owned = [t._st for t in f.owners]
        # requires_grad_(False) freezes a parameter: another program (the modules' parameters only:
        # gradients and optimizer state never require grad)
        params = {id(p) for m in cf.modules for p in m._parameters.values() if p is not None}
        f.frozen = [t for t in f.owners if id(t) in params]
        f.requires = list(map(_get_requires, f.frozen))
        f.opts, f.opt_seen, f.mod_seen = list(cf.optimizers), cf.opt_seen, cf.mod_seen
        f.gparams = list(cf.grad_params)
        f.grads = list(map(_get_grad, f.gparams))
        f.modules = list(cf.modules)
        f.training = list(map(_get_training, f.modules))
        f.grad_enabled = GRAD.enabled
        f.hyper = cf._hyper()
        lifted = {(id(g), k) for g, k in f.hyper}
        f.groups = []
        for opt in cf.optimizers:
            for g in opt.param_groups:
                # a lifted hyper-parameter is an input of the program; any other is guarded
                keys = tuple(k for k in g if k != "params" and (id(g), k) not in lifted)
                vals = tuple(g[k] for k in keys)
                by_value = all(type(v) in _SIMPLE or type(v) is tuple and all(type(e) in _SIMPLE for e in v)
                               for v in vals)
                f.groups.append((opt, len(opt.param_groups), g, len(g), itemgetter(*keys) if keys else None,
                                 vals, by_value))
        f.device = cf._device
        f.lrs = [g[k] for g, k in f.hyper]
        f.lr_arrays = _hyper_arrays(f.lrs, f.device)
        w = f.written = list(entry.written)
        f.nws = len(w)
        f.wstores = [states[i] for i in w] + f.escaped
        f.nw = len(f.wstores)
        f.picked = None if not w or w == list(range(len(states))) else (itemgetter(*w) if len(w) > 1 else
                                                                 (lambda a, i=w[0]: (a[i],)))
        gp = {id(p) for p in f.gparams}
        f.replay = [(t, g) for t, g in entry.grad_replay if id(t) not in gp]  # the rest are guarded
        f.single = entry.out_tree == _LEAF_TREE and entry.out_is_tensor == [True] and not entry.numbers and \
            entry.out_layouts is None and not entry.out_grads
        f.T = _dispatch.Tensor
        f.dyn = dyn
        f.plans, f.static_views, f.state_ids = cf._plans, cf._static_views, cf._state_ids()
        f.py_in = [cf.py.items[i][1:] for i in entry.py_in]
        return f

    def unchanged(self):
        if not all(map(is_, map(_get_st, self.owners), self.owned)) or \
                list(map(_get_requires, self.frozen)) != self.requires or not _opt_same(self.opt_seen, self.opts) \
                or not _mod_same(self.mod_seen):
            return False
        if self.py.items and self.py.values() != self.py_vals:
            return False
        if GRAD.enabled is not self.grad_enabled or list(map(_get_training, self.modules)) != self.training:
            return False
        if not all(map(is_, map(_get_grad, self.gparams), self.grads)):
            return False
        for opt, ngroups, g, n, get, vals, by_value in self.groups:
            if len(opt.param_groups) != ngroups or len(g) != n:
                return False
            try:
                cur = get(g) if get is not None else ()
            except KeyError:
                return False
            if len(vals) == 1:
                cur = (cur,)
            if not all(map(is_, cur, vals)) and not (by_value and cur == vals):
                return False
        return True


_LEAF_TREE = jax.tree_util.tree_structure(0)


def _same_aval(a, b):
    return a is b or type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype


def _call_fast(f, args):
    """One compiled call after the cheap guard of _Fast; _MISS sends it to the full guard."""
    if len(args) != f.nargs:
        return _MISS
    try:
        sig, vals = _arg_sig(args, f.dyn, f.plans, f.static_views, f.state_ids, f.device)
    except _dispatch.SparseArgument:  # a sparse or nested argument: the full guard's job
        return _MISS
    if sig != f.sig:
        return _MISS
    # the storages' slots, not their ``array`` property: in the steady state each holds the very array
    # the last call left there (a pending lazy value never is; the property computes it below)
    arrays = list(map(_get_arr, f.states))
    held_esc = f.held_esc
    if held_esc is None or not (all(map(is_, map(_get_arr, f.escaped), held_esc)) and f.unchanged()):
        return _MISS
    if not all(map(is_, arrays, f.held)):
        arrays = list(map(_get_array, f.states))
        # a state array replaced since (an eager random op between steps advanced the generator's
        # key; p.data.copy_(...)): the entry still fits while shapes and dtypes are the same, which
        # is all the full guard asks of the state
        if not all(map(_same_aval, arrays, f.held)):
            return _MISS
        f.held = arrays[:]
    lrs = [g[k] for g, k in f.hyper]
    if not all(map(is_, lrs, f.lrs)):  # a scheduler moved a hyper-parameter: new scalars (cached by value)
        if not all(_liftable(k, v) and type(v) is type(o) and (type(v) is not tuple or len(v) == len(o))
                   for (_, k), v, o in zip(f.hyper, lrs, f.lrs)):
            return _MISS
        f.lrs, f.lr_arrays = lrs, _hyper_arrays(lrs, f.device)
    if f.dyn or f.py_in:  # numbers traced as inputs: their values now (cached by value)
        scalars = [args[j] for j in f.dyn] + [_PyState.get(c, k) for c, k in f.py_in]
        for v in scalars:
            if type(v) is int and not -(1 << 63) <= v < (1 << 63):
                return _MISS  # beyond int64: the full guard specialises it
    else:
        scalars = ()
    entry = f.entry
    if entry.guards and not _guards_hold(entry.guards, scalars):
        return _MISS
    fn = entry.jitted
    # donate the written state when nothing but its storage holds it (the same test as _run's)
    if entry.donating is not None and (
            not f.nws or max(map(sys.getrefcount, arrays)) <= _REFS_ALL if f.picked is None
            else max(map(sys.getrefcount, f.picked(arrays))) <= _REFS_PICKED):
        fn = entry.donating
    elif fn is None:  # one program that donates: copy what something else holds
        fn = entry.donating
        _unshare(arrays, f.written)
    if f.donate_esc:
        esc = held_esc
        f.held_esc = held_esc = None
        if max(map(sys.getrefcount, esc)) > _REFS_ESC:  # someone else holds one: a fresh buffer for it
            esc = [a if sys.getrefcount(a) <= _REFS_ESC + 1 else _zeros(*av) for a, av in zip(esc, entry.esc_avals)]
    else:
        esc = ()
    try:
        flat = fn(*arrays, *vals, *f.lr_arrays, *scalars, *esc)
    except TypeError:
        if entry.fallback is None:
            raise
        flat = entry.fallback(*arrays, *vals, *f.lr_arrays, *scalars, *esc)
    del arrays, esc
    for st, a in zip(f.wstores, flat):
        st._arr = a
        st.version += 1
    nws, nw = f.nws, f.nw
    if f.picked is None:
        f.held = flat[:nws]
    else:
        held = f.held
        for k, i in enumerate(f.written):
            held[i] = flat[k]
    f.held_esc = flat[nws:nw]
    for t, g in f.replay:
        t._grad = g
    if f.single:
        return f.T._wrap(flat[nw])
    it = iter(flat[nw:])
    T = f.T
    out_leaves = [s if not m else T._wrap(next(it)) for m, s in zip(entry.out_is_tensor, entry.out_static)]
    if entry.out_layouts is not None:
        _lay_outputs(out_leaves, entry.out_layouts)
    if entry.out_grads:
        _give_grads(out_leaves, entry.out_grads)
    if entry.numbers:
        out_leaves = _numbers(entry, flat[len(flat) - entry.n_reads:], scalars, out_leaves)
    out = jax.tree_util.tree_unflatten(entry.out_tree, out_leaves)
    return out if entry.out_order is None else _reorder(out, entry.out_order)


def _give_grads(out_leaves, out_grads):
    """The ``.grad`` of the returned tensors a backward inside gave one: another output (the index of the
    one the function returned too), else a new tensor on the program's storage for that gradient, as each
    eager call makes a new one."""
    for k, g in out_grads:
        out_leaves[k]._grad = out_leaves[g] if type(g) is int else _compile_args.wrap_arg(g, g._value)


def _lay_outputs(out_leaves, layouts):
    from ._memfmt import lay
    for o, order in zip(out_leaves, layouts):
        if order is not None:
            lay(o, order)


def _unshare(arrays, written):
    """Copy each written state array that something besides its storage holds (a user's handle, a
    second storage sharing it), so that donating it to the program cannot invalidate that holder."""
    for i in written:
        if sys.getrefcount(arrays[i]) > _REFS_ALL:
            arrays[i] = jax.numpy.array(arrays[i], copy=True)


class _Once:
    """An entry's program until its first call: compiled ahead of time for that call's arguments,
    then the executable itself replaces this in the entry."""

    def __init__(self, entry):
        self.entry = entry

    def __call__(self, *args):
        entry = self.entry
        compiled = entry.fallback.lower(*args).compile()
        entry.donating = compiled
        return compiled(*args)


_SCALARS = {}
_SCALARS_SEEN = {}
# whether a one-device program takes last call's arrays of the tensors it creates (the .grads) as donated
# buffers for their new values: None = on the CPU only (see _trace)
DONATE_ESCAPED = None


def _on_cpu(device):
    """Whether the program runs on the CPU; ``device`` is a jax Device, a sharding (a data-parallel
    program's) or None (the default device)."""
    if device is None:
        return jax.default_backend() == "cpu"
    d = device if hasattr(device, "platform") else next(iter(device.device_set))
    return d.platform == "cpu"


def _scalar_array(v, device):
    """A learning rate as a weakly typed 0-d array on the program's device, cached by value:
    a Python float would be placed on JAX's default device at every call. On the CPU a value seen
    for the first time is passed as the number itself (the same weakly typed input to the program):
    making the array costs ~50 us, jit's conversion of a number a few, and a value that changes every
    call (ExponentialLR, ``g["lr"] = lr`` in the step) would never be reused."""
    if not isinstance(v, (int, float)):
        return v
    key = (type(v), v, device)
    a = _SCALARS.get(key)
    if a is None:
        if _on_cpu(device) and _SCALARS_SEEN.pop(key, None) is None:
            if len(_SCALARS_SEEN) > 4096:
                _SCALARS_SEEN.clear()
            _SCALARS_SEEN[key] = True  # the second call with it makes the array
            return v
        a = jax.numpy.asarray(v)
        if device is not None:
            a = jax.device_put(a, device)
        if len(_SCALARS) > 4096:
            _SCALARS.clear()
        _SCALARS[key] = a
    return a


def _commit(states, inputs):
    """Pin the uncommitted state arrays to the one device the program's committed inputs are on
    (no copy where they are there already; JAX would move them there at every call anyway). The
    program's outputs come back committed, and jit keys its cache on committedness: uncommitted
    state on the first compiled call would compile the same program again on the next. Returns
    whether anything was pinned."""
    devs = {d for a in inputs if getattr(a, "committed", False) for d in a.devices()}
    if len(devs) != 1:
        return False
    dev = devs.pop()
    pinned = False
    for st in states:
        a = st.array
        if st.host is None and not getattr(a, "committed", True):
            st.array = jax.device_put(a, dev)
            pinned = True
    return pinned


def _program(closed_jaxpr, cpu, name):
    """The function a traced step compiles to, named after the user's function (XLA's program
    names, profiles). On one CPU device its transposes are sunk first (``_layout``: activations
    stay channels-last between convolutions)."""
    run = _layout.sink_transposes(closed_jaxpr) if cpu and _layout.ENABLED else jax_core.jaxpr_as_fun(closed_jaxpr)

    def program(*args):
        return run(*args)
    program.__name__ = program.__qualname__ = name if name.isidentifier() else "step"
    return program


def _device_of(arrays):
    """Where the program runs: the committed arrays' device (JAX moves the others there), else the
    first array's."""
    first = None
    for a in arrays:
        try:
            d = next(iter(a.devices()))
        except Exception:
            continue
        if getattr(a, "committed", False):
            return d
        if first is None:
            first = d
    return first


def _store_host(st):
    from .interop import write_host
    write_host(st)  # copy into the numpy buffer and re-alias it (see interop.py)


_VALUE_TYPES = (int, float, bool, str, type(None), tuple, frozenset, complex)


def _static_key(x):
    """Python values guard by value (torch specialises on them); other objects by identity."""
    try:
        hash(x)
    except TypeError:
        return (type(x), id(x))
    if isinstance(x, _VALUE_TYPES) or type(x).__module__.startswith("jtorch."):
        return (type(x), x)
    return (type(x), id(x))


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """torch.compile: compile a function or module into one XLA program (see module docstring)."""
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if disable or getattr(model, "_torchdynamo_disable", False):  # (torch.compiler.disable)
        return model
    try:
        from .nn.modules.module import Module
    except ImportError:
        Module = ()
    if isinstance(model, Module):
        return _compile_module(model, fullgraph=fullgraph, dynamic=dynamic)
    return CompiledFunction(model, fullgraph=fullgraph, dynamic=dynamic, mode=mode, backend=backend)


def _compile_module(module, fullgraph=False, dynamic=None):
    """``torch.compile(model)``: a wrapper module whose forward is compiled (torch's OptimizedModule)."""
    return optimized_module_class()(module, fullgraph, dynamic)


_OPTIMIZED_MODULE = []


def optimized_module_class():
    """torch._dynamo.eval_frame.OptimizedModule, one class for every compiled module (``isinstance``
    checks before unwrapping ``_orig_mod``); made at first use, as nn is imported after this module."""
    if not _OPTIMIZED_MODULE:
        from .nn.modules.module import Module

        class OptimizedModule(Module):
            def __init__(self, mod, fullgraph=False, dynamic=None):
                super().__init__()
                self._orig_mod = mod
                self._compiled_call = CompiledFunction(mod.__call__, fullgraph=fullgraph, dynamic=dynamic)

            def __call__(self, *args, **kwargs):
                return self._compiled_call(*args, **kwargs)

            def forward(self, *args, **kwargs):
                return self._compiled_call(*args, **kwargs)

            def __getattr__(self, name):
                try:
                    return super().__getattr__(name)
                except AttributeError:
                    return getattr(self._modules["_orig_mod"], name)

            # state_dict / load_state_dict are Module's: the keys carry the "_orig_mod." prefix, as torch's
        OptimizedModule.__module__ = "jtorch._dynamo.eval_frame"
        OptimizedModule.__qualname__ = "OptimizedModule"  # (pickle finds it there)
        _OPTIMIZED_MODULE.append(OptimizedModule)
    return _OPTIMIZED_MODULE[0]


_IN_DISABLED = [0]  # calls of torch.compiler.disable'd functions running now (they see no compile)


def is_compiling():
    tr = _dispatch.TRACE
    while hasattr(tr, "outer"):  # a torch.func transform's level inside the compiled step (func._Level)
        tr = tr.outer
    return isinstance(tr, _Tracer) and not _IN_DISABLED[0]


def reset():
    """torch._dynamo.reset / torch.compiler.reset: every compiled function forgets its programs and
    state (the next call runs eagerly and finds the state again), including the ones that had gone
    eager after a graph break or too many recompiles."""
    for cf in list(_ALL):
        cf._forget()
