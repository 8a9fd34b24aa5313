"""``torch.fx.Node``: one operation of a Graph, and the helpers that walk nested arguments."""
import builtins
import operator

__all__ = ["Node", "map_arg", "map_aggregate", "Argument", "Target"]

Argument = object  # (type alias in torch: a Node, a constant, or a nested tuple/list/dict/slice of them)
Target = object

_OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output", "root")


class immutable_list(list):
    """A list a Node's arguments hold: changing it in place would bypass the users bookkeeping."""

    def _no(self, *a, **k):
        raise NotImplementedError(f"'{type(self).__name__}' object does not support mutation. "
                                  "Create a new list and assign it to node.args instead.")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = \
        sort = reverse = _no

    def __hash__(self):
        return hash(tuple(self))

    def __reduce__(self):
        return (immutable_list, (list(self),))


class immutable_dict(dict):
    """A dict a Node's arguments hold (see immutable_list)."""

    def _no(self, *a, **k):
        raise NotImplementedError(f"'{type(self).__name__}' object does not support mutation. "
                                  "Create a new dict and assign it to node.kwargs instead.")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _no

    def __hash__(self):
        return hash(tuple(self.items()))

    def __reduce__(self):
        return (immutable_dict, (dict(self),))


def map_aggregate(a, fn):
    """``fn`` applied to every leaf of ``a`` (tuples, lists, dicts and slices are walked)."""
    t = type(a)
    if t is tuple or (isinstance(a, tuple) and not hasattr(a, "_fields")):
        return tuple(map_aggregate(x, fn) for x in a)
    if isinstance(a, tuple):  # a namedtuple keeps its type
        return t(*(map_aggregate(x, fn) for x in a))
    if isinstance(a, list):
        return immutable_list(map_aggregate(x, fn) for x in a)
    if isinstance(a, dict):
        return immutable_dict((k, map_aggregate(v, fn)) for k, v in a.items())
    if t is slice:
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a, fn):
    """``fn`` applied to every Node inside ``a`` (other leaves are kept)."""
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _collect_nodes(a, into):
    if isinstance(a, Node):
        into.setdefault(a)
    elif isinstance(a, (tuple, list)):
        for x in a:
            _collect_nodes(x, into)
    elif isinstance(a, dict):
        for x in a.values():
            _collect_nodes(x, into)
    elif type(a) is slice:
        _collect_nodes((a.start, a.stop, a.step), into)


class _Recorder:
    """A torch function while a trace runs: records a call_function node (named after ``name``) when
    given a Proxy, else calls the original. It compares and hashes as the original, so a Transformer's
    ``if target == torch.add`` still holds while ``torch.add`` is patched."""
    __slots__ = ("orig", "name")

    def __init__(self, orig, name):
        self.orig = orig
        self.name = name

    def __call__(self, *args, **kwargs):
        from ._symbolic_trace import _TRACING, _has_proxy
        if _TRACING and (_has_proxy(args) or (kwargs and _has_proxy(kwargs)) or
                         _TRACING[-1].records_call(self.name)):
            return _TRACING[-1].create_proxy("call_function", self.orig, args, kwargs, name=self.name)
        return self.orig(*args, **kwargs)

    def __eq__(self, other):
        return other is self.orig or (type(other) is _Recorder and other.orig is self.orig)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.orig)

    def __getattr__(self, k):  # __name__, __doc__, ...
        return getattr(self.orig, k)

    @property
    def __wrapped__(self):
        return self.orig

    def __repr__(self):
        return repr(self.orig)


# call_function targets that must stay in a graph although nothing uses their result
_SIDE_EFFECTS = set()


def has_side_effect(fn):
    """Mark a function whose call nodes ``eliminate_dead_code`` keeps."""
    _SIDE_EFFECTS.add(fn)
    return fn


