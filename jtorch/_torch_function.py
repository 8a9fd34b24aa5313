"""The ``__torch_function__`` protocol's machinery (the public API is ``jtorch.overrides``).

Public entries: an op's ``OpDef.__call__``; the entry ``public`` makes for each exported Python function
(``export``) and each Python function of the torch namespaces (``overrides._install_namespaces``); in-place
methods; and Tensor's own methods and properties (the end of this file). Plain-Tensor code pays nothing for
the protocol, even once subclasses exist (a ``TorchFunctionMode`` aside): the dispatch is found by type.

- A Tensor subclass with an enabled ``__torch_function__`` gets dispatching versions of Tensor's own methods
  and properties set on its class (``install_members``): plain Tensors keep the plain ones.
- Where the eager road sorts an op's arguments (``_dispatch._apply_eager``/``_apply_lazy``/``_apply_view``),
  a plain Tensor is recognised by ``type(a) is Tensor`` before anything else; any other Tensor instance is
  looked up in ``OVERLOADS`` (a dict hit for nn.Parameter) and, where its type overloads, the road raises
  ``TensorLikeArgument``, as it does for a non-Tensor object with ``__torch_function__`` (a "tensor-like").
  The public entry around the call (the op, or the exported Python function) catches it and turns it into
  ``handle(func, args, kwargs)``; nothing has run or been recorded before the raise.
- A Python-function entry also looks at its first argument's type (one test), so a subclass there
  dispatches the function itself rather than the first op inside it.
- ``_dispatch.TORCH_FUNCTION`` is True only while a ``TorchFunctionMode`` is entered: modes see every call,
  plain Tensors' included, so then every entry checks and Tensor's own members dispatch (their functions run
  a dispatching code in place of their own, or their dispatching versions are set on the class).
- Tensor's methods are objects of their own, made from the functions (``method``): ``x.add(y)`` and
  ``x + y`` hand ``Tensor.add`` to ``__torch_function__``, ``torch.add(x, y)`` hands ``torch.add``, as in
  torch. The object is the same whether or not a mode is entered: what a mode or subclass puts on for a
  plain method (``_Dispatching``) is, looked up on the class, that method.
"""
import functools
import inspect
import os
import sys
import types

from . import _dispatch


class _State:
    __slots__ = ("subclass_off", "all_off")

    def __init__(self):
        self.subclass_off = False  # inside DisableTorchFunctionSubclass (and the default __torch_function__)
        self.all_off = False       # inside DisableTorchFunction: modes and tensor-likes too


STATE = _State()
MODES = []  # the TorchFunctionMode stack (innermost last); a mode is off the stack while it handles a call
_PLAIN = frozenset([int, float, bool, complex, str, type(None)])
# type -> whether its __torch_function__ is enabled (not the disabled impl, not Tensor's own); the road and
# the entries read it directly (``OVERLOADS.get(t) is not False``), so it is never rebound, only refilled
OVERLOADS = {}
SUBCLASSES = []  # the Tensor subclasses that overload (their members dispatch: install_members)


class TensorLikeArgument(TypeError):
    """Raised where the eager road meets an argument with ``__torch_function__`` (see the module docstring).
    ``frame``: the id of the frame of the public entry that handles it (None: the first entry it reaches;
    an id, not the frame: a frame held by the exception makes a reference cycle, costly to collect)."""
    frame = None


def _for_entry(frame_id):
    e = TensorLikeArgument()
    e.frame = frame_id
    return e


CATCHERS = set()  # the code of the public entries that catch TensorLikeArgument (besides generated ones)


_KINDS = {}  # code -> _CATCHER, _INSIDE (other jtorch code) or _OUTSIDE (user code: the search stops there)
_OUTSIDE, _INSIDE, _CATCHER = 0, 1, 2
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _kind(code):
    k = _KINDS.get(code)
    if k is None:
        if code in CATCHERS or code.co_filename == "<torch_function entry>":
            k = _CATCHER
        elif code is handle.__code__:
            k = _OUTSIDE  # (a call being handled: what it runs dispatches on its own)
        else:
            k = _INSIDE if code.co_filename.startswith(_PACKAGE) else _OUTSIDE
        _KINDS[code] = k
    return k


def _holds(v, a, depth=2):
    if v is a:
        return True
    if depth and type(v) in (list, tuple):
        return any(_holds(x, a, depth - 1) for x in v)
    if depth and type(v) is dict:
        return any(_holds(x, a, depth - 1) for x in v.values())
    return False


def declines(e, args, kwargs):
    """In a public entry's ``except TensorLikeArgument as e``: whether the entry lets it go on (dispatch is
    off, nothing among its arguments overloads, or an entry further out is the one torch would dispatch)."""
    if STATE.all_off or (e.frame is not None and e.frame != id(sys._getframe(1))):
        return True
    return not overloaded_args(args, kwargs)


def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """The ``__torch_function__`` of classes that opt out (nn.Parameter, jtorch's own subclasses): the op
    runs as on a plain Tensor and the result is not converted."""
    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


def refresh_flag():
    """After a mode's enter/exit (not the pop while a mode handles a call)."""
    on = bool(MODES)
    if on is not _dispatch.TORCH_FUNCTION:
        _dispatch.TORCH_FUNCTION = on
        _members_dispatch(on)


def _reset_overloads():
    OVERLOADS.clear()
    OVERLOADS.update(dict.fromkeys(_PLAIN, False))
    if _dispatch.Tensor is not None:
        OVERLOADS[_dispatch.Tensor] = False


def subclass_defined(cls):
    """Called by ``Tensor.__init_subclass__``: a subclass with an enabled protocol gets dispatching members
    (and one with a ``__torch_dispatch__`` its own: _subclass_dispatch.py)."""
    from . import _subclass_dispatch
    _subclass_dispatch.subclass_defined(cls)
    _reset_overloads()  # (a redefinition may have changed what an earlier answer depended on)
    if overloads(cls):
        SUBCLASSES.append(cls)
        install_members(cls)
        return True
    return False


