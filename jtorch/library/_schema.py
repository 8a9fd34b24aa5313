"""Operator schemas: parsing torch's schema strings (``ns::name.overload(Tensor self, *, Scalar alpha=1) -> Tensor``),
printing them back, inferring one from a Python function's annotations (``infer_schema``), and binding a call's
arguments to a schema with torch's argument checks and messages."""
import collections.abc
import inspect
import re
import types
import typing

from .. import _dispatch, _dtype as D

# type names a schema may use (torch's full list is longer; these cover aten's and custom ops' schemas)
_BASE_TYPES = {"Tensor", "int", "SymInt", "float", "bool", "str", "Scalar", "ScalarType", "Layout", "Device",
               "MemoryFormat", "Generator", "Dimname", "Storage", "Stream", "Any", "complex", "t", "QScheme",
               "SymFloat", "SymBool", "GraphModule", "AnyEnumType", "ConstQuantizerPtr", "__torch__"}


class Argument:
    """One argument (or return) of a schema: its name, type text, alias annotation and default."""
    __slots__ = ("name", "type", "alias", "default_text", "kwarg_only", "alias_at", "_parts")

    def __init__(self, name, type, alias=None, default_text=None, kwarg_only=False, alias_at=None):
        self.name, self.type, self.alias = name, type, alias
        self.default_text, self.kwarg_only = default_text, kwarg_only
        self.alias_at = alias_at  # where the alias annotation sits in the type text (``Tensor(a!)?``, ``Tensor[](a!)``)
        self._parts = None  # accepts()'s view of the type, filled on first use

    @property
    def base(self):
        return re.match(r"\w+", self.type).group(0)

    @property
    def is_write(self):
        return self.alias is not None and self.alias.endswith("!")

    @property
    def alias_info(self):
        """torch's AliasInfo view of the annotation: ``is_write`` and the alias set, or None."""
        if self.alias is None:
            return None
        return AliasInfo(self.alias)

    def has_default_value(self):
        return self.default_text is not None

    @property
    def default_value(self):
        return _parse_default(self.default_text, self) if self.default_text is not None else None

    def type_text(self):
        """The type as the schema spells it, alias included (``Tensor(a!)?``)."""
        if self.alias is None:
            return self.type
        at = len(self.base) if self.alias_at is None else self.alias_at
        return self.type[:at] + f"({self.alias})" + self.type[at:]

    def __str__(self):
        s = self.type_text()
        if self.name:
            s += " " + self.name
        if self.default_text is not None:
            s += "=" + self.default_text
        return s

    __repr__ = __str__


class AliasInfo:
    __slots__ = ("is_write", "before_set", "after_set")

    def __init__(self, text):
        self.is_write = text.endswith("!")
        names = text.rstrip("!").split("->")
        self.before_set = {n.strip() for n in names[0].split("|")}
        self.after_set = {n.strip() for n in names[-1].split("|")}


class FunctionSchema:
    """A parsed operator schema; ``str()`` gives torch's text for it."""

    def __init__(self, name, overload_name, arguments, returns):
        self.name, self.overload_name = name, overload_name
        self.arguments, self.returns = arguments, returns

    def __str__(self):
        args, star = [], False
        for a in self.arguments:
            if a.kwarg_only and not star:
                args.append("*")
                star = True
            args.append(str(a))
        name = self.name + ("." + self.overload_name if self.overload_name else "")
        return f"{name}({', '.join(args)}) -> {returns_text(self.returns)}"

    __repr__ = __str__

    @property
    def is_mutable(self):
        return any(a.is_write for a in self.arguments)


def returns_text(returns):
    if len(returns) == 1 and not returns[0].name:
        return str(returns[0])
    return "(" + ", ".join(str(r) for r in returns) + ")"


# ---------------------------------------------------------------- parsing
def _fail(text, pos, what):
    raise RuntimeError(f"{what}:\n{text}\n{' ' * pos}{'~' * max(1, _word_end(text, pos) - pos)} <--- HERE\n")


