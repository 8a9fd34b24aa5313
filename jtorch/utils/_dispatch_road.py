"""Every jtorch op through the active ``TorchDispatchMode``s, as torch's modes see every aten op.

While a mode is entered, the one road every op takes (``_dispatch.apply``) is swapped for ``_mode_apply``
(lazy batching off meanwhile, as for the op observer); with no mode entered nothing here runs. Each call is
shown to the innermost mode as the aten overload torch would run (``aten.add.Tensor``, ``aten.mm.default``,
``aten.sum.dim_IntList``; ``_aten_call``), with jtorch Tensors and Python values as its arguments, and what the
mode returns is the op's result. As in torch the mode runs below autograd: grad mode is off while it runs, the
op's own autograd node is recorded over its result afterwards (so a mode that changes results changes what
flows forward, and gradients are the op's), and calls the mode makes reach the modes outside it, then the op.

Where jtorch's op has no aten overload with the same meaning (its own fused kernels, the backward of a
recorded node whose op has no formula in _dispatch_backward.py: one call per node), the mode gets a
``JtorchOverload`` that runs the op itself (``jtorch.<op name>.default``).

The same level serves Tensor subclasses with ``__torch_dispatch__`` (``subclass_apply``, where the road routes a
call that met one: _subclass_dispatch.py) and in-place ops (``inplace_apply``: the in-place aten overload, caught
from ``Tensor._inplace``). docs/internals.md describes both."""
import sys
import types as _types

import jax

from .. import _dispatch
from .. import _subclass_dispatch as SD
from .. import _torch_function as TF
from . import _python_dispatch as PD
from . import _dispatch_backward as _backward

_SAVED = {}  # what the swap replaced
_SKIP = frozenset(["_identity_to"])  # (plumbing of .to() between devices)


def start():
    if "apply" in _SAVED:
        return
    from .. import _lazy
    if _dispatch.LAZY[0]:
        _lazy.flush()
    _SAVED.update(apply=_dispatch.apply, view=_dispatch._apply_view, lazy=_dispatch.LAZY[0])
    _dispatch.LAZY[0] = False
    _dispatch.apply = _mode_apply
    _dispatch._apply_view = _mode_view  # (basic indexing, ``x[0]``, takes this road directly)
    T = _dispatch.Tensor
    _SAVED["detach"] = T.__dict__["detach"]
    T.detach = _mode_detach  # (no op on the road: a new alias)
    from .. import autograd
    from ..autograd import graph
    _SAVED.update(seed=autograd._ones_seed, accumulate=graph._accumulate_leaf)
    autograd._ones_seed, graph._accumulate_leaf = _mode_ones_seed, _mode_accumulate_leaf


def stop():
    if "apply" not in _SAVED:
        return
    if _dispatch.apply is _mode_apply:
        _dispatch.apply = _SAVED["apply"]
    if _dispatch._apply_view is _mode_view:
        _dispatch._apply_view = _SAVED["view"]
    if _dispatch.Tensor.__dict__.get("detach") is _mode_detach:
        _dispatch.Tensor.detach = _SAVED["detach"]
    from .. import autograd
    from ..autograd import graph
    if autograd._ones_seed is _mode_ones_seed:
        autograd._ones_seed = _SAVED["seed"]
    if graph._accumulate_leaf is _mode_accumulate_leaf:
        graph._accumulate_leaf = _SAVED["accumulate"]
    _dispatch.LAZY[0] = _SAVED["lazy"]
    _SAVED.clear()


def _mode_detach(self):
    """``Tensor.detach`` while a mode is entered: ``aten.detach.default`` through it."""
    if not PD._STACK:
        return _SAVED["detach"](self)
    return _untracked(_aten().detach.default, self)


def _mode_ones_seed(t):
    """backward()'s implicit seed while a mode is entered: ``aten.ones_like`` through it, as torch's."""
    if not PD._STACK:
        return _SAVED["seed"](t)
    import jtorch
    return python_key(_aten().ones_like.default, (t,), {"memory_format": jtorch.preserve_format})