def subclass_met(a):
    """The road met ``a``, an instance of a Tensor subclass not known not to overload: True where it runs as
    a plain Tensor (its type does not overload, or subclass dispatch is off, or no public entry was given
    it: jtorch's own code, as the autograd engine's); else TensorLikeArgument for the outermost public entry
    given ``a`` (as torch dispatches ``F.mse_loss(x, sub)`` itself, not the ops it runs), looking no further
    out than a call being handled."""
    if STATE.subclass_off or STATE.all_off or not overloads(type(a)):
        return _dispatch_met(a)
    target = _outer_entry((a,), sys._getframe(1), True)
    if target is None:
        return _dispatch_met(a)
    raise _for_entry(target)


def lazy_met(a):
    """subclass_met for the lazy road: False where ``a`` goes to its __torch_dispatch__ (the eager road, which
    lazy batching then takes, routes the call)."""
    try:
        return subclass_met(a)
    except _dispatch.SparseArgument:
        return False


class _DispatchOnly:
    """OVERLOADS' answer for a class whose ``__torch_function__`` is off but whose ``__torch_dispatch__`` is
    on: false (it takes no part in __torch_function__), yet not ``False``, so the road calls subclass_met."""
    __slots__ = ()

    def __bool__(self):
        return False

    def __repr__(self):
        return "DISPATCH_ONLY"


_DISPATCH_ONLY = _DispatchOnly()


def _dispatch_met(a):
    """``a``'s __torch_function__ is done with: its __torch_dispatch__, if it has one, gets the call (True: it
    runs as a plain Tensor). Bound to _subclass_dispatch.met on first use."""
    global _dispatch_met
    from ._subclass_dispatch import met
    _dispatch_met = met
    return met(a)


def _outer_entry(objs, f, objs_met=False):
    """The id of the outermost frame from ``f`` out of a public entry (one that catches TensorLikeArgument)
    given one of ``objs`` (``objs_met``: the road met them, so a lone entry is given them), looking no
    further out than a call being handled or jtorch's own code; None if there is none."""
    # (jtorch's own frames only: a public function given the argument calls no user code in between)
    catchers = []
    while f is not None:
        k = _kind(f.f_code)
        if k is _OUTSIDE:
            break
        if k is _CATCHER:
            catchers.append(f)
        f = f.f_back
    if objs_met and catchers and catchers[0].f_code is _dispatch.OpDef.__call__.__code__:
        if len(catchers) == 1:
            return id(catchers[0])  # (the op whose road met it, given it: no other to choose from)
        if len(catchers) == 2 and catchers[1].f_code is _dispatch.OP_METHOD_CODE and catchers[0].f_back is catchers[1]:
            return id(catchers[1])  # (the op's Tensor method, which called it)
    for f in reversed(catchers):
        local = f.f_locals.values()
        if any(_holds(v, a) for a in objs for v in local):
            return id(f)
    return None


def _callers_caller():
    """The frame out of the entry that called ``handle``."""
    return sys._getframe(3)


def overloads(t):
    """Whether instances of type ``t`` take part in dispatch (an enabled ``__torch_function__``)."""
    r = OVERLOADS.get(t)
    if r is None:
        f = getattr(t, "__torch_function__", None)
        f = getattr(f, "__func__", f)
        # (a plain Tensor's own protocol is the op itself: it never overloads; nor does real torch's
        # Tensor, whose default would only call the jtorch function again)
        r = f is not None and f is not _disabled_torch_function_impl and t is not _dispatch.Tensor and not (
            getattr(f, "__module__", None) == "torch._tensor" and f.__qualname__ == "Tensor.__torch_function__")
        if not r and getattr(t, "__torch_dispatch__", None) is not None:
            from ._subclass_dispatch import dispatches
            if dispatches(t):
                r = _DISPATCH_ONLY
        OVERLOADS[t] = r
    return r


def _is_tensor_subclass(t):
    return issubclass(t, _dispatch.Tensor)


def overloaded_args(args, kwargs=None):
    """The arguments whose types take part (one per type, subclasses before their bases, else in order),
    looking into lists and tuples, as torch's argument parser does for tensor lists."""
    found = []
    seen = set()

    def visit(a):
        t = type(a)
        if t is _dispatch.Tensor or t in _PLAIN:
            return
        if t is list or t is tuple:
            for x in a:
                visit(x)
            return
        if t in seen or not overloads(t):
            return
        if STATE.subclass_off and _is_tensor_subclass(t):
            return
        seen.add(t)
        # a subclass goes before its bases, otherwise left to right
        for i, other in enumerate(found):
            if issubclass(t, type(other)):
                found.insert(i, a)
                return
        found.append(a)

    for a in args:
        visit(a)
    if kwargs:
        for a in kwargs.values():
            visit(a)
    return found


def wants(args, kwargs):
    """Whether a call with these arguments goes to a mode or to an argument's ``__torch_function__``."""
    if STATE.all_off:
        return False
    if MODES:
        return True
    if _plain(args) and (not kwargs or _plain(kwargs.values())):  # the common case: no search
        return False
    return bool(overloaded_args(args, kwargs))


def _plain(values):
    """Whether all are plain Tensors, numbers, None or strings, or lists of plain Tensors (cat's)."""
    T = _dispatch.Tensor
    for a in values:
        t = type(a)
        if t is not T and t not in _PLAIN:
            if t is list or t is tuple:
                for x in a:
                    if type(x) is not T:
                        return False
                continue
            return False
    return True


def _name(func):
    """``torch.add``, ``torch.nn.functional.relu``, ``Tensor.__get__``: for messages."""
    mod = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    if isinstance(func, _dispatch.OpDef) or mod.startswith("jtorch._") or name.startswith("Tensor."):
        mod = "jtorch"
    return f"{mod.replace('jtorch', 'torch', 1)}.{name}" if mod else name