def _word_end(text, pos):
    m = re.compile(r"[\w.:]+").match(text, pos)
    return m.end() if m else pos + 1


class _Parser:
    def __init__(self, text):
        self.text, self.pos = text, 0

    def ws(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, s):
        self.ws()
        return self.text.startswith(s, self.pos)

    def take(self, s):
        if self.peek(s):
            self.pos += len(s)
            return True
        return False

    def expect(self, s):
        if not self.take(s):
            found = self.text[self.pos:self.pos + 1] or "eof"
            kind = "ident" if found[:1].isalpha() or found[:1] == "_" else f"'{found}'"
            _fail(self.text, self.pos, f"expected '{s}' but found {kind} here")

    def ident(self):
        self.ws()
        m = re.compile(r"[A-Za-z_][\w]*").match(self.text, self.pos)
        if not m:
            _fail(self.text, self.pos, "expected an identifier here")
        self.pos = m.end()
        return m.group(0)

    def type_(self):
        self.ws()
        start = self.pos
        base = self.ident()
        if base not in _BASE_TYPES:
            self.pos = start
            _fail(self.text, start, "\nunknown type specifier. Common valid schema types include Tensor, SymInt, "
                                    "int, float, bool, Scalar; for a full list, please see "
                                    "https://github.com/pytorch/pytorch/blob/main/aten/src/ATen/native/README.md#func")
        alias, alias_at, suffix = None, None, ""
        while True:
            if alias is None and self.take("("):
                end = self.text.index(")", self.pos)
                alias, alias_at = self.text[self.pos:end].strip(), len(base + suffix)
                self.pos = end + 1
            elif self.take("?"):
                suffix += "?"
            elif self.take("["):
                end = self.text.index("]", self.pos)
                suffix += "[" + self.text[self.pos:end].strip() + "]"
                self.pos = end + 1
            else:
                break
        return base + suffix, alias, alias_at

    def default(self):
        self.ws()
        start, depth, quote = self.pos, 0, None
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if quote:
                if c == "\\":
                    self.pos += 1
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            elif c in ",)" and depth == 0:
                break
            self.pos += 1
        return self.text[start:self.pos].strip()


def parse_schema(text, name=None):
    """Parse ``[ns::]name[.overload](args) -> returns`` (or ``(args) -> returns`` with ``name`` given)."""
    p = _Parser(text)
    if name is None:
        m = re.compile(r"\s*([\w]+(?:::[\w]+)?)(?:\.(\w+))?").match(text)
        if not m or not m.group(1):
            _fail(text, 0, "expected an operator name here")
        name, overload = m.group(1), m.group(2) or ""
        p.pos = m.end()
    else:
        overload = ""
    p.expect("(")
    args, kwarg_only = [], False
    if not p.take(")"):
        while True:
            if p.take("*"):
                kwarg_only = True
            else:
                typ, alias, alias_at = p.type_()
                arg_name = p.ident()
                default = p.default() if p.take("=") else None
                if default is not None and typ in ("float", "float?"):
                    default = _float_text(default)
                args.append(Argument(arg_name, typ, alias, default, kwarg_only, alias_at))
            if p.take(")"):
                break
            p.expect(",")
    p.expect("->")
    returns = []
    if p.take("("):
        if not p.take(")"):
            while True:
                returns.append(_return(p))
                if p.take(")"):
                    break
                p.expect(",")
    else:
        returns.append(_return(p))
    p.ws()
    if p.pos != len(text):
        _fail(text, p.pos, "expected eof but found 'ident' here")
    return FunctionSchema(name, overload, args, returns)


def _float_text(text):
    """A float default as torch prints it back (17 significant digits; ``2.0`` -> ``2.``)."""
    try:
        v = float(text)
    except ValueError:
        return text
    out = "%.17g" % v
    return out if any(c in out for c in ".en") else out + "."


