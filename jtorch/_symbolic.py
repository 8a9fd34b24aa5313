"""torch.SymInt / SymFloat / SymBool: a Python number that ``jtorch.compile`` traces as an input of
the program instead of baking its value in (a dynamic scalar argument, a counter the step
increments). Each wraps a weakly typed 0-d jax value (a tracer while the step is traced), so
arithmetic with Python numbers follows Python's rules in float64/int64, and a tensor op treats it
like the Python number it stands for (``_dispatch`` unwraps it and promotes it as a Python scalar).

Anything that needs the concrete value (``bool``/``int``/``float``, ``range(n)``, a shape, a dim)
raises jax's concretization error while tracing; ``jtorch.compile`` then specialises that value
(traces it as a constant and guards on it), as torch does when a SymInt is used where a static value
is needed. Plain ints, floats and bools are not instances, as in torch."""
import operator

import jax.numpy as jnp
import numpy as np


class _SymNumber:
    __slots__ = ("node",)
    __hash__ = None  # unhashable: a dim or other static (hashed) argument fails the trace instead of guessing

    def __init__(self, node):
        self.node = node  # weakly typed 0-d jax value

    def __repr__(self):
        return f"{type(self).__name__}({self.node!r})"

    # the concrete value: raises while tracing (see the module docstring)
    def __bool__(self):
        return bool(self.node)

    def __int__(self):
        return int(self.node)

    def __index__(self):
        return operator.index(self.node)

    def __float__(self):
        return float(self.node)

    def __complex__(self):
        return complex(self.node)

    def __neg__(self):
        return wrap(-self.node)

    def __pos__(self):
        return self

    def __abs__(self):
        return wrap(jnp.abs(self.node))

    def __floor__(self):
        return wrap(jnp.floor(self.node).astype(jnp.int64))

    def __ceil__(self):
        return wrap(jnp.ceil(self.node).astype(jnp.int64))

    def __trunc__(self):
        return wrap(jnp.trunc(self.node).astype(jnp.int64))

    def __round__(self, ndigits=None):
        if ndigits is None:
            return wrap(jnp.round(self.node).astype(jnp.int64))  # half to even, as Python's round
        return wrap(jnp.round(self.node, ndigits))


def _operand(x):
    if isinstance(x, _SymNumber):
        return x.node
    if isinstance(x, (int, float, bool, np.number, np.bool_)) and not isinstance(x, complex):
        return x
    return NotImplemented


def _binary(fn):
    def f(self, other):
        o = _operand(other)
        return NotImplemented if o is NotImplemented else wrap(fn(self.node, o))

    def r(self, other):
        o = _operand(other)
        return NotImplemented if o is NotImplemented else wrap(fn(o, self.node))
    return f, r


def _pow(a, b):
    # Python: an int to a negative int power is a float
    if jnp.issubdtype(jnp.result_type(a), jnp.integer) and jnp.issubdtype(jnp.result_type(b), jnp.integer):
        return jnp.where(b < 0, jnp.power(jnp.asarray(a, float), b), jnp.power(a, jnp.maximum(b, 0)))
    return jnp.power(a, b)


for _name, _fn in {"add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "truediv": jnp.true_divide,
                   "floordiv": jnp.floor_divide, "mod": jnp.remainder, "pow": _pow}.items():
    _f, _r = _binary(_fn)
    setattr(_SymNumber, f"__{_name}__", _f)
    setattr(_SymNumber, f"__r{_name}__", _r)
for _name, _fn in {"lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater, "ge": jnp.greater_equal,
                   "eq": jnp.equal, "ne": jnp.not_equal}.items():
    setattr(_SymNumber, f"__{_name}__", _binary(_fn)[0])
del _name, _fn, _f, _r


class SymInt(_SymNumber):
    """An int traced as an input of a compiled program (see the module docstring)."""
    __slots__ = ()


class SymFloat(_SymNumber):
    """A float traced as an input of a compiled program (see the module docstring)."""
    __slots__ = ()

    def is_integer(self):
        return wrap(jnp.floor(self.node) == self.node)


class SymBool(_SymNumber):
    """A comparison of symbolic numbers: its truth value is needed in Python, so it raises while tracing."""
    __slots__ = ()


def wrap(v):
    """A Sym* for a jax 0-d value of an integer, floating or bool dtype."""
    dt = jnp.result_type(v)
    if dt == jnp.bool_:
        return SymBool(v)
    if jnp.issubdtype(dt, jnp.integer):
        return SymInt(v)
    if jnp.issubdtype(dt, jnp.floating):
        return SymFloat(v)
    raise TypeError(f"no symbolic Python number of dtype {dt}")


def python_type(s):
    """The Python type the symbolic number stands for (what the program's result is read back as)."""
    return bool if type(s) is SymBool else int if type(s) is SymInt else float


SYM_TYPES = (SymInt, SymFloat, SymBool)