def handle(func, args, kwargs=None, relevant=None, caught=False):
    """Run ``func`` through the innermost mode, then the overloading arguments' ``__torch_function__``
    (the first result that is not NotImplemented wins); TypeError when all decline. ``relevant``: the
    arguments to look at (default: all of ``args`` and ``kwargs``); ``caught``: called by the entry a
    TensorLikeArgument was meant for (no entry further out is one to defer to)."""
    kwargs = kwargs or {}
    if STATE.all_off:
        overloaded = []
    else:
        overloaded = overloaded_args(args, kwargs) if relevant is None else overloaded_args(relevant)
    types = tuple(type(a) for a in overloaded)
    subs = [a for a in overloaded if isinstance(a, _dispatch.Tensor)]
    if subs and not MODES and not caught:
        # (``x.shape`` read inside ``F.mse_loss(x_plain, sub)``: the function is what torch dispatches)
        outer = _outer_entry(subs, _callers_caller())
        if outer is not None:
            raise _for_entry(outer)
    if MODES and not STATE.all_off:
        mode = MODES.pop()  # while a mode handles a call, calls it makes reach the modes below it
        try:
            r = mode.__torch_function__(_for_mode(func) if MODES else func, types, args, kwargs)
        finally:
            MODES.append(mode)
        if r is not NotImplemented:
            return r
    for a in overloaded:
        r = type(a).__torch_function__(func, types, args, kwargs)
        if r is not NotImplemented:
            return r
    if not overloaded:  # (a mode declined and nothing else overloads: the op itself)
        with _ModesOff():
            return func(*args, **kwargs)
    raise TypeError(f"no implementation found for '{_name(func)}' on types that implement __torch_function__: "
                    f"{[type(a) for a in overloaded]}")


# a Tensor method's plain function (or a property's __get__/__set__) -> its dispatching version. A mode with
# modes below it receives the plain one, as torch's (``Tensor.sum``), and its call of it reaches them: while a
# mode is entered each such function runs a dispatching code in place of its own (``_members_dispatch``), so
# plain calls pay nothing when no mode is entered. Where that cannot be (a getter several properties share),
# the mode receives the dispatching version.
DISPATCHING = {}


def _for_mode(func):
    try:
        return func if func in _SWAPS_BY_PUBLIC else DISPATCHING.get(func, func)
    except TypeError:  # (an unhashable callable given to handle_torch_function)
        return func


_SWAPS = {}  # function -> (its own code, its dispatching code)
_SWAPS_BY_PUBLIC = set()  # the DISPATCHING keys whose function swaps codes
_SWAPS_BUILT = [0]  # len(DISPATCHING) when _SWAPS was built
_PLACEHOLDER = ("\0run", "\0public", "\0impl")
_TEMPLATE_CODES = {}  # number of closure cells -> the dispatching code's template


def _swapped_call(public, impl, args, kwargs):
    """The body of a swapped-in code: ``public`` (the method, or a property's ``__get__``/``__set__``) to the
    modes below and the overloading arguments, else the function's own code (``impl``)."""
    if wants(args, kwargs):
        return handle(public, args, kwargs)
    return impl(*args, **kwargs)


def _template_code(nfree):
    """A code object taking ``(*args, **kwargs)`` that calls ``_swapped_call(*placeholder, args, kwargs)``, with
    ``nfree`` unused free variables (a function's ``__code__`` must match its closure's length)."""
    code = _TEMPLATE_CODES.get(nfree)
    if code is None:
        cells = [f"c{i}" for i in range(nfree)]
        src = ("def _outer():\n"
               + (f" {' = '.join(cells)} = None\n" if cells else "")
               + " def _swapped(*args, **kwargs):\n"
               + "".join(f"  {c}\n" for c in cells)
               + f"  run, public, impl = {_PLACEHOLDER!r}\n"
               + "  return run(public, impl, args, kwargs)\n"
               + " return _swapped\n")
        ns = {}
        exec(compile(src, "<swapped method>", "exec"), {}, ns)  # (each takes its function's file and first line)
        code = _TEMPLATE_CODES[nfree] = ns["_outer"]().__code__
    return code


def _swappable(public):
    """The function whose code runs when ``public`` (a DISPATCHING key) is called, or None."""
    if type(public) is types.FunctionType:
        return public
    owner = getattr(public, "__self__", None)
    if isinstance(owner, property):
        return {"__get__": owner.fget, "__set__": owner.fset}.get(public.__name__)
    return None