def _mode_accumulate_leaf(var, g, create_graph):
    """A leaf's gradient while a mode is entered: torch's ``detach`` of the first, ``add_`` of the next ones."""
    grad = var._grad
    if not PD._STACK or create_graph or g.is_sparse or g._shape_dtype() != var._shape_dtype() or \
            var._st.layout is not None or (grad is not None and grad.is_sparse):
        return _SAVED["accumulate"](var, g, create_graph)
    g = g.detach() if g._requires_grad else g
    if grad is None:
        var.grad = _untracked(_aten().detach.default, g)
    else:
        _untracked(_aten().add_.Tensor, grad, g)


def _run(op, dyn, statics, raw=False):
    """The op itself, past the modes (the road as it was before any mode was entered)."""
    return (_SAVED.get("apply") or _dispatch.apply)(op, dyn, statics, raw)


def _mode_view(op, dyn, statics):
    if not PD._STACK or _dispatch.TRACE is not None:
        return (_SAVED.get("view") or _dispatch._apply_view)(op, dyn, statics)
    return _mode_apply(op, dyn, statics)


def _mode_apply(op, dyn, statics, raw=False):
    stack = PD._STACK
    if not stack or _dispatch.TRACE is not None or op.name in _SKIP:
        return _run(op, dyn, statics, raw)
    if _inplace_call(op, dyn):
        raise SD.InplaceDispatch()  # (``x.add_(y)``: the mode gets ``add_.Tensor``, see inplace_apply)
    return _python_level(op, dyn, statics, False)


def subclass_apply(op, dyn, statics):
    """Where the road sends a call that met an instance of a Tensor subclass with ``__torch_dispatch__``
    (_subclass_dispatch.DispatchArgument): as a mode's call, and autograd recorded over the handler's result
    for views too (the handler makes a new tensor, not a view of jtorch's), with the subclass instances
    themselves as the saved inputs, so the backward reaches the handler as well."""
    if _inplace_call(op, dyn):
        raise SD.InplaceDispatch()
    return _python_level(op, dyn, statics, True)


def _python_level(op, dyn, statics, subclass):
    T = _dispatch.Tensor
    if op.view is not None and not subclass:  # (a view keeps its own autograd and aliasing: the mode's call makes it)
        special = _SPECIAL.get(op.name)
        out = special(op, dyn, statics) if special is not None else None
        return out if out is not None else python_key(*_aten_call(op, dyn, statics))
    GRAD = _dispatch.GRAD
    needs_grad = GRAD.enabled and op.differentiable and any(
        (isinstance(a, T) and a.requires_grad) or
        (op.seq and isinstance(a, (list, tuple)) and any(isinstance(t, T) and t.requires_grad for t in a))
        for a in dyn)
    prev = GRAD.enabled
    GRAD.enabled = False
    try:
        special = _SPECIAL.get(op.name)
        out = special(op, dyn, statics) if special is not None else None
        if out is None and "forward" in op.__dict__:  # a node's backward: torch's formula where listed
            out = _backward.run(op, dyn, _tensors, _key_call)
        if out is None:
            out = python_key(*_aten_call(op, dyn, statics))
    finally:
        GRAD.enabled = prev
    if isinstance(out, list):
        out = tuple(out)
    if op.returns is not None and isinstance(out, tuple):
        out = op.returns(*out)
    if needs_grad:
        out = _fresh(out, dyn)
        arrays = [_values(a) for a in dyn]
        dt = _dispatch.promote_dtype(op, dyn, [_abstract(a) for a in arrays]) if op.promote else None
        _dispatch._record(op, statics, dt, dyn, arrays, out)
        if op.name in _backward.SAVES_RESULT:  # torch saves the result for the backward: a detach of it
            _backward.save_result(out, _untracked(_aten().detach.default, out))
    return out


def _untracked(func, *args):
    prev = _dispatch.GRAD.enabled
    _dispatch.GRAD.enabled = False
    try:
        return python_key(func, args, {})
    finally:
        _dispatch.GRAD.enabled = prev