class Node:
    """One operation: ``op`` (placeholder, get_attr, call_function, call_method, call_module, output),
    ``target`` (the function, method name, module path or attribute path), ``args``/``kwargs`` (constants
    and other Nodes), ``users`` (the Nodes that read this one) and a free ``meta`` dict."""

    def __init__(self, graph, name, op, target, args, kwargs, return_type=None):
        if op not in _OPS:
            raise ValueError(f"unknown node op {op!r}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                             f"{type(target)} but a Callable is expected")
        if op in ("call_method", "call_module", "get_attr", "placeholder") and not isinstance(target, str):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                             f"{type(target)} but a str is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes = {}
        self.users = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self.meta = {}
        self._args = ()
        self._kwargs = {}
        self._update_args_kwargs(map_arg(args, lambda x: x), map_arg(kwargs, lambda x: x))

    # ---- the linked list of the graph
    @property
    def next(self):
        return self._next

    @property
    def prev(self):
        return self._prev

    def prepend(self, x):
        """Put node ``x`` just before this one (moving it if it is elsewhere in the graph)."""
        if x is self:
            return
        if x.graph is not self.graph:
            raise RuntimeError("Attempting to move a Node into a different Graph")
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x):
        """Put node ``x`` just after this one."""
        self._next.prepend(x)

    def _remove_from_list(self):
        p, n = self._prev, self._next
        p._next, n._prev = n, p
        self._prev = self._next = self

    # ---- arguments
    @property
    def args(self):
        return self._args

    @args.setter
    def args(self, a):
        self._update_args_kwargs(map_arg(a, lambda x: x), self._kwargs)

    @property
    def kwargs(self):
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k):
        self._update_args_kwargs(self._args, map_arg(k, lambda x: x))

    @property
    def all_input_nodes(self):
        return list(self._input_nodes)

    def update_arg(self, idx, arg):
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key, arg):
        self.kwargs = {**self.kwargs, key: arg}

    def _update_args_kwargs(self, args, kwargs):
        if not isinstance(args, tuple):
            args = tuple(args)
        self._args = args
        self._kwargs = immutable_dict(kwargs)
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = {}
        _collect_nodes(self._args, self._input_nodes)
        _collect_nodes(self._kwargs, self._input_nodes)
        for n in self._input_nodes:
            n.users.setdefault(self)

    def replace_all_uses_with(self, replace_with, delete_user_cb=lambda user: True, *, propagate_meta=False):
        """Make every user read ``replace_with`` instead of this node; returns the users changed."""
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError("Called node.replace_all_uses_with(replace_with, propagate_meta=True), "
                                     "but replace_with already has .meta keys")
            replace_with.meta.update(self.meta)
        changed = []
        for user in list(self.users):
            if not delete_user_cb(user):
                continue
            user._replace_input(self, replace_with)
            changed.append(user)
        return changed

    def replace_input_with(self, old_input, new_input):
        """Read ``new_input`` wherever this node read ``old_input``."""
        self._replace_input(old_input, new_input)

    def _replace_input(self, old, new):
        def swap(x):
            return new if x is old else x
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    # ---- what it is
    def is_impure(self, impure_random=True):
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_function":
            return self.target in _SIDE_EFFECTS or getattr(self.target, "__name__", "").endswith("_")
        if self.op == "call_method":
            return self.target.endswith("_") and not self.target.startswith("_")
        if self.op == "call_module":
            mod = self.graph.owning_module
            return mod is not None and getattr(_fetch(mod, self.target), "_is_impure", False)
        return False

    @property
    def stack_trace(self):
        return self.meta.get("stack_trace")

    @stack_trace.setter
    def stack_trace(self, trace):
        self.meta["stack_trace"] = trace

    def __repr__(self):
        return self.name

    def _pretty_print_target(self, target):
        if isinstance(target, str):
            return target
        from .graph import _qualified_name
        return _qualified_name(target)

    def format_node(self, placeholder_names=None, maybe_return_typename=None):
        """One line describing this node (the format ``print(graph)`` uses)."""
        if self.op == "placeholder":
            if placeholder_names is not None:
                placeholder_names.append(self.target)
                return None
            default = f"(default={self.args[0]})" if self.args else ""
            return f"%{self.name} : [num_users={len(self.users)}] = placeholder[target={self.target}]{default}"
        if self.op == "get_attr":
            return f"%{self.name} : [num_users={len(self.users)}] = get_attr[target={self.target}]"
        if self.op == "output":
            return f"return {self.args[0]}"
        return (f"%{self.name} : [num_users={len(self.users)}] = {self.op}[target="
                f"{self._pretty_print_target(self.target)}](args = {_fmt(self.args)}, kwargs = {_fmt(self.kwargs)})")


def _fmt(a):
    if isinstance(a, Node):
        return "%" + a.name
    if isinstance(a, tuple):
        inner = ", ".join(_fmt(x) for x in a)
        return f"({inner},)" if len(a) == 1 else f"({inner})"
    if isinstance(a, list):
        return "[" + ", ".join(_fmt(x) for x in a) + "]"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in a.items()) + "}"
    return str(a)


def _fetch(mod, target):
    """The attribute ``a.b.c`` of ``mod``."""
    obj = mod
    for i, atom in enumerate(target.split(".")):
        if not hasattr(obj, atom):
            raise RuntimeError(f"Node referenced nonexistent target {'.'.join(target.split('.')[:i + 1])}")
        obj = getattr(obj, atom)
    return obj


has_side_effect(builtins.print)
has_side_effect(operator.setitem)