def _build_swaps():
    if _SWAPS_BUILT[0] == len(DISPATCHING):
        return
    by_fn = {}
    for public in DISPATCHING:
        fn = _swappable(public)
        if type(fn) is types.FunctionType and not fn.__code__.co_flags & (
                inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
            by_fn.setdefault(fn, []).append(public)
    for fn, publics in by_fn.items():
        if len(publics) != 1 or fn in _SWAPS:  # (a getter several properties share: their dispatching versions)
            continue
        own = fn.__code__
        impl = types.FunctionType(own, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        impl.__kwdefaults__ = fn.__kwdefaults__
        template = _template_code(len(own.co_freevars))
        consts = tuple((_swapped_call, publics[0], impl) if c == _PLACEHOLDER else c for c in template.co_consts)
        _SWAPS[fn] = (own, template.replace(co_consts=consts, co_name=own.co_name, co_qualname=own.co_qualname,
                                            co_filename=own.co_filename, co_firstlineno=own.co_firstlineno))
        _SWAPS_BY_PUBLIC.add(publics[0])
    _SWAPS_BUILT[0] = len(DISPATCHING)


# torch's functions and methods written in Python, which take no numpy names (``torch.split(t, 2, axis=0)``)
PYTHON_IN_TORCH = frozenset(["lstsq", "matrix_rank", "norm", "solve", "split", "stft", "symeig", "unique",
                              "unique_consecutive", "unflatten"])


def public(fn, name=None, func=None, numpy=None):
    """``fn`` as a public entry of the protocol: the function ``__torch_function__`` sees (or ``func``: a
    Tensor method's entry hands the method itself). Plain-Tensor calls pay one flag read and one type test
    of the first argument (a tensor-like found there dispatches here; one elsewhere is found by the inner
    op: TensorLikeArgument). The entry has ``fn``'s own signature (generated: forwarding ``*args, **kwargs``
    would cost plain calls about 0.3 us more)."""
    if getattr(fn, "_torch_function_public", False) and func is None:
        return fn
    if numpy is None:  # (torch.* and Tensor.*)
        numpy = (name or fn.__name__) not in PYTHON_IN_TORCH
    entry = _entry_with_signature(fn, numpy=numpy) or _generic_entry(fn)
    functools.update_wrapper(entry, fn)
    if name is not None:
        entry.__name__ = entry.__qualname__ = name
    entry._torch_function_public = True
    if func is not None:
        _refer(entry, entry, func)
    return entry


def _refer(fn, old, new):
    """The cells of ``fn``'s closure that hold ``old`` hold ``new`` (an entry's reference to itself: the
    ``func`` it hands to ``handle``)."""
    for cell in fn.__closure__ or ():
        try:
            if cell.cell_contents is old:
                cell.cell_contents = new
        except ValueError:  # (an empty cell)
            pass


def own_copy(fn, name):
    """A copy of function ``fn`` as Tensor's method ``name``: the same code (so the same cost), its own
    object and name; where ``fn`` is an entry that hands itself to __torch_function__, the copy hands
    itself (``Tensor.abs_`` is not ``torch.abs_``, as in torch)."""
    cells = None
    if fn.__closure__:
        cells = []
        for c in fn.__closure__:
            try:
                cells.append(types.CellType(c.cell_contents))
            except ValueError:
                cells.append(types.CellType())
        cells = tuple(cells)
    g = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, cells)
    g.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    g.__dict__.update(fn.__dict__)
    g.__module__, g.__doc__, g.__qualname__ = "jtorch", fn.__doc__, "Tensor." + name  # (pickled as jtorch.Tensor.<name>)
    _refer(g, fn, g)
    return g


def method(f, name):
    """Tensor's method ``name`` made from the function ``f`` (an op or a public entry): an object of its
    own, which __torch_function__ receives for method calls. An op gets a method that dispatches itself
    (``_dispatch.op_method``), as does an in-place entry (a copy); a Python function's entry leaves Tensor
    the plain function (a copy; a catching entry for CATCHING), and its dispatching version, which hands
    that to __torch_function__, goes on while a mode is entered and on overloading subclasses (SWAPPED)."""
    if isinstance(f, _dispatch.OpDef):
        return _dispatch.op_method(f, name)
    plain = getattr(f, "__wrapped__", None)
    if plain is None:  # an entry that checks on every call (in-place methods)
        m = own_copy(f, name)
        m.__wrapped__ = f
        return m
    m = (name not in PYTHON_IN_TORCH and _with_numpy_names(plain, name)) or own_copy(plain, name)
    entry = public(m, name, func=m)
    catcher = _entry_with_signature(m, probe=False) if name in CATCHING else None
    if catcher is not None:
        functools.update_wrapper(catcher, m)
        catcher.__name__, catcher.__qualname__ = name, m.__qualname__
        catcher._torch_function_public = True
        _refer(entry, m, catcher)  # (the method __torch_function__ receives: the catcher, which dispatches itself)
        m = catcher
    else:
        DISPATCHING[m] = entry
    SWAPPED[name] = (m, _Dispatching(m, entry))
    return m


def _with_numpy_names(fn, name):
    """A copy of ``fn`` (as ``own_copy``) that also takes numpy's keyword names where ``fn`` has parameters
    they stand for (``x.sum(axis=1)``), or None. Tensor keeps calling a method directly, so the copy is
    ``fn``'s own source compiled again with a ``**`` parameter collecting them, looked at first (as the
    generated entries of ``_entry_with_signature``); None where that source cannot be had."""
    import ast
    import linecache
    import textwrap
    P = inspect.Parameter
    try:
        params = list(inspect.signature(fn, follow_wrapped=False).parameters.values())
        if not any(p.name in _NUMPY_TARGETS and p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)
                   for p in params[1:]) or any(p.kind is P.VAR_KEYWORD for p in params):
            return None
        code = fn.__code__
        # its lines: to the last its instructions reach (inspect.getsource tokenizes, several times slower)
        last = max(end for _, end, _, _ in code.co_positions() if end is not None)
        lines = linecache.getlines(code.co_filename)[code.co_firstlineno - 1:last]
        # (parsed at its own line, so tracebacks show its lines; no walk over the tree to move them)
        node = ast.parse("\n" * (code.co_firstlineno - 1) + textwrap.dedent("".join(lines))).body[0]
    except (TypeError, ValueError, OSError, SyntaxError, IndexError):
        return None
    if not isinstance(node, ast.FunctionDef) or node.name != code.co_name:
        return None
    node.decorator_list = []
    node.args.kwarg = ast.arg("_np", lineno=node.lineno, col_offset=0, end_lineno=node.lineno, end_col_offset=0)
    # the parameters after self from the first one numpy names stand for: a marker default where none
    first = next((i for i, p in enumerate(params) if i and p.name in _NUMPY_TARGETS and p.kind is not P.KEYWORD_ONLY),
                 len(params))
    marked = [p.name for i, p in enumerate(params) if p.default is P.empty and (
        (i >= first and p.kind is P.POSITIONAL_OR_KEYWORD) or (p.kind is P.KEYWORD_ONLY and p.name in _NUMPY_TARGETS))]
    pos = [p.name for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind is P.VAR_POSITIONAL), None)
    kwonly = [p.name for p in params if p.kind is P.KEYWORD_ONLY]
    check = (f"if _np{''.join(f' or {m} is _numpy_missing' for m in marked)}:\n"
             f" return _numpy_call(_numpy_self, ({''.join(a + ', ' for a in pos)}{'*' + star if star else ''}), "
             f"{{{', '.join(f'{k!r}: {k}' for k in kwonly)}}}, _np)\n")
    node.body[:0] = ast.parse("\n" * (node.lineno - 1) + check).body
    outer = ast.parse(f"def _outer(_numpy_call, _numpy_missing, {''.join(f + ', ' for f in code.co_freevars)}):\n"
                      f" _numpy_self = None\n return {node.name}\n")
    outer.body[0].body.insert(1, node)
    ns = {}
    try:
        exec(compile(outer, code.co_filename, "exec"), fn.__globals__, ns)
        cells = [c.cell_contents for c in fn.__closure__ or ()]
        g = ns["_outer"](numpy_call, _MISSING, *cells)
    except Exception:  # noqa: BLE001  (a function its source cannot make again: its plain copy)
        return None
    nargs = code.co_argcount
    defaults = list(fn.__defaults__ or ())
    defaults = [_MISSING] * sum(1 for p in params[:nargs - len(defaults)] if p.name in marked) + defaults
    g.__defaults__ = tuple(defaults) or None
    kwd = dict(fn.__kwdefaults__ or {})
    kwd.update({m: _MISSING for m in marked if m in kwonly})
    g.__kwdefaults__ = kwd or None
    g.__dict__.update(fn.__dict__)
    g.__name__, g.__module__, g.__doc__, g.__qualname__ = name, "jtorch", fn.__doc__, "Tensor." + name
    g.__closure__[g.__code__.co_freevars.index("_numpy_self")].cell_contents = g
    return g