def _return(p):
    typ, alias, alias_at = p.type_()
    p.ws()
    m = re.compile(r"[A-Za-z_]\w*").match(p.text, p.pos)
    rname = ""
    if m:
        rname = m.group(0)
        p.pos = m.end()
    return Argument(rname, typ, alias, alias_at=alias_at)


# identifiers torch writes as defaults, and the jtorch values they stand for
def _ident_default(word):
    import jtorch
    if word in ("None",):
        return None
    if word in ("True", "False"):
        return word == "True"
    if word in ("inf", "-inf"):
        return float(word)
    if word == "Mean":
        return 1
    if word in ("Sum", "None_"):
        return 2 if word == "Sum" else 0
    v = getattr(jtorch, word, None)
    if v is not None:
        return v
    raise ValueError(f"unknown default value {word!r}")


def _parse_default(text, arg):
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        inner = t[1:-1].strip()
        return [_parse_default(x, arg) for x in inner.split(",")] if inner else []
    if t[:1] in "\"'":
        return t[1:-1]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        pass
    if t.endswith("j"):
        return complex(t)
    return _ident_default(t)


# ---------------------------------------------------------------- binding a call
_TYPE_NAMES = {"SymInt": "int", "SymFloat": "float", "SymBool": "bool", "Scalar": "number"}


def _type_name(typ):
    """torch's Python-facing name for a schema type in binding errors (``int[]`` -> ``List[int]``)."""
    base = re.match(r"\w+", typ).group(0)
    name = _TYPE_NAMES.get(base, base)
    rest = typ[len(base):]
    if rest.startswith("?"):
        name, rest = f"Optional[{name}]", rest[1:]
    if rest.startswith("["):
        name, rest = f"List[{name}]", rest[rest.index("]") + 1:]
    if rest.startswith("?"):
        name = f"Optional[{name}]"
    return name


def _is_tensor(v):
    return isinstance(v, _dispatch.Tensor)


def _accepts_scalar(base, v, numbers_as_tensors):
    if base == "Tensor":
        return _is_tensor(v) or numbers_as_tensors and isinstance(v, (int, float, complex))
    if base in ("int", "SymInt"):
        return isinstance(v, int) or _is_tensor(v) and v.ndim == 0 and not v.dtype.is_floating_point \
            and not v.dtype.is_complex
    if base in ("float", "SymFloat"):
        return isinstance(v, (int, float)) or _is_tensor(v) and v.ndim == 0
    if base in ("bool", "SymBool"):
        return isinstance(v, bool) or _is_tensor(v) and v.ndim == 0 and v.dtype is D.bool
    if base == "Scalar":
        return isinstance(v, (int, float, complex)) or _is_tensor(v) and v.ndim == 0
    if base == "str":
        return isinstance(v, str)
    if base == "ScalarType":
        return isinstance(v, D.dtype)
    if base == "Device":
        import jtorch
        return isinstance(v, (str, int, jtorch.device))
    if base == "complex":
        return isinstance(v, (int, float, complex))
    return True


def _type_parts(arg):
    """(base, optional, list size or None, optional elements) of an argument's type, computed once."""
    parts = arg._parts
    if parts is None:
        typ, base = arg.type, arg.base
        rest = typ[len(base):]
        elem_optional = rest.startswith("?") and "[" in rest
        rest = rest.lstrip("?") if elem_optional else rest
        size = rest[1:rest.index("]")] if rest.startswith("[") else None
        parts = arg._parts = (base, typ.endswith("?"), size, elem_optional)
    return parts