def _values(a):
    """What a node keeps of an input: a plain tensor's value; a dispatching subclass's instance itself (its
    handler gets the backward's call)."""
    T = _dispatch.Tensor
    if isinstance(a, T):
        return a if type(a) is not T and SD.dispatches(type(a)) else a._value
    if isinstance(a, (list, tuple)) and any(isinstance(t, T) for t in a):
        return tuple(_values(t) if isinstance(t, T) else t for t in a)
    return a


def _abstract(v):
    if isinstance(v, _dispatch.Tensor):
        return jax.ShapeDtypeStruct(*v._shape_dtype())
    if type(v) is tuple:
        return tuple(_abstract(x) for x in v)
    return v


def _fresh(out, dyn):
    """The handler's result with autograd of its own: an input handed back is aliased, not re-recorded."""
    T = _dispatch.Tensor
    ids = {id(a) for a in dyn if isinstance(a, T)}

    def fresh(o):
        if not isinstance(o, T) or (id(o) not in ids and o._grad_fn is None):
            return o
        if type(o) is T:
            return o._alias()
        c = o._alias(type(o))  # (a subclass's alias keeps its attributes: a wrapper's inner tensor)
        c.__dict__.update(o.__dict__)
        return c
    if isinstance(out, tuple):
        items = [fresh(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
    return fresh(out)


def _handled_types(args, kwargs):
    """torch's ``types``: the classes with a __torch_dispatch__ among the tensors in the call, in order."""
    T = _dispatch.Tensor
    found = []

    def visit(a):
        t = type(a)
        if t is list or t is tuple:
            for x in a:
                visit(x)
        elif t is not T and isinstance(a, T) and t not in found and SD.dispatches(t):
            found.append(t)
    visit(args)
    if kwargs:
        visit(tuple(kwargs.values()))
    return tuple(found)


def python_key(func, args, kwargs):
    """One call at the Python dispatch level: the innermost mode (off the stack while it runs), else each
    dispatching subclass among the arguments until one does not return NotImplemented (then TypeError)."""
    kwargs = kwargs or {}
    types = _handled_types(args, kwargs)
    stack = PD._STACK
    if stack:
        mode = stack.pop()
        try:
            return mode.__torch_dispatch__(func, types, args, kwargs)
        finally:
            stack.append(mode)
    if not types or SD._Off.off:
        return func(*args, **kwargs)
    for cls in types:
        out = cls.__torch_dispatch__(func, types, args, kwargs)
        if out is not NotImplemented:
            return out
    raise TypeError(f"Multiple dispatch failed for '{func}'; all __torch_dispatch__ handlers returned "
                    f"NotImplemented:\n\n" + "".join(f"  - tensor subclass {c}\n" for c in types))


_to_mode = python_key  # (the innermost mode: only called while one is entered)


def _key_call(func, *args, **kwargs):
    return python_key(func, args, kwargs)


# ---------------------------------------------------------------- in-place ops
_INPLACE_CODE = [None]  # Tensor._inplace's code (set on first use)
_ROAD_CODES = set()  # the road's functions between an in-place call and the Python dispatch level


def _inplace_code():
    if _INPLACE_CODE[0] is None:
        _INPLACE_CODE[0] = _dispatch.Tensor._inplace.__code__
        _ROAD_CODES.update(f.__code__ for f in (_SAVED.get("apply") or _dispatch.apply, _dispatch._apply_eager,
                                                _dispatch._apply_lazy,
                                                _dispatch.OpDef.__call__, _dispatch.OpDef.call_raw,
                                                SD.DispatchArgument.route, subclass_apply, _mode_apply,
                                                _python_level))
    return _INPLACE_CODE[0]


def _caller(codes, depth):
    """The nearest frame out of the road (within ``depth`` frames) if its code is one of ``codes``, else None."""
    _inplace_code()
    f = sys._getframe(2)
    for _ in range(depth):
        if f is None:
            return None
        if f.f_code in codes:
            return f
        if f.f_code not in _ROAD_CODES:
            return None
        f = f.f_back
    return None


def _inplace_call(op, dyn):
    """Whether this call of ``op`` computes the value of an in-place op on ``dyn[0]``: the nearest
    ``Tensor._inplace`` frame out (through jtorch's own frames: an in-place op may be a Python function,
    ``clamp_``) is ``dyn[0].op_(...)`` still computing its result, and calls ``op`` itself or a Python function."""
    code = _inplace_code()
    if not code or not dyn:  # (inplace_apply running the op out of place for a mode)
        return False
    f = sys._getframe(2)
    for _ in range(12):
        if f is None:
            return False
        c = f.f_code
        if c is code:
            loc = f.f_locals
            g = loc.get("f")
            return loc.get("self") is dyn[0] and loc.get("out") is None and (
                g is op or not isinstance(g, _dispatch.OpDef))
        if c not in _ROAD_CODES and TF._kind(c) is TF._OUTSIDE:
            return False
        f = f.f_back
    return False


_INPLACE_NAMES = {"_copy_from": "copy_", "_fill": "fill_"}


def _inplace_aten(self, f, args, kwargs):
    """(func, args, kwargs) of the aten in-place overload for ``self.f_(*args, **kwargs)``, or None. An op's
    call binds by its parameter names (as _as_aten); a Python function's (``clamp``) by the overload's schema."""
    from ..library._schema import bind
    A = _aten()
    if sys._getframe(3).f_code is _zero_code():
        return A.zero_.default, (self,), {}
    if isinstance(f, _dispatch.OpDef):
        dyn, statics = f.bind((self, *args), kwargs)
        if f.name == "_copy_from" and not isinstance(dyn[1], _dispatch.Tensor):
            # ``x[0] = 1``: as torch, a 0-dim tensor of the number (lift_fresh: a mode sees it) fills the view
            import jtorch
            value = python_key(A.lift_fresh.default, (jtorch.tensor(dyn[1]),), {})
            return A.fill_.Tensor, (self, value), {}
        return _as_aten(f, dyn, statics, _INPLACE_NAMES.get(f.name) or f.name.lstrip("_") + "_")
    packet = _packet(getattr(f, "__name__", "").lstrip("_") + "_")
    if packet is None:
        return None
    for ov_name in packet.overloads():
        ov = getattr(packet, ov_name)
        schema = ov._schema
        if not (schema.arguments and schema.arguments[0].type == "Tensor"):
            continue
        try:
            vals = bind(schema, (self, *args), kwargs)
        except (RuntimeError, TypeError):
            continue
        return ov, *_reported(schema, vals)
    return None


_ZERO = [None]


def _zero_code():
    if _ZERO[0] is None:
        from .._ops.pointwise import zero_
        _ZERO[0] = getattr(zero_, "__wrapped__", zero_).__code__
    return _ZERO[0]


def inplace_apply(self, f, args, kwargs):
    """``self.op_(...)`` where ``self`` or an argument dispatches, or a mode is entered: the in-place aten
    overload goes to the mode or handler below autograd; then the op's node is recorded over ``self``, its
    saved value of ``self`` the one before the write (a plain tensor's array; a subclass's clone, as torch's
    ``original_self``, where the op's backward reads it)."""
    T = _dispatch.Tensor
    GRAD = _dispatch.GRAD
    found = _inplace_aten(self, f, args, kwargs)
    sub = type(self) is not T and SD.dispatches(type(self))
    if found is None or not isinstance(f, _dispatch.OpDef):
        tracked = GRAD.enabled and any(isinstance(a, T) and a.requires_grad for a in (self, *args))
        if found is not None and (sub or not tracked):  # (a Python function with an aten twin: no node)
            return _inplace_untracked(self, found)
        _INPLACE_CODE[0] = False  # (the calls below are not taken for the in-place op again)
        try:
            if sub:  # no aten twin: the out-of-place op, then ``copy_`` of its result, both through the handler
                return _inplace_untracked(self, (_aten().copy_.default, (self, f(self, *args, **kwargs)), {}))
            return T._inplace(self, f, args, kwargs)  # (a mode sees the out-of-place op)
        finally:
            _INPLACE_CODE[0] = None
    dyn, statics = f.bind((self, *args), kwargs)
    if self._st.inference and not GRAD.inference:
        from ..tensor import _inference_inplace_error
        raise _inference_inplace_error()
    needs_grad = GRAD.enabled and f.differentiable and any(isinstance(a, T) and a.requires_grad for a in dyn)
    if needs_grad:
        self._check_inplace()
    saves = f.saves(tuple(isinstance(a, T) and a.requires_grad for a in dyn)) if callable(f.saves) else f.saves
    prev = GRAD.enabled
    GRAD.enabled = False
    try:
        old = None
        if needs_grad:
            old = (python_key(_aten().clone.default, (self,), {}) if saves is None or 0 in saves else self) \
                if sub else self._value
        python_key(*found)
    finally:
        GRAD.enabled = prev
    if needs_grad:
        arrays = [old] + [_values(a) for a in dyn[1:]]
        dt = _dispatch.promote_dtype(f, dyn, [_abstract(a) for a in arrays]) if f.promote else None
        if sub:
            _dispatch._record(f, statics, dt, dyn, arrays, self)
        else:
            res = T._wrap(self._value)
            _dispatch._record(f, statics, dt, dyn, arrays, res)
            self._write(res, True)
    return self


def _inplace_untracked(self, found):
    prev = _dispatch.GRAD.enabled
    _dispatch.GRAD.enabled = False
    try:
        python_key(*found)
    finally:
        _dispatch.GRAD.enabled = prev
    return self


# ---------------------------------------------------------------- which aten overload a jtorch op is
_ATEN = [None]
_RENAME = {"true_divide": "div", "max_dim": "max", "min_dim": "min"}
_WRAPPED_SCALAR = frozenset(["add", "sub", "mul", "div"])  # torch's Python binding wraps the number: .Tensor
_PARAM_ALIASES = {"shape": "size", "dims": "dim", "input": "self", "x": "self"}


def _aten():
    if _ATEN[0] is None:
        import jtorch
        _ATEN[0] = jtorch.ops.aten
    return _ATEN[0]


def _packet(name):
    try:
        return getattr(_aten(), name)
    except AttributeError:
        return None


def _listed(v):
    return list(v) if type(v) is tuple else v


def _aten_call(op, dyn, statics):
    """(func, args, kwargs) for this call: torch's aten overload where one has the same meaning, else the op
    itself as a JtorchOverload."""
    found = _as_aten(op, dyn, statics)
    if found is not None:
        return found
    return _standin(op, statics), tuple(_tensors(a) for a in dyn), {}


def _tensors(a):
    """A raw value the backward engine hands a VJP (a jax array) as a Tensor, for the mode."""
    if a is None or isinstance(a, (_dispatch.Tensor, int, float, bool, complex, list, tuple, str)):
        return a
    if type(a) is _dispatch.Pending:
        a = a.get()
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return _dispatch.Tensor._wrap(a)
    return a


def _as_aten(op, dyn, statics, name=None):
    """The aten overload of the op's name (or ``name``) whose schema takes this call's values by name (the
    op's parameter names are torch's, ``input``/``x`` being aten's ``self``); an overload naming every static
    is preferred to one that leaves out those at their defaults. None where no overload fits."""
    from ..library._schema import bind
    inplace = name is not None
    if name is None:
        name = op.name.lstrip("_")
        if name.endswith("_backward"):
            return None
        name = _RENAME.get(name, name)
    packet = _packet(name)
    if packet is None:
        return None
    dyn_names = [op.names[i] for i in op.dyn_idx][:len(dyn)]
    values = {}
    for n, v in zip(dyn_names, dyn):
        if v is not None:
            values[n] = list(v) if op.seq and n == dyn_names[0] else v
    statics_d = {}
    for i, v in zip(op.static_idx, statics):
        statics_d[op.names[i]] = (_listed(v), op.defaults[i])
    numbers = name.rstrip("_") in _WRAPPED_SCALAR
    overloads = packet.overloads()
    order = (["Tensor"] if numbers else []) + ["default"] + overloads
    order = [n for i, n in enumerate(order) if n in overloads and n not in order[:i] and "out" not in n.split("_")]
    # first pass: a static the overload does not name may be left out only where it is None or False (an
    # absent dim, keepdim, dtype); second pass: any static at the op's default may be left out
    for loose in (False, True):
        for ov_name in order:
            ov = getattr(packet, ov_name)
            schema = ov._schema
            if inplace and not (schema.arguments and schema.arguments[0].type == "Tensor"):
                continue  # (``copy_.int``: a list op's)
            arg_names = {a.name for a in schema.arguments}
            kw = {}
            for pos, (n, v) in enumerate(values.items()):
                k = n if n in arg_names else _PARAM_ALIASES.get(n)
                if k not in arg_names:  # (``_pow(input, other)``: aten's ``exponent``) by position instead
                    k = schema.arguments[pos].name if pos < len(schema.arguments) else None
                    if k is None or k in kw or k in values:
                        break
                kw[k] = v
            else:
                for n, (v, d) in statics_d.items():
                    k = n if n in arg_names else _PARAM_ALIASES.get(n)
                    at_default = v is d or (type(v) is type(d) and v == d)
                    if loose and at_default:
                        continue
                    if k in arg_names:
                        kw[k] = v
                    elif not (v is None or v is False):
                        break
                else:
                    try:
                        vals = bind(schema, (), kw, numbers_as_tensors=numbers)
                    except (RuntimeError, TypeError):
                        continue
                    return ov, *_reported(schema, vals)
    return None


def _reported(schema, vals):
    """The bound values as torch reports a call: positional arguments in order up to the first left at its
    default, keyword-only ones only where not at their default."""
    from ..library._schema import _plan
    defaults = _plan(schema)[2]
    args, kwargs = [], {}

    def at_default(i, v):
        d = defaults[i]
        return d is not None and type(d) is type(v) and d == v or (d is None and v is None)
    positional = [i for i, a in enumerate(schema.arguments) if not a.kwarg_only]
    last = max([i for i in positional if not at_default(i, vals[i]) or
                schema.arguments[i].default_text is None], default=-1)
    for i, a in enumerate(schema.arguments):
        if not a.kwarg_only:
            if i <= last:
                args.append(vals[i])
        elif not at_default(i, vals[i]):
            kwargs[a.name] = vals[i]
    return tuple(args), kwargs


def _matmul(op, dyn, statics):
    a, b = dyn[0], dyn[1]
    T = _dispatch.Tensor
    if not (isinstance(a, T) and isinstance(b, T)):
        return None
    which = {(1, 1): "dot", (2, 2): "mm", (3, 3): "bmm", (2, 1): "mv"}.get((a.ndim, b.ndim))
    if which is None:
        return None
    return _to_mode(getattr(_aten(), which).default, (a, b), {})


def _linear(op, dyn, statics):
    """torch's decomposition of a 2-D linear: ``t`` of the weight, then ``addmm`` (``mm`` without a bias)."""
    x, w = dyn[0], dyn[1]
    b = dyn[2] if len(dyn) > 2 else None
    if x.ndim != 2 or w.ndim != 2:
        return None
    A = _aten()
    wt = _to_mode(A.t.default, (w,), {})
    if b is None:
        return _to_mode(A.mm.default, (x, wt), {})
    return _to_mode(A.addmm.default, (b, x, wt), {})


def _basic_index(op, dyn, statics):
    """``x[0, 1:3]`` as torch runs it: ``select.int`` per integer, ``slice.Tensor`` per slice that is not the
    whole dimension, left to right."""
    A = _aten()
    cur, dim = dyn[0], 0
    shape = cur.shape
    items, starts = statics[0], dyn[1]
    if len(items) != len(starts) or len(items) > len(shape) or not all(
            i == "i" or (type(i) is tuple and len(i) == 2) for i in items):
        return None  # (another kind of index: the op itself)
    for item, start, n in zip(items, starts, shape):
        if item == "i":
            cur = _to_mode(A.select.int, (cur, dim, start), {})
            continue
        size, step = item
        if not (start == 0 and size == n and step == 1):
            stop = start + size * step
            cur = _to_mode(A.slice.Tensor, (cur, dim, start, stop) + ((step,) if step != 1 else ()), {})
        dim += 1
    return cur


def _softmax(op, dyn, statics):
    """``_softmax(x, dim, half_to_float)`` as torch's softmax runs it (with a dtype: the cast first)."""
    dim, dtype = statics
    if dtype is not None:
        return None
    return _to_mode(getattr(_aten(), op.name).default, (dyn[0], dim, False), {})


def _tri(op, dyn, statics):
    diagonal, upper = statics
    return _to_mode((_aten().triu if upper else _aten().tril).default, (dyn[0],) + ((diagonal,) if diagonal else ()), {})


def _cast(op, dyn, statics):
    """``x.to(dtype)``, ``x.double()``: torch's ``_to_copy`` with the dtype."""
    return python_key(_aten()._to_copy.default, (dyn[0],), {"dtype": statics[0]})


def _permute(op, dyn, statics):
    """jtorch's ``t``/``transpose`` are a permute: shown as the aten op the user called."""
    f = _caller(_T_CODES[0] or _t_codes(), 8)
    if f is None:
        return None
    A = _aten()
    if f.f_code.co_name == "t":
        return python_key(A.t.default, (dyn[0],), {})
    loc = f.f_locals
    return python_key(A.transpose.int, (dyn[0], loc["dim0"], loc["dim1"]), {})


_T_CODES = [None]


def _t_codes():
    from .._ops import shape
    _T_CODES[0] = (shape.t.__wrapped__.__code__ if hasattr(shape.t, "__wrapped__") else shape.t.__code__,
                   shape.transpose.__wrapped__.__code__ if hasattr(shape.transpose, "__wrapped__")
                   else shape.transpose.__code__)
    return _T_CODES[0]


_SPECIAL = {"_cast": _cast, "_permute": _permute, "_softmax": _softmax, "_log_softmax": _softmax, "_tri": _tri, "_matmul": _matmul, "matmul": _matmul, "_linear": _linear, "_basic_index_op": _basic_index}


# ---------------------------------------------------------------- ops torch has no overload for
_STANDINS = {}


class _Schema:
    def __init__(self, name):
        self.name, self.overload_name, self.arguments, self.returns = name, "", [], []

    def __str__(self):
        return f"{self.name}(...)"


class JtorchOverload:
    """Stands for a jtorch op where torch's aten has no overload of the same meaning: prints as
    ``jtorch.<name>.default``; calling it runs the op (through the modes outside the one handling it)."""

    def __init__(self, op, statics):
        self._op, self._statics = op, statics
        self.__name__ = f"{op.name}.default"
        self.__qualname__ = "default"
        self._schema = _Schema(f"jtorch::{op.name}")
        self._overloadname = "default"
        self.overloadpacket = _types.SimpleNamespace(__name__=op.name)
        self.namespace = "jtorch"

    def name(self):
        return f"jtorch::{self._op.name}"

    def __call__(self, *args, **kwargs):
        return _dispatch.apply(self._op, list(args), self._statics)

    def __str__(self):
        return f"jtorch.{self._op.name}.default"

    def __repr__(self):
        return f"<JtorchOverload(op='jtorch.{self._op.name}', overload='default')>"


def _standin(op, statics):
    key = (op, statics)
    f = _STANDINS.get(key)
    if f is None:
        f = _STANDINS[key] = JtorchOverload(op, statics)
    return f
