"""Reading TorchScript archives (``torch.jit.save``'s zip files) into jtorch modules.

An archive ``<name>/`` holds ``data.pkl`` (the module tree: each module is pickled as an instance of its
TorchScript class ``__torch__.<qualified name>`` with a dict of attributes, tensors as torch's
``_rebuild_tensor_v2`` over ``data/<key>`` storages), ``constants.pkl`` (the tensors the code reads as
``CONSTANTS.c<i>``, over ``constants/<key>``), ``code/__torch__/<path>.py`` (each class's and function's
TorchScript source), ``extra/<name>`` (the user's extra files) and ``version``.

Loading runs each code file as Python (``_runtime`` binds TorchScript's names to jtorch): a class
``class Linear(Module)`` becomes a subclass of ``RecursiveScriptModule``, a jtorch ``nn.Module``. Unpickling
``data.pkl`` then builds the tree: the names a class lists in ``__parameters__`` become Parameters,
``__buffers__`` buffers, module values submodules, anything else a plain attribute, so ``state_dict``,
``parameters``, ``train``/``eval`` and ``to`` behave as on any jtorch module, and ``forward`` (and every
other method of the class) runs the archive's code on jtorch tensors.
"""
import __future__
import ast
import io
import os
import pickle
import re
import textwrap
import zipfile

from ..serialization._reader import _Loader
from ..serialization._safe import _Unpickler, _Unsafe


class _Namespace:
    """``__torch__`` and the packages below it: children by name, then the names a code file defined."""

    def __init__(self, qualname):
        self._qualname = qualname
        self._children = {}

    def child(self, name):
        ns = self._children.get(name)
        if ns is None:
            ns = self._children[name] = _Namespace(f"{self._qualname}.{name}")
        return ns

    def __getattr__(self, name):
        if name.startswith("_"):
            children = self.__dict__.get("_children", {})
            if name in children:
                return children[name]
            for k, v in children.items():
                # inside a class body Python rewrites ``.___torch_mangle_1`` as ``._<Class>___torch_mangle_1``
                if k.startswith("__") and name.endswith(k) and len(name) > len(k) + 1:
                    return v
            raise AttributeError(name)
        try:
            return self._children[name]
        except KeyError:
            if f"{self._qualname}.{name}".startswith("__torch__.torch.classes"):
                raise RuntimeError("jtorch.jit.load: the archive uses TorchScript's C++ custom classes "
                                   "(__torch__.torch.classes, e.g. quantized packed weights), which jtorch can't "
                                   "run") from None
            raise AttributeError(f"the archive's code defines no {self._qualname}.{name}") from None

    def lookup(self, qualname):
        """The class or function the archive's code defined under ``qualname`` (a pickle's GLOBAL)."""
        obj = self
        for part in qualname.split(".")[1:]:
            if not isinstance(obj, _Namespace) or part.startswith("__") and not _MANGLED.fullmatch(part):
                raise pickle.UnpicklingError(f"jtorch.jit.load: {qualname} is not a class of the archive's code")
            obj = getattr(obj, part)
        return obj


class _Constants:
    def __init__(self, values):
        for i, v in enumerate(values):
            setattr(self, f"c{i}", v)


