"""torch.utils.module_tracker.ModuleTracker: which modules' forward (or backward) is running now.

``parents`` holds "Global" and the name of every module whose forward is in progress ("Model",
"Model.encoder", "Model.encoder.0", ...: the outermost module seen is named by its class, its submodules by
their attribute paths). During backward it holds the modules that were running when the op being
differentiated ran forward, and ``is_bw`` is True. torch learns the backward side from gradient hooks on
module inputs and outputs; jtorch remembers, per autograd node, the modules around its forward op."""
import weakref

from . import _op_observer

__all__ = ["ModuleTracker"]


class ModuleTracker:
    def __init__(self):
        self.parents = {"Global"}
        self.is_bw = False
        self._known = weakref.WeakKeyDictionary()    # module -> name
        self._stack = []                             # forward: names entered, innermost last
        self._node_parents = weakref.WeakKeyDictionary()  # autograd node -> parents at its forward
        self._saved = []                             # backward: (parents, is_bw) to restore
        self._handles = []

    def _name(self, mod):
        name = self._known.get(mod)
        if name is None:
            name = self._known[mod] = type(mod).__name__
            self._name_children(mod, name)
        return name

    def _name_children(self, mod, prefix):
        for child_name, child in mod.named_children():
            if child not in self._known:
                full = f"{prefix}.{child_name}"
                self._known[child] = full
                self._name_children(child, full)

    def _pre_forward(self, mod, args):
        name = self._name(mod)
        self._stack.append(name)
        self.parents.add(name)

    def _post_forward(self, mod, args, output):
        name = self._known.get(mod)
        if name in self._stack:
            # pop back to this module (a submodule whose forward raised left its name behind)
            while self._stack:
                top = self._stack.pop()
                if top not in self._stack:
                    self.parents.discard(top)
                if top == name:
                    break

    # _op_observer callbacks
    def on_op(self, op, dyn, statics, res, node):
        if node is None and len(self.parents) > 1:
            n = _op_observer.result_node(res)
            if n is not None:
                self._node_parents[n] = frozenset(self.parents)

    def on_node(self, node, entering):
        if entering:
            self._saved.append((self.parents, self.is_bw))
            self.parents = set(self._node_parents.get(node, {"Global"}))
            self.is_bw = True
        else:
            self.parents, self.is_bw = self._saved.pop()

    def __enter__(self):
        from ..nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
        self._handles = [register_module_forward_pre_hook(self._pre_forward),
                         register_module_forward_hook(self._post_forward)]
        _op_observer.start(self)
        return self

    def __exit__(self, *exc):
        _op_observer.stop(self)
        for h in self._handles:
            h.remove()
        self._handles = []
        self._stack.clear()
        self.parents = {"Global"}
        self.is_bw = False
        return False
