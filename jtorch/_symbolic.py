"""torch.SymInt / SymFloat / SymBool: a Python number that ``jtorch.compile`` traces as an input of
the program instead of baking its value in (a dynamic scalar argument, a counter the step
increments). Each wraps a weakly typed 0-d jax value (a tracer while the step is traced), so
arithmetic with Python numbers follows Python's rules in float64/int64, and a tensor op treats it
like the Python number it stands for (``_dispatch`` unwraps it and promotes it as a Python scalar).

Each also records how it was computed from the inputs (``expr``), so a Python value the step
writes (``self.calls += 1``) is recomputed after each call in Python itself (``evaluate``): Python's
exact arithmetic, and no wait for the program.

A truth value (``if (i + 1) % k == 0``) is decided from the values the program is traced for, and the
program is guarded on that decision (one program per branch, as torch's symbolic guards). Anything
else that needs the concrete value (``int``/``float``, ``range(n)``, a shape, a dim) raises jax's
concretization error while tracing; ``jtorch.compile`` then specialises that value
(traces it as a constant and guards on it), as torch does when a SymInt is used where a static value
is needed. Plain ints, floats and bools are not instances, as in torch."""
import math
import operator

import jax.numpy as jnp
import numpy as np


# while jtorch.compile traces: a function deciding the truth value of an expression (``if (i + 1) %
# k == 0``) from the values the trace was made for, and recording it as a guard of the program
DECIDE = [None]


class Input:
    """The ``index``-th number traced as an input, in an ``expr``."""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class _Expr:
    __slots__ = ("fn", "args")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args


def evaluate(expr, inputs, memo=None):
    """The Python value of ``expr`` for the input values ``inputs``."""
    if type(expr) is Input:
        return inputs[expr.index]
    if type(expr) is not _Expr:
        return expr  # a constant
    memo = {} if memo is None else memo
    v = memo.get(id(expr), memo)
    if v is memo:
        v = memo[id(expr)] = expr.fn(*[evaluate(a, inputs, memo) for a in expr.args])
    return v


class _SymNumber:
    __slots__ = ("node", "expr")
    __hash__ = None  # unhashable: a dim or other static (hashed) argument fails the trace instead of guessing

    def __init__(self, node, expr=None):
        self.node = node  # weakly typed 0-d jax value
        self.expr = expr  # how it was computed (Input, _Expr), None where unknown

    def __repr__(self):
        return f"{type(self).__name__}({self.node!r})"

    # the concrete value: raises while tracing (see the module docstring), except a truth value of
    # known expression, which the compiling trace decides from the inputs' values and guards on
    def __bool__(self):
        decide = DECIDE[0]
        if decide is not None and self.expr is not None:
            return decide(self.expr)
        return bool(self.node)

    def __int__(self):
        return int(self.node)

    def __index__(self):
        return operator.index(self.node)

    def __float__(self):
        return float(self.node)

    def __complex__(self):
        return complex(self.node)

    def _unary(self, node, fn, *extra):
        return wrap(node, None if self.expr is None else _Expr(fn, (self.expr, *extra)))

    def __neg__(self):
        return self._unary(-self.node, operator.neg)

    def __pos__(self):
        return self

    def __abs__(self):
        return self._unary(jnp.abs(self.node), abs)

    def __floor__(self):
        return self._unary(jnp.floor(self.node).astype(jnp.int64), math.floor)

    def __ceil__(self):
        return self._unary(jnp.ceil(self.node).astype(jnp.int64), math.ceil)

    def __trunc__(self):
        return self._unary(jnp.trunc(self.node).astype(jnp.int64), math.trunc)

    def __round__(self, ndigits=None):
        if ndigits is None:  # half to even, as Python's round
            return self._unary(jnp.round(self.node).astype(jnp.int64), round)
        return self._unary(jnp.round(self.node, ndigits), round, ndigits)


def _operand(x):
    if isinstance(x, _SymNumber):
        return x.node, x.expr
    if isinstance(x, (int, float, bool, np.number, np.bool_)) and not isinstance(x, complex):
        return x, x
    return NotImplemented, None


def _binary(fn, pyfn):
    def f(self, other):
        o, e = _operand(other)
        if o is NotImplemented:
            return NotImplemented
        return wrap(fn(self.node, o), None if self.expr is None or e is None else _Expr(pyfn, (self.expr, e)))

    def r(self, other):
        o, e = _operand(other)
        if o is NotImplemented:
            return NotImplemented
        return wrap(fn(o, self.node), None if self.expr is None or e is None else _Expr(pyfn, (e, self.expr)))
    return f, r


def _pow(a, b):
    # Python: an int to a negative int power is a float
    if jnp.issubdtype(jnp.result_type(a), jnp.integer) and jnp.issubdtype(jnp.result_type(b), jnp.integer):
        return jnp.where(b < 0, jnp.power(jnp.asarray(a, float), b), jnp.power(a, jnp.maximum(b, 0)))
    return jnp.power(a, b)


for _name, _fn in {"add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "truediv": jnp.true_divide,
                   "floordiv": jnp.floor_divide, "mod": jnp.remainder, "pow": _pow}.items():
    _f, _r = _binary(_fn, getattr(operator, _name))
    setattr(_SymNumber, f"__{_name}__", _f)
    setattr(_SymNumber, f"__r{_name}__", _r)
for _name, _fn in {"lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater, "ge": jnp.greater_equal,
                   "eq": jnp.equal, "ne": jnp.not_equal}.items():
    setattr(_SymNumber, f"__{_name}__", _binary(_fn, getattr(operator, _name))[0])
del _name, _fn, _f, _r


class SymInt(_SymNumber):
    """An int traced as an input of a compiled program (see the module docstring)."""
    __slots__ = ()

    @property
    def __class__(self):
        return int  # ``isinstance(n, int)`` holds, as the user's code expects of the int it stands for


class SymFloat(_SymNumber):
    """A float traced as an input of a compiled program (see the module docstring)."""
    __slots__ = ()

    @property
    def __class__(self):
        return float  # ``isinstance(s, float)`` holds (``type(s)`` is still SymFloat)

    def is_integer(self):
        return self._unary(jnp.floor(self.node) == self.node, float.is_integer)


class SymBool(_SymNumber):
    """A comparison of symbolic numbers: its truth value is needed in Python, so it raises while tracing."""
    __slots__ = ()


def wrap(v, expr=None):
    """A Sym* for a jax 0-d value of an integer, floating or bool dtype (computed as ``expr``)."""
    dt = jnp.result_type(v)
    if dt == jnp.bool_:
        return SymBool(v, expr)
    if jnp.issubdtype(dt, jnp.integer):
        return SymInt(v, expr)
    if jnp.issubdtype(dt, jnp.floating):
        return SymFloat(v, expr)
    raise TypeError(f"no symbolic Python number of dtype {dt}")


def python_type(s):
    """The Python type the symbolic number stands for (what the program's result is read back as)."""
    return bool if type(s) is SymBool else int if type(s) is SymInt else float


SYM_TYPES = (SymInt, SymFloat, SymBool)