def accepts(arg, v, numbers_as_tensors=False):
    """Whether ``v`` can be passed for ``arg`` (torch's schema matching, for the types jtorch sees)."""
    base, optional, size, elem_optional = arg._parts or _type_parts(arg)
    if v is None:
        return optional
    if size is None:
        if base == "Tensor":  # the common case first
            return isinstance(v, _dispatch.Tensor) or numbers_as_tensors and isinstance(v, (int, float, complex))
        return _accepts_scalar(base, v, numbers_as_tensors)
    if isinstance(v, (list, tuple)):
        return all(x is None and elem_optional or x is not None and _accepts_scalar(base, x, False) for x in v)
    # int[2] stride=1: a single value stands for the whole list
    if size and base in ("int", "SymInt", "float", "bool") and _accepts_scalar(base, v, False):
        return True
    return base in ("int", "SymInt") and _is_tensor(v) and v.ndim == 1 and not v.dtype.is_floating_point


def _plan(schema):
    """Per schema, computed once: the number of positional arguments, the argument names, the defaults."""
    plan = schema.__dict__.get("_plan")
    if plan is None:
        n_pos = sum(1 for a in schema.arguments if not a.kwarg_only)
        defaults = [a.default_value if a.default_text is not None else _NO_DEFAULT for a in schema.arguments]
        plan = schema._plan = (n_pos, frozenset(a.name for a in schema.arguments), defaults)
    return plan


_NO_DEFAULT = object()


def bind(schema, args, kwargs, numbers_as_tensors=False):
    """The call's values in schema order (defaults filled in), or torch's RuntimeError for a bad call."""
    op = schema.name
    n_pos, names, defaults = _plan(schema)
    if len(args) > n_pos:
        raise RuntimeError(f"{op}() expected at most {n_pos} argument(s) but received {len(args)} "
                           f"argument(s). Declaration: {schema}")
    for k in kwargs:
        if k not in names:
            raise RuntimeError(f"Unknown keyword argument '{k}' for operator '{op}'. Schema: {schema}")
    values = []
    for i, a in enumerate(schema.arguments):
        if i < len(args) and not a.kwarg_only:
            if kwargs and a.name in kwargs:
                raise RuntimeError(f"{op}() got multiple values for argument '{a.name}'. Declaration: {schema}")
            v = args[i]
        elif a.name in kwargs:
            v = kwargs[a.name]
        elif defaults[i] is not _NO_DEFAULT:
            d = defaults[i]
            values.append(list(d) if type(d) is list else d)  # a fresh list: the callee may keep it
            continue
        else:
            raise RuntimeError(f"{op}() is missing value for argument '{a.name}'. Declaration: {schema}")
        if not accepts(a, v, numbers_as_tensors):
            raise RuntimeError(f"{op}() Expected a value of type '{_type_name(a.type)}' for argument '{a.name}' "
                               f"but instead found type '{type(v).__name__}'.\nPosition: {i}\nValue: {v!r}\n"
                               f"Declaration: {schema}")
        values.append(v)
    return values


# ---------------------------------------------------------------- infer_schema
def _number_union(args):
    return set(args) == {int, float, bool}


def _annotation_type(ann):
    """The schema type for a parameter annotation, or None when torch has none for it."""
    from .._dispatch import Tensor
    import jtorch
    origin, targs = typing.get_origin(ann), typing.get_args(ann)
    optional = False
    if origin in (typing.Union, types.UnionType):
        rest = tuple(a for a in targs if a is not type(None))
        if _number_union(rest) and len(rest) == len(targs):
            return "Scalar"
        if len(rest) != len(targs):
            optional = True
            if _number_union(rest):
                return "Scalar?"
            if len(rest) != 1:
                return None
            ann = rest[0]
            origin, targs = typing.get_origin(ann), typing.get_args(ann)
        else:
            return None
    if origin in (list, collections.abc.Sequence, typing.List, typing.Sequence) and len(targs) == 1:
        elem = targs[0]
        if elem is Tensor:
            inner = "Tensor[]"
        elif typing.get_origin(elem) in (typing.Union, types.UnionType) and \
                set(typing.get_args(elem)) == {Tensor, type(None)}:
            inner = "Tensor?[]"
        elif typing.get_origin(elem) in (typing.Union, types.UnionType) and _number_union(typing.get_args(elem)):
            inner = "Scalar[]"
        else:
            simple = {int: "SymInt", float: "float", bool: "bool"}.get(elem)
            if simple is None:
                return None
            inner = simple + "[]"
        if optional and inner.startswith("Tensor"):
            return None  # torch has no optional lists of tensors
        return inner + ("?" if optional else "")
    simple = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool", str: "str",
              D.dtype: "ScalarType", jtorch.device: "Device"}.get(ann)
    if simple is None:
        return None
    return simple + ("?" if optional else "")