def operator(name, plain, func=None, dispatching=None):
    """Tensor's operator ``name``: ``plain`` (no test on plain Tensors; it catches a tensor-like argument),
    and, while a mode is entered and on overloading subclasses, ``dispatching``, which hands ``func`` (the
    method torch's __torch_function__ receives, or the operator itself) to __torch_function__."""
    plain.__name__, plain.__qualname__, plain.__module__ = name, "Tensor." + name, "jtorch"
    CATCHERS.add(plain.__code__)
    if func is plain:
        DISPATCHING[plain] = dispatching
    if dispatching is not None:
        SWAPPED[name] = (plain, _Dispatching(plain, dispatching))
    setattr(_dispatch.Tensor, name, plain)


def alias(name, of):
    """Tensor's ``name`` is its ``of``: one object, as torch's (``Tensor.__neg__ is Tensor.neg``), that
    resolve_name names ``of`` (found first) and that dispatches under both names."""
    T = _dispatch.Tensor
    if name in T.__dict__:
        delattr(T, name)  # (set again below, after ``of``)
    setattr(T, name, T.__dict__[of])
    if of in SWAPPED:
        SWAPPED[name] = SWAPPED[of]


_TEMPLATES = {}  # signature structure (kinds, which have defaults) -> the compiled entry factory


def _entry_with_signature(fn, probe=True, numpy=False):
    """The entry with ``fn``'s signature: ``def _entry(a, b=_d1, *args, c=_d2, **kw)`` calling ``_impl(a, b,
    *args, c=c, **kw)``. Its source is compiled once per signature structure (parameters named p0, p1, ...)
    in _dispatch's namespace (the flag and Tensor are plain globals there); each function's entry is that
    code with its own parameter names. None where the signature cannot be read. ``numpy``: the entry also
    takes numpy's keyword names torch's parser takes (_dispatch.NUMPY_NAMES) where ``fn`` has parameters of
    the names they stand for: a ``**`` parameter collects them, looked at only when a call gives any."""
    try:
        params = list(inspect.signature(fn, follow_wrapped=False).parameters.values())  # (what fn itself accepts)
    except (TypeError, ValueError):
        return None
    P = inspect.Parameter
    if numpy and any(p.kind is P.VAR_KEYWORD for p in params):
        # a wrapper forwarding ``**kwargs``: the names are translated for what it wraps, when that
        # fails to bind them (``_compile_template``: an ``except TypeError``, free until raised)
        numpy = "wrapper" if _numpy_params(fn) else False
    elif numpy and not any(p.name in _NUMPY_TARGETS and p.kind is not P.POSITIONAL_ONLY for p in params):
        numpy = False
    # with numpy's names: the parameters from the first one they name on take a marker default (a call can
    # give such a parameter by its numpy name alone: ``sin(x=t)``)
    first = next((i for i, p in enumerate(params) if p.name in _NUMPY_TARGETS and p.kind is not P.KEYWORD_ONLY),
                 len(params)) if numpy is True else len(params)
    structure = tuple((p.kind, p.default is not P.empty or (i >= first and p.kind is P.POSITIONAL_OR_KEYWORD) or
                       (numpy is True and p.kind is P.KEYWORD_ONLY and p.name in _NUMPY_TARGETS))
                      for i, p in enumerate(params))
    marked = tuple(f"p{i}" for i, p in enumerate(params) if structure[i][1] and p.default is P.empty)
    numpy = marked if numpy is True else numpy
    key = (structure, probe, numpy)
    factory = _TEMPLATES.get(key)
    if factory is None:
        factory = _TEMPLATES[key] = _compile_template(structure, probe, numpy)
    entry = factory(fn, *[_MISSING if p.default is P.empty else p.default
                          for i, p in enumerate(params) if structure[i][1]])
    names = {f"p{i}": p.name for i, p in enumerate(params)}
    code = entry.__code__
    # (keyword names are constants too: the {'p3': p3} handed to handle, the ('p3',) of a keyword call)
    consts = tuple(names.get(c, c) if type(c) is str else
                   tuple(names.get(n, n) for n in c) if type(c) is tuple and all(type(n) is str for n in c) else c
                   for c in code.co_consts)
    code = code.replace(co_varnames=tuple(names.get(n, n) for n in code.co_varnames), co_consts=consts)
    named = types.FunctionType(code, entry.__globals__, entry.__name__, entry.__defaults__, entry.__closure__)
    if entry.__kwdefaults__:
        named.__kwdefaults__ = {names[k]: v for k, v in entry.__kwdefaults__.items()}
    named.__closure__[code.co_freevars.index("_entry")].cell_contents = named  # (the func handle receives)
    return named


