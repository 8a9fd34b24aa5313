"""``torch.fx.Proxy``: the value a traced function sees in place of a tensor; every use records a Node."""
import dis
import operator
import sys
from bisect import bisect_left

__all__ = ["Proxy", "Attribute", "TraceError", "ParameterProxy"]


class TraceError(ValueError):
    pass


class Proxy:
    """Stands for the value of ``node`` while ``tracer`` records a program: operators, method calls,
    attribute reads and torch functions called on it add Nodes to the graph and return new Proxies."""

    _fx_proxy = True  # (jtorch's dispatch names it in the error when one reaches an op unrecorded)

    def __init__(self, node, tracer=None):
        if tracer is None:
            from ._symbolic_trace import GraphAppendingTracer
            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node

    def __repr__(self):
        return f"Proxy({self.node.name})"

    __hash__ = object.__hash__

    def __getattr__(self, k):
        if k.startswith("__") and k.endswith("__"):
            raise AttributeError(k)  # Python's protocols (copy, pickle, numpy...) probe these
        return Attribute(self, k)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __iter__(self):
        # ``a, b = proxy`` unpacks into getitems: the caller's current instruction says how many
        frame = sys._getframe(1)
        code = frame.f_code
        insts = list(dis.get_instructions(code))
        i = bisect_left([x.offset for x in insts], frame.f_lasti)
        if i < len(insts) and insts[i].opname == "UNPACK_SEQUENCE":
            return (self[k] for k in range(insts[i].argval))
        return self.tracer.iter(self)

    def __bool__(self):
        return self.tracer.to_bool(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want this call to be "
                           "recorded, please call torch.fx.wrap('len') at module scope")

    def keys(self):
        return self.tracer.keys(self)

    def __deepcopy__(self, memo):
        return self


class Attribute(Proxy):
    """``proxy.name``: a getattr node, made only if the attribute is used as a value (not when it is
    called as a method, which records one call_method node)."""

    def __init__(self, root, attr):
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node = None

    @property
    def node(self):
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr, (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


class ParameterProxy(Proxy):
    """A get_attr proxy for a parameter (shape queries could read the parameter directly)."""

    def __init__(self, tracer, node, name, param):
        super().__init__(node, tracer)
        self.param = param
        self.name = name


def _binary(fn):
    def impl(self, other):
        return self.tracer.create_proxy("call_function", fn, (self, other), {})
    return impl


def _reflected(fn):
    def impl(self, other):
        return self.tracer.create_proxy("call_function", fn, (other, self), {})
    return impl


def _unary(fn):
    def impl(self):
        return self.tracer.create_proxy("call_function", fn, (self,), {})
    return impl


for _name in ("add", "sub", "mul", "floordiv", "truediv", "mod", "pow", "lshift", "rshift", "and_", "or_", "xor",
              "matmul"):
    _fn = getattr(operator, _name)
    _dunder = _name.rstrip("_")
    setattr(Proxy, f"__{_dunder}__", _binary(_fn))
    setattr(Proxy, f"__r{_dunder}__", _reflected(_fn))
for _name in ("eq", "ne", "lt", "gt", "le", "ge", "getitem"):
    setattr(Proxy, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "invert", "abs"):
    setattr(Proxy, f"__{_name}__", _unary(getattr(operator, _name)))
Proxy.__hash__ = object.__hash__
del _name, _fn, _dunder

