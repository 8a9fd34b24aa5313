"""``torch.utils._pytree``: nested tuples, lists, dicts and namedtuples flattened to their leaves and
rebuilt from them (what torch.export uses for a program's inputs and outputs). ``None`` is an empty
node, as in torch; everything else (tensors, numbers, strings) is a leaf."""
from collections import OrderedDict

__all__ = ["TreeSpec", "LeafSpec", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map",
           "tree_flatten_with_path", "keystr"]


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _children(x):
    """(node type, context, children) of a container, or None for a leaf."""
    t = type(x)
    if x is None:
        return type(None), None, []
    if _is_namedtuple(x):
        return t, None, list(x)
    if t is tuple or t is list:
        return t, None, list(x)
    if t is dict or t is OrderedDict:
        return t, list(x.keys()), list(x.values())
    return None


class TreeSpec:
    """The shape of a tree: node type, context (dict keys) and the specs of its children."""

    def __init__(self, type, context, children_specs):
        self.type = type
        self.context = context
        self.children_specs = list(children_specs)
        self.num_leaves = sum(c.num_leaves for c in self.children_specs)

    @property
    def num_children(self):
        return len(self.children_specs)

    def is_leaf(self):
        return False

    def children(self):
        return list(self.children_specs)

    def child(self, index):
        return self.children_specs[index]

    def __eq__(self, other):
        return isinstance(other, TreeSpec) and type(other) is type(self) and self.type is other.type and \
            self.context == other.context and self.children_specs == other.children_specs

    def __hash__(self):
        return hash((self.type, str(self.context), len(self.children_specs)))

    def unflatten(self, leaves):
        return tree_unflatten(leaves, self)

    def __repr__(self):
        name = getattr(self.type, "__name__", str(self.type))
        inner = ", ".join(repr(c) for c in self.children_specs)
        return f"TreeSpec({name}, {self.context}, [{inner}])"


class LeafSpec(TreeSpec):
    def __init__(self):
        super().__init__(None, None, [])
        self.num_leaves = 1

    def is_leaf(self):
        return True

    def __repr__(self):
        return "*"


def tree_flatten(tree, is_leaf=None):
    """(leaves in order, TreeSpec)."""
    leaves = []

    def go(x):
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            return LeafSpec()
        c = _children(x)
        if c is None:
            leaves.append(x)
            return LeafSpec()
        t, ctx, kids = c
        return TreeSpec(t, ctx, [go(k) for k in kids])
    return leaves, go(tree)


def tree_unflatten(leaves, treespec):
    leaves = list(leaves)
    if len(leaves) != treespec.num_leaves:
        raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers "
                         f"to a pytree that holds {treespec.num_leaves} items ({treespec}).")
    it = iter(leaves)

    def go(spec):
        if spec.is_leaf():
            return next(it)
        kids = [go(c) for c in spec.children_specs]
        t = spec.type
        if t is type(None):
            return None
        if t is dict or t is OrderedDict:
            return t(zip(spec.context, kids))
        if t is tuple or t is list:
            return t(kids)
        return t(*kids)  # a namedtuple
    return go(treespec)


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(fn, tree, *rests, is_leaf=None):
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [tree_flatten(r, is_leaf)[0] for r in rests]
    return tree_unflatten([fn(*xs) for xs in zip(leaves, *others)], spec)


class SequenceKey:
    def __init__(self, idx):
        self.idx = idx

    def __str__(self):
        return f"[{self.idx!r}]"

    __repr__ = __str__


class MappingKey:
    def __init__(self, key):
        self.key = key

    def __str__(self):
        return f"[{self.key!r}]"

    __repr__ = __str__


class GetAttrKey:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f".{self.name}"

    __repr__ = __str__


def tree_flatten_with_path(tree, is_leaf=None):
    """([(key path, leaf)], TreeSpec); a key path is a tuple of SequenceKey/MappingKey/GetAttrKey."""
    out = []

    def go(x, path):
        if is_leaf is not None and is_leaf(x):
            out.append((path, x))
            return
        c = _children(x)
        if c is None:
            out.append((path, x))
            return
        t, ctx, kids = c
        for i, k in enumerate(kids):
            if ctx is not None:
                key = MappingKey(ctx[i])
            elif _is_namedtuple(x):
                key = GetAttrKey(t._fields[i])
            else:
                key = SequenceKey(i)
            go(k, path + (key,))
    go(tree, ())
    return out, tree_structure(tree, is_leaf)


def keystr(kp):
    return "".join(str(k) for k in kp)