def _compile_template(structure, probe=True, numpy=()):
    P = inspect.Parameter
    head, pos, kwonly, ndef = [], [], [], 0
    varkw = None
    for i, (kind, has_default) in enumerate(structure):
        name = f"p{i}"
        d = ""
        if has_default:
            d = f"=_d{ndef}"
            ndef += 1
        if kind is P.VAR_POSITIONAL:
            head.append("*" + name)
            pos.append("*" + name)
        elif kind is P.VAR_KEYWORD:
            head.append("**" + name)
            varkw = name
        elif kind is P.KEYWORD_ONLY:
            if not any(h.startswith("*") for h in head):
                head.append("*")
            head.append(name + d)
            kwonly.append(name)
        else:
            head.append(name + d)
            pos.append(name)
            if kind is P.POSITIONAL_ONLY and (i + 1 == len(structure) or structure[i + 1][0] is not P.POSITIONAL_ONLY):
                head.append("/")
    first = structure[0][0] if structure else None
    if not probe:
        probe = "False"
    elif first in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD):
        probe = "type(p0) is not Tensor and TF.OVERLOADS.get(type(p0)) is not False"
    elif first is P.VAR_POSITIONAL:
        probe = "p0 and type(p0[0]) is not Tensor and TF.OVERLOADS.get(type(p0[0])) is not False"
    else:
        probe = "False"
    numpy_check = numpy_retry = ""
    if numpy == "wrapper":
        numpy_retry = (f"  except TypeError:\n"
                       f"   _kw = _numpy_retry(_impl, {'(' + ''.join(a + ', ' for a in pos) + ')'}, {varkw})\n"
                       f"   return _entry({', '.join(pos + [f'{k}={k}' for k in kwonly] + ['**_kw'])})\n")
    elif numpy is not False:
        head.append("**_np")
        numpy_check = (f"  if _np{''.join(f' or {m} is _REQUIRED' for m in numpy)}:\n"
                       f"   return TF.numpy_call(_entry, {'(' + ''.join(a + ', ' for a in pos) + ')'}, "
                       f"{'{' + ', '.join(f'{chr(39)}{k}{chr(39)}: {k}' for k in kwonly) + '}'}, _np)\n")
    args = "(" + "".join(a + ", " for a in pos) + ")"
    kwargs = "{" + ", ".join([f"'{k}': {k}" for k in kwonly] + ([f"**{varkw}"] if varkw else [])) + "}"
    call = ", ".join(pos + [f"{k}={k}" for k in kwonly] + ([f"**{varkw}"] if varkw else []))
    src = (f"def _make(_impl, {''.join(f'_d{i}, ' for i in range(ndef))}):\n"
           f" def _entry({', '.join(head)}):\n"
           f"{numpy_check}"
           f"  if TORCH_FUNCTION is True or ({probe}):\n"
           f"   if TF.wants({args}, {kwargs}):\n"
           f"    return TF.handle(_entry, *TF.given(_entry, {args}, {kwargs}))\n"
           f"  try:\n"
           f"   return _impl({call})\n"
           f"  except TF.TensorLikeArgument as _e:\n"
           f"   if TF.declines(_e, {args}, {kwargs}):\n"
           f"    raise\n"
           f"   return TF.handle(_entry, *TF.given(_entry, {args}, {kwargs}), caught=True)\n"
           f"{numpy_retry}"
           f" return _entry\n")
    ns = {}
    exec(compile(src, "<torch_function entry>", "exec"), _dispatch.__dict__, ns)
    return ns["_make"]


_NUMPY_TARGETS = frozenset(_dispatch.NUMPY_NAMES.values())
_MISSING = _dispatch._REQUIRED  # (a parameter not given)


def numpy_call(entry, args, kwargs, extra):
    """``entry(*args, **kwargs)`` with the keywords ``extra`` (numpy's names, as far as they are) given by
    the parameters they stand for: ones not given otherwise (``_MISSING`` or their default object). A
    parameter still ``_MISSING`` after that was not given at all: torch's TypeError."""
    code = entry.__code__
    pos = code.co_varnames[:code.co_argcount]
    defaults = dict(zip(pos[code.co_argcount - len(entry.__defaults__ or ()):], entry.__defaults__ or ()))
    defaults.update(entry.__kwdefaults__ or {})
    args, kwargs = list(args), dict(kwargs)
    for k, v in extra.items():
        t = _dispatch.numpy_target(k, extra)
        if t in pos and t in defaults and args[pos.index(t)] is defaults[t]:
            args[pos.index(t)] = v
        elif t in kwargs and kwargs[t] is defaults[t]:
            kwargs[t] = v
        else:  # (no such name, or that parameter given too)
            raise TypeError(f"{entry.__name__}() got an unexpected keyword argument '{k}'")
    for name, v in (*zip(pos, args), *kwargs.items()):
        if v is _MISSING:
            raise TypeError(f"{entry.__name__}() missing 1 required positional argument: '{name}'")
    return entry(*args, **kwargs)


def _numpy_params(fn):
    """The names of the parameters of what ``fn`` wraps that numpy's names stand for (empty where it
    forwards ``**kwargs`` on, or cannot be read)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return frozenset()
    return frozenset(p.name for p in params if p.name in _NUMPY_TARGETS and p.kind is not p.POSITIONAL_ONLY)


def numpy_kwargs(fn, kwargs):
    """``kwargs`` with numpy's names given by the parameters of ``fn`` they stand for; None where there is
    nothing to translate (the call's TypeError was another's) or a name stands for none."""
    if not kwargs or not any(k in _dispatch.NUMPY_NAMES for k in kwargs):
        return None
    params = _numpy_params(fn)
    out = {}
    for k, v in kwargs.items():
        if k in _dispatch.NUMPY_NAMES and k not in params:
            t = _dispatch.numpy_target(k, kwargs)
            if t not in params or t in kwargs:
                return None
            k = t
        out[k] = v
    return out


def given(entry, args, kwargs):
    """An entry's arguments as the caller gave them, near enough: trailing positional arguments and
    keyword-only ones that are their defaults (the same objects) are left out, as torch's handlers get them."""
    code = entry.__code__
    d = entry.__defaults__
    if d and len(args) <= code.co_argcount:  # (with extra *args nothing trails)
        first = code.co_argcount - len(d)
        n = len(args)
        while n > first and args[n - 1] is d[n - 1 - first]:
            n -= 1
        args = args[:n]
    kd = entry.__kwdefaults__
    if kd and kwargs:
        kwargs = {k: v for k, v in kwargs.items() if k not in kd or v is not kd[k]}
    return args, kwargs


def _generic_entry(fn):
    T = _dispatch.Tensor

    def entry(*args, **kwargs):
        if _dispatch.TORCH_FUNCTION is True or (args and type(args[0]) is not T and
                                                OVERLOADS.get(type(args[0])) is not False):
            if wants(args, kwargs):
                return handle(entry, args, kwargs)
        try:
            return fn(*args, **kwargs)
        except TensorLikeArgument as e:
            if declines(e, args, kwargs):
                raise
            return handle(entry, args, kwargs, caught=True)
    CATCHERS.add(entry.__code__)
    return entry


# public functions that take part in no dispatch (settings, queries, serialization, transforms)
NOT_OVERRIDABLE = frozenset(
    "compile cond while_loop vmap fork wait manual_seed seed initial_seed save load install_as_torch typename "
    "from_numpy from_jax from_dlpack from_file frombuffer promote_types can_cast compiled_with_cxx11_abi "
    "init_num_threads clear_autocast_cache defop function export is_tensor is_storage is_grad_enabled "
    "is_inference_mode_enabled is_anomaly_enabled is_anomaly_check_nan_enabled is_warn_always_enabled "
    "is_deterministic_algorithms_warn_only_enabled is_vulkan_available is_autocast_enabled "
    "is_autocast_cpu_enabled is_autocast_cache_enabled".split())


