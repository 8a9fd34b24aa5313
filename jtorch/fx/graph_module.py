"""``torch.fx.GraphModule``: a Module whose forward is the Python code generated from a Graph."""
import copy
import itertools
import linecache

from ..nn import Module
from .graph import Graph

__all__ = ["GraphModule"]

_COUNTER = itertools.count()


def _exec_forward(src, globals_):
    """Compile the generated source; it is registered with linecache so tracebacks show its lines."""
    key = f"<eval_with_key>.{next(_COUNTER)}"
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    g = dict(globals_)
    exec(compile(src, key, "exec"), g)
    return g["forward"]


def _copy_attr(src, dst, target):
    """``dst.<target> = src.<target>``, making plain Modules for the missing levels of the path (as torch's)."""
    *path, field = target.split(".")
    for atom in path:
        f = getattr(src, atom)
        t = getattr(dst, atom, None)
        if f is t:
            return
        if t is None:
            t = Module()
            setattr(dst, atom, t)
        src, dst = f, t
    _set_attr(dst, field, getattr(src, field))


def _set_attr(dst, field, value):
    import jtorch
    from ..nn import Parameter
    if isinstance(value, jtorch.Tensor) and not isinstance(value, Parameter):
        dst.register_buffer(field, value)
    else:
        setattr(dst, field, value)


def _assign_attr(value, dst, target):
    *path, field = target.split(".")
    for atom in path:
        t = getattr(dst, atom, None)
        if t is None:
            t = Module()
            setattr(dst, atom, t)
        dst = t
    _set_attr(dst, field, value)


class GraphModule(Module):
    """A Module made from a ``root`` (a Module or a dict of attributes) and a Graph: it holds the
    submodules, parameters and buffers the graph uses, and ``forward`` is ``graph.python_code``."""

    def __new__(cls, *args, **kwargs):
        # one class per instance: each GraphModule gets its own generated forward
        if not cls.__dict__.get("_fx_instance_class", False):
            cls = type(cls.__name__, (cls,), {"_fx_instance_class": True})
        return super().__new__(cls)

    def __init__(self, root, graph, class_name="GraphModule"):
        super().__init__()
        self.__class__.__name__ = class_name
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but that target was not "
                                           "provided in ``root``!")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError("Unsupported type " + str(root) + " passed for root!")
        self.graph = graph
        self._tracer_cls = graph._tracer_cls
        self.meta = getattr(root, "meta", {}) if isinstance(root, Module) else {}

    @property
    def graph(self):
        return self.__dict__["_graph"]

    @graph.setter
    def graph(self, g):
        if not isinstance(g, Graph):
            raise AssertionError(f"Expected a Graph, got {type(g)}")
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self):
        """The Python source of forward."""
        if "_code" not in self.__dict__:
            raise RuntimeError("Code has not been generated! Please report a bug to PyTorch")
        return self._code

    def recompile(self):
        """Generate forward again from ``self.graph`` (after changing the graph)."""
        pc = self.graph.python_code(root_module="self")
        if self.graph._pytree_info is not None:
            self._in_spec, self._out_spec = self.graph._pytree_info[1:]
        self.__dict__["_code"] = pc.src
        type(self).forward = _exec_forward(pc.src, pc.globals)
        return pc

    def print_readable(self, print_output=True, include_stride=False, include_device=False, colored=False):
        """The module as a class listing with its forward (printed, and returned)."""
        body = self.code.strip("\n").rstrip()
        lines = [f"class {type(self).__name__}(torch.nn.Module):"]
        lines += ["    " + line if line else line for line in body.splitlines()]
        out = "\n".join(lines) + "\n"
        if print_output:
            print(out)
        return out

    def __str__(self):
        return "\n".join([Module.__repr__(self), self._code,
                          "# To see more debug info, please use `graph_module.print_readable()`"])

    def __deepcopy__(self, memo):
        res = GraphModule.__new__(GraphModule)
        memo[id(self)] = res
        holder = Module()
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        holder.__dict__.update(copy.deepcopy(state, memo))
        graph = copy.deepcopy(self.graph, memo)
        GraphModule.__init__(res, holder, graph, type(self).__name__)
        for k, v in holder.__dict__.items():  # plain attributes (meta, flags) the graph does not name
            if k not in res.__dict__:
                res.__dict__[k] = v
        return res

    def __copy__(self):
        res = GraphModule(self, self.graph, type(self).__name__)
        res.meta = dict(getattr(self, "meta", {}))
        return res

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        return (_rebuild, (state, self.graph, type(self).__name__))

    def add_submodule(self, target, m):
        """Install ``m`` at the dotted path ``target`` (making empty Modules on the way)."""
        *path, field = target.split(".")
        mod = self
        for atom in path:
            sub = getattr(mod, atom, None)
            if sub is None:
                sub = Module()
                setattr(mod, atom, sub)
            if not isinstance(sub, Module):
                return False
            mod = sub
        setattr(mod, field, m)
        return True

    def get_submodule(self, target):
        mod = self
        if target:
            for atom in target.split("."):
                if not hasattr(mod, atom):
                    raise AttributeError(f"{type(mod).__name__} has no attribute `{atom}`")
                mod = getattr(mod, atom)
        return mod

    def delete_submodule(self, target):
        *path, field = target.split(".")
        mod = self
        for atom in path:
            if not hasattr(mod, atom):
                return False
            mod = getattr(mod, atom)
        if not hasattr(mod, field):
            return False
        delattr(mod, field)
        return True

    def delete_all_unused_submodules(self):
        """Remove the submodules no call_module/get_attr node reaches."""
        used = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                atoms = node.target.split(".")
                for i in range(1, len(atoms) + 1):
                    used.add(".".join(atoms[:i]))
                if node.op == "call_module":
                    sub = self.get_submodule(node.target)
                    for name, _ in sub.named_modules():
                        if name:
                            used.add(node.target + "." + name)
        for name, _ in list(self.named_modules()):
            if name and name not in used:
                self.delete_submodule(name)


def _rebuild(state, graph, name):
    holder = Module()
    holder.__dict__.update(state)
    gm = GraphModule(holder, graph, name)
    for k, v in state.items():
        if k not in gm.__dict__:
            gm.__dict__[k] = v
    return gm