class _Archive:
    """One archive's records, by name below its top folder."""

    def __init__(self, f):
        if isinstance(f, (str, os.PathLike)):
            path = os.fspath(f)
            if not os.path.exists(path):
                raise ValueError(f"The provided filename {path} does not exist")
            if os.path.isdir(path):
                raise ValueError(f"The provided filename {path} is a directory")
            with open(path, "rb") as fobj:
                data = fobj.read()
        elif hasattr(f, "read"):
            data = f.read()
        else:
            raise AttributeError(f"'{type(f).__name__}' object has no attribute 'read'")
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            names = self.zf.namelist()
        except Exception:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: not a ZIP archive") from None
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        if len(tops) != 1:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: the records are not in one folder")
        self.prefix = tops.pop() + "/"
        self.records = {n[len(self.prefix):]: n for n in names if n.startswith(self.prefix)}

    def has(self, name):
        return name in self.records

    def read(self, name, limit=None):
        full = self.records.get(name)
        if full is None:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found")
        with self.zf.open(full) as r:
            data = r.read() if limit is None else r.read(limit)
        if limit is not None and len(data) < limit:
            raise RuntimeError(f"storage record {name} is truncated: expected {limit} bytes, found {len(data)}")
        return data

    def code_files(self):
        """(qualified module name, source) of each code file: ``code/__torch__/a/b.py`` is ``__torch__.a.b``."""
        for name in sorted(self.records):
            if name.startswith("code/") and name.endswith(".py"):
                yield name[len("code/"):-len(".py")].replace("/", "."), self.read(name).decode("utf-8")


class _ArchiveUnpickler(_Unpickler):
    """torch's weights-only names, plus the archive's ``__torch__`` classes and ``torch.jit._pickle``'s helpers."""

    def __init__(self, data, loader, root):
        super().__init__(io.BytesIO(data), loader, True, encoding="utf-8")
        self.root = root

    def find_class(self, module, name):
        if module == "__torch__" or module.startswith("__torch__."):
            return self.root.lookup(f"{module}.{name}")
        if module == "torch.jit._pickle":
            if name.startswith("build_"):
                return lambda xs: xs
            if name == "restore_type_tag":
                return lambda value, type_str: value
        return super().find_class(module, name)


def _unpickle(archive, record, storage_folder, map_location, root):
    loader = _Loader(map_location, lambda key, n: archive.read(f"{storage_folder}/{key}", n))
    try:
        return _ArchiveUnpickler(archive.read(record), loader, root).load()
    except _Unsafe as e:
        raise RuntimeError(f"jtorch.jit.load: {record} refers to something a TorchScript archive cannot hold: {e}") \
            from None


_FUTURE = __future__.annotations.compiler_flag


def _compile_code(archive, constants):
    """Run every code file; returns the ``__torch__`` namespace and each class's source by qualified name."""
    from ._runtime import namespace
    root = _Namespace("__torch__")
    base = namespace()
    base.update(__torch__=root, CONSTANTS=constants)
    sources = {}
    for modname, src in archive.code_files():
        ns = root
        for part in modname.split(".")[1:]:
            ns = ns.child(part)
        g = dict(base)
        g["__name__"] = modname
        try:
            tree = ast.parse(src)
        except SyntaxError as e:
            raise RuntimeError(f"jtorch.jit.load: the code of {modname} is not TorchScript jtorch can read: {e}") \
                from None
        _check_code(tree, modname)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):  # attribute types (``__annotations__["0"] = ...``) are not run
                node.body = [st for st in node.body if not _sets_annotation(st)] or [ast.Pass()]
        ast.fix_missing_locations(tree)
        try:
            exec(compile(tree, f"<archive code {modname}>", "exec", flags=_FUTURE, dont_inherit=True), g)
        except Exception as e:  # a name TorchScript does not have (open, __import__), or a malformed definition
            raise RuntimeError(f"jtorch.jit.load: running the code of {modname} failed: {type(e).__name__}: {e}") \
                from None
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                obj = g[node.name]
                ns._children[node.name] = obj
                if isinstance(obj, type):
                    obj.__module__ = modname
                    obj.__qualname__ = node.name
                    sources[f"{modname}.{node.name}"] = ast.get_source_segment(src, node)
    return root, sources


# Python that TorchScript's printer never writes: refused, so an archive's code can reach nothing but the names
# bound for it (``_runtime.namespace``), as libtorch's interpreter would
_FORBIDDEN = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Lambda, ast.Yield, ast.YieldFrom, ast.Await,
              ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Try)
_DUNDER_NAMES = {"__torch__", "__annotations__", "__parameters__", "__buffers__", "__init__", "__len__",
                 "__getitem__", "__contains__", "__setstate__", "__getstate__"}