def _overridable_name(name):
    return not name.startswith(("_", "set_", "get_", "use_", "are_")) and name not in NOT_OVERRIDABLE


_INSTALLED = {}  # function -> its (first) public entry
# the functions torch.nn.functional shares with torch (``F.conv2d is torch.conv2d``): one entry for both; the
# rest get an entry per namespace even where jtorch defines one function for both (``F.max_pool2d`` is
# torch.nn.functional's own in torch, which torch.fx names so)
_SAME_IN_TORCH = frozenset(["adaptive_avg_pool1d", "avg_pool1d", "bilinear", "celu_", "channel_shuffle", "conv1d",
                            "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                            "cosine_similarity", "hardshrink", "native_channel_shuffle", "pairwise_distance", "pdist",
                            "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_", "rrelu_", "selu_", "threshold_"])


def _takes_arguments(f):
    """Whether ``f`` (or what it wraps: a checking wrapper's ``*args, **kwargs``) has named parameters."""
    code = inspect.unwrap(f).__code__
    return code.co_argcount + code.co_kwonlyargcount > 0


def install(namespace):
    """Make the public Python functions of a torch namespace (jtorch, nn.functional, linalg, ...) public
    entries of the protocol; ops and exported functions are ones already."""
    import types
    entries = []
    for name, f in list(vars(namespace).items()):
        if type(f) is types.FunctionType and _overridable_name(name) and \
                (f.__module__ or "").startswith("jtorch") and f.__module__ not in ("jtorch.overrides", __name__) and \
                _takes_arguments(f):
            entry = _INSTALLED.get(f) if name in _SAME_IN_TORCH else None
            if entry is None:
                # (nn.functional's Python functions take no numpy names; those torch binds from C do)
                entry = public(f, numpy=name in _SAME_IN_TORCH if namespace.__name__ == "jtorch.nn.functional" else
                               None if namespace.__name__ == "jtorch" else True)
                entry.__module__ = namespace.__name__  # (its public home, as torch names it)
                _INSTALLED.setdefault(f, entry)
            f = entry
            setattr(namespace, name, f)
        if _overridable_name(name) and (isinstance(f, _dispatch.OpDef) or getattr(f, "_torch_function_public", 0)):
            entries.append(f)
    return entries


def retarget_references(modules):
    """Default arguments and static methods of jtorch's modules that hold a function by now replaced by its
    entry take the entry instead: ``activation=F.relu`` in a signature and ``_fn = staticmethod(F.avg_pool2d)``
    were evaluated before ``install`` (so ``TransformerEncoderLayer(...).activation is F.relu`` as in torch,
    and torch.fx, which patches the namespaces' entries, finds them)."""
    import types

    def fix(fn):
        d = fn.__defaults__
        if d and any(type(v) is types.FunctionType and v in _INSTALLED for v in d):
            fn.__defaults__ = tuple(_INSTALLED.get(v, v) if type(v) is types.FunctionType else v for v in d)
    for m in modules:
        for v in list(vars(m).values()):
            if type(v) is types.FunctionType:
                fix(v)
            elif isinstance(v, type) and v.__module__ == m.__name__:
                for k, a in list(vars(v).items()):
                    if type(a) is types.FunctionType:
                        fix(a)
                    elif isinstance(a, staticmethod) and a.__func__ in _INSTALLED:  # ``_fn = staticmethod(F.x)``
                        setattr(v, k, staticmethod(_INSTALLED[a.__func__]))


class _Switch:
    """A context that sets one of STATE's switches and restores it."""
    _attr = None

    def __enter__(self):
        self._prev = getattr(STATE, self._attr)
        setattr(STATE, self._attr, True)
        return self

    def __exit__(self, *exc):
        setattr(STATE, self._attr, self._prev)
        return False


class DisableTorchFunctionSubclass(_Switch):
    """Tensor subclasses' ``__torch_function__`` is skipped inside (modes and tensor-likes still run)."""
    _attr = "subclass_off"


class DisableTorchFunction(_Switch):
    """Every ``__torch_function__`` (subclasses, tensor-likes and modes) is skipped inside."""
    _attr = "all_off"


class _ModesOff:
    """The modes stack emptied for the duration (a declined mode's call runs the op itself)."""

    def __enter__(self):
        self._saved = MODES[:]
        del MODES[:]

    def __exit__(self, *exc):
        MODES[:] = self._saved
        return False


def convert(ret, cls):
    """Tensor results as ``cls`` (torch's default ``__torch_function__``), into lists and tuples."""
    T = _dispatch.Tensor
    if isinstance(ret, T) and not isinstance(ret, cls):
        return ret.as_subclass(cls)
    if isinstance(ret, (tuple, list)):
        items = [convert(r, cls) for r in ret]
        if hasattr(ret, "_fields"):  # a namedtuple (max, sort, ... results)
            return type(ret)(*items)
        return type(ret)(items)
    return ret


# ---------------------------------------------------------------- Tensor's own methods and properties
# Tensor's own methods and properties (``x.shape``, ``x.tolist()``, ``repr(x)``) and its methods that are
# exported Python functions (``x.sum()``, ``x[0]``) are public entries on the classes whose instances may
# dispatch: each overloading subclass (install_members), and Tensor itself while a mode is entered
# (_members_dispatch). Elsewhere they are the plain members and functions and cost nothing.
_NOT_DISPATCHED = frozenset(["__new__", "__init__", "__init_subclass__", "__torch_function__", "__hash__",
                             "__getstate__", "__reduce_ex__", "__iter__", "__long__", "__nonzero__", "as_subclass",
                             "_make_subclass"])
MEMBERS = {}  # name -> a method or property of Tensor's class body (taken by tensor_defined)
SWAPPED = {}  # name -> (plain function, its _Dispatching): Tensor methods that are exported functions
NO_CONVERT = []  # properties whose values the default __torch_function__ hands back as they are
_DISPATCHED = {}  # member -> its dispatching version