_VALID_PARAM_NOTE = ("The valid types are: Tensor, Optional[Tensor], Sequence[Tensor], Sequence[Optional[Tensor]], "
                     "int, float, bool, str, Number (int | float | bool), torch.dtype, torch.device, and Optional / "
                     "Sequence forms of these.")


def _return_type(ann, error):
    from .._dispatch import Tensor
    if ann is None or ann is type(None):
        return "()"
    origin, targs = typing.get_origin(ann), typing.get_args(ann)
    if origin is tuple:
        return "(" + ", ".join(_single_return(a, error) for a in targs) + ")"
    return _single_return(ann, error)


def _single_return(ann, error):
    from .._dispatch import Tensor
    origin, targs = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType) and _number_union(targs):
        return "Scalar"
    if origin in (list, typing.List) and targs == (Tensor,):
        return "Tensor[]"
    simple = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool"}.get(ann)
    if simple is None:
        error(f"Return has unsupported type {ann}. The valid types are: Tensor, List[Tensor], int, float, bool, "
              "Number (int | float | bool).")
    return simple


def _default_text(v):
    if v is None:
        return "None"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, D.dtype):
        return str(v).split(".")[-1]
    return None


def _signature(fn):
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError):
        return inspect.signature(fn)


def infer_schema(prototype_function, /, *, mutates_args, op_name=None):
    """The schema text torch infers from ``prototype_function``'s type annotations."""
    sig = _signature(prototype_function)

    def error(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    params, seen_kwonly = [], False
    for idx, (name, p) in enumerate(sig.parameters.items()):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            error("We do not support positional-only args, varargs, or varkwargs.")
        if p.kind == p.KEYWORD_ONLY and not seen_kwonly:
            params.append("*")
            seen_kwonly = True
        if p.annotation is inspect.Parameter.empty:
            error(f"Parameter {name} must have a type annotation.")
        typ = _annotation_type(p.annotation)
        if typ is None:
            error(f"Parameter {name} has unsupported type {p.annotation}. {_VALID_PARAM_NOTE}")
        mutated = mutates_args == "unknown" and typ.startswith("Tensor") or \
            mutates_args != "unknown" and name in mutates_args
        if mutated:
            if not typ.startswith("Tensor"):
                error(f"Parameter {name} is in mutable_args but only Tensors or collections of Tensors can be "
                      "mutated")
            typ = f"Tensor(a{idx}!)" + typ[len("Tensor"):]
        text = f"{typ} {name}"
        if p.default is not inspect.Parameter.empty:
            d = _default_text(p.default)
            if d is None:
                error(f"Parameter {name} has an unsupported default value type {type(p.default)}. Please file an "
                      "issue on GitHub so we can prioritize this.")
            text += "=" + d
        params.append(text)
    if mutates_args != "unknown":
        missing = set(mutates_args) - set(sig.parameters)
        if missing:
            error(f"{missing} in mutates_args were not found in the custom op's signature. mutates_args should "
                  "contain the names of all args that the custom op mutates, or just the string 'unknown' if you "
                  "don't know.")
    if sig.return_annotation is inspect.Signature.empty:
        error("No return type annotation was provided. Please add one.")
    ret = _return_type(sig.return_annotation, error)
    return f"{op_name or ''}({', '.join(params)}) -> {ret}"