_MANGLED = re.compile(r"___torch_mangle_\d+")
_PYTHON_INTERNALS = set(dir(object)) | set(dir(type)) | set(dir(lambda: 0)) | {"__builtins__"}


def _check_code(tree, modname):
    def refuse(what):
        raise RuntimeError(f"jtorch.jit.load: the code of {modname} uses {what}, which TorchScript code never "
                           "does; refusing to run it")
    for node in ast.walk(tree):
        if isinstance(node, _FORBIDDEN):
            refuse(type(node).__name__)
        if isinstance(node, ast.Name) and node.id.startswith("__") and node.id not in _DUNDER_NAMES:
            refuse(f"the name {node.id}")
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("__") and \
                node.name not in _DUNDER_NAMES:
            refuse(f"the definition {node.name}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("__") and not _MANGLED.fullmatch(node.attr) \
                and node.attr not in ("__init__", "__new__"):
            base = node.value
            on_ops = isinstance(base, ast.Name) and base.id == "torch" or \
                isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) and base.value.id == "ops"
            if not on_ops or node.attr in _PYTHON_INTERNALS:  # torch.__is__ & co are operators; __class__ is not
                refuse(f"the attribute {node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            name = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str) and not name.value.startswith("__")):
                refuse(f"{node.func.id} with a name that is not a plain constant")


def _sets_annotation(st):
    return isinstance(st, ast.Assign) and any(
        isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "__annotations__"
        for t in st.targets)


def method_code(class_source, method):
    """The text of one method, as torch's ``.code`` shows it: dedented, ``self`` without its annotation."""
    if class_source is None:
        return ""
    tree = ast.parse(class_source)
    for node in tree.body[0].body:
        if isinstance(node, ast.FunctionDef) and node.name == method:
            lines = textwrap.dedent(ast.get_source_segment(class_source, node, padded=True)).split("\n")
            n_sig = node.body[0].lineno - node.lineno  # the signature's lines: continued 4 spaces in
            lines[1:n_sig] = ["    " + ln.lstrip() for ln in lines[1:n_sig]]
            text = "\n".join(lines)
            first = node.args.args[0] if node.args.args else None
            if first is not None and first.annotation is not None:
                ann = ast.get_source_segment(class_source, first.annotation)
                text = text.replace(f"{first.arg}: {ann}", first.arg, 1)
            return text + "\n"
    return ""


def load(f, map_location=None, _extra_files=None):
    from .._device import device as _device_cls
    if isinstance(map_location, str):
        map_location = _device_cls(map_location)
    archive = _Archive(f)
    if not archive.has("constants.pkl"):
        raise RuntimeError("PytorchStreamReader failed locating file constants.pkl: file not found")
    if not archive.has("data.pkl"):
        raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
    constants = _Constants(())
    root, sources = _compile_code(archive, constants)
    consts = _unpickle(archive, "constants.pkl", "constants", map_location, root)
    constants.__init__(consts if isinstance(consts, tuple) else ())
    module = _unpickle(archive, "data.pkl", "data", map_location, root)
    from . import RecursiveScriptModule
    if not isinstance(module, RecursiveScriptModule):
        raise RuntimeError("jtorch.jit.load: data.pkl does not hold a TorchScript module")
    for rec in ("version", ".data/version"):
        if archive.has(rec):
            module.__dict__["_archive_version"] = (rec, archive.read(rec))
    module.__dict__["_archive_constants"] = tuple(consts) if isinstance(consts, tuple) else ()
    module.__dict__["_archive_code"] = {name: archive.read(name) for name in archive.records
                                        if name.startswith("code/") and name.endswith(".py")}
    for m in module.modules():
        m.__dict__["_class_source"] = sources.get(f"{type(m).__module__}.{type(m).__name__}")
    if _extra_files is not None:
        for name in list(_extra_files):
            key = f"extra/{name}"
            _extra_files[name] = archive.read(key) if archive.has(key) else b""
    return module