def tensor_defined(T):
    """Called once Tensor's class body is complete (before ops are bound onto it)."""
    for name, member in T.__dict__.items():
        if name in _NOT_DISPATCHED or (name.startswith("_") and not name.startswith("__")):
            continue
        if type(member) is types.FunctionType and not name.startswith("_") and name not in PYTHON_IN_TORCH:
            numpy = _with_numpy_names(member, name)  # (``x.size(axis=0)``, as torch's C methods take)
            if numpy is not None:
                setattr(T, name, numpy)
                member = numpy
        if isinstance(member, property) or type(member) is types.FunctionType:
            MEMBERS[name] = member
    NO_CONVERT[:] = [T.grad]
    _reset_overloads()


# Tensor's Python-function methods whose other arguments are tensors in torch (``plain.copy_(sub)``): on a plain
# Tensor each is a catching entry (the function in a ``try``, no test of its first argument: one frame more), so
# a tensor-like argument met inside dispatches the method itself, as torch's does, not the ops it runs
CATCHING = frozenset(
    "copy_ fill_ masked_fill masked_scatter masked_select where div divide true_divide floor_divide remainder fmod "
    "pow atan2 arctan2 hypot maximum minimum fmax fmin logaddexp logaddexp2 logical_and logical_or logical_xor clamp "
    "clip clamp_min clamp_max isclose allclose equal expand_as view_as reshape_as matmul mm bmm mv dot inner vdot "
    "addmm baddbmm addbmm addmv addr gather scatter scatter_add scatter_reduce index_select index_add index_copy "
    "index_fill index_put index_reduce take put take_along_dim isin cross dist heaviside gcd lcm ldexp nextafter "
    "cholesky_solve triangular_solve lu_solve is_same_size resize_as_ resize_as diagonal_scatter select_scatter "
    "slice_scatter igamma igammac".split())


def methods_bound():
    """Called once Tensor's methods are bound (SWAPPED complete): subclasses defined earlier catch up."""
    for cls in SUBCLASSES:
        install_members(cls)


def install_members(cls):
    """The dispatching members on an overloading subclass, where neither it nor a class between it and
    Tensor defines that name (a subclass's own method runs as it is, as in torch)."""
    T = _dispatch.Tensor
    if T is None:
        return
    pairs = [(name, _dispatched(member)) for name, member in MEMBERS.items()]
    pairs += [(name, entry) for name, (plain, entry) in SWAPPED.items()]
    mro = cls.__mro__
    between = mro[:mro.index(T)] if T in mro else mro
    for name, entry in pairs:
        if not any(name in k.__dict__ for k in between):  # (an overloading parent's entry counts too)
            setattr(cls, name, entry)


def _members_dispatch(on):
    """Tensor's members dispatch (``on``) or not: those whose functions swap codes by that alone, the others
    by their dispatching versions set on the class."""
    T = _dispatch.Tensor
    if _CLASS_SWAPS[0] != (len(MEMBERS), len(SWAPPED), len(DISPATCHING)):
        pairs = [(name, member, _dispatched(member)) for name, member in MEMBERS.items()]
        pairs += [(name, plain, entry) for name, (plain, entry) in SWAPPED.items()]
        _build_swaps()
        _CLASS_SWAPS[:] = [(len(MEMBERS), len(SWAPPED), len(DISPATCHING)),
                           [p for p in pairs if not _swaps_codes(p[1])]]
    for fn, (own, dispatching) in _SWAPS.items():
        fn.__code__ = dispatching if on else own
    for name, plain, entry in _CLASS_SWAPS[1]:
        if T.__dict__.get(name) is (plain if on else entry):  # (unless something rebound it since)
            setattr(T, name, entry if on else plain)


_CLASS_SWAPS = [None, []]  # (the sizes it was built for, [(name, plain member, its dispatching version)])


def _swaps_codes(member):
    """Whether calling ``member`` reaches the modes by itself while one is entered: its function swaps codes,
    or it is a generated entry (a catching method), which checks for modes on every call."""
    if isinstance(member, property):
        return member.fget in _SWAPS and (member.fset is None or member.fset in _SWAPS)
    return member in _SWAPS or getattr(getattr(member, "__code__", None), "co_filename", "") == "<torch_function entry>"


def _dispatched(member):
    f = _DISPATCHED.get(member)
    if f is None:
        f = _DISPATCHED[member] = (_dispatched_property if isinstance(member, property) else _dispatched_method)(member)
    return f


def _dispatched_method(func):
    def method(self, *args, **kwargs):
        if wants((self, *args), kwargs):
            return handle(func, (self, *args), kwargs)
        return func(self, *args, **kwargs)
    method.__name__, method.__qualname__ = func.__name__, func.__qualname__
    method.__doc__ = func.__doc__
    DISPATCHING[func] = method
    return _Dispatching(func, method)


def _dispatched_property(prop):
    d = _DispatchingProperty(prop)

    def __get__(obj, cls=None):
        return d.__get__(obj, type(obj))
    __get__.__qualname__ = "property.__get__"
    DISPATCHING[prop.__get__], DISPATCHING[prop.__set__] = __get__, d.__set__
    return d


class _Dispatching:
    """What Tensor holds in place of a method while a mode is entered, and an overloading subclass for
    good: bound to an instance, the dispatching version (``entry``); looked up on the class, the method
    itself, so ``Tensor.sum`` is one object, the one __torch_function__ receives."""
    __slots__ = ("method", "entry")

    def __init__(self, method, entry):
        self.method, self.entry = method, entry

    def __get__(self, obj, cls=None):
        return self.method if obj is None else types.MethodType(self.entry, obj)

    def __call__(self, *args, **kwargs):  # (called as it is found in the class's dict: the dispatching version)
        return self.entry(*args, **kwargs)


class _DispatchingProperty:
    """A property's dispatching version: __torch_function__ receives the property's own ``__get__`` and
    ``__set__`` (as torch passes ``Tensor.shape.__get__``); looked up on the class, the property."""
    __slots__ = ("prop",)

    def __init__(self, prop):
        self.prop = prop

    def __get__(self, obj, cls=None):
        prop = self.prop
        if obj is None:
            return prop
        if wants((obj,), None):
            return handle(prop.__get__, (obj,), {})
        return prop.fget(obj)

    def __set__(self, obj, value):
        prop = self.prop
        if wants((obj, value), None):
            return handle(prop.__set__, (obj, value), {})
        prop.__set__(obj, value)

    def __delete__(self, obj):
        self.prop.__delete__(obj)
