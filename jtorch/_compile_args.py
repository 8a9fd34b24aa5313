"""How jtorch.compile passes a function's tensor arguments to its program.

A plain argument (no view, the only argument on its storage: the common case) goes in as its own array.
Arguments that are views, or that share a storage with another argument (``f(a, a[0])``, ``f(x, x.detach())``),
go in as their storage's root array, once per storage; inside the trace each is rebuilt on that root by
replaying its view chain through jtorch's view machinery. So, as in eager torch, ``as_strided`` reaches the
whole storage, ``stride()``/``storage_offset()``/``_base`` are the view's, a write through one argument is
seen through every other on the same storage, and the written root comes back as one output that the call
stores in the caller's storage (its base and every view of it then read the new values).

The storage geometry (which arguments share a storage, each one's view chain, the roots' shapes and dtypes)
is part of the guard key: another view of the same shape compiles another program, as torch's guards on
strides, offsets and aliasing do.
"""
from . import _dispatch
from ._dispatch import GRAD


def plan(tensors):
    """The Plan for these tensor arguments, or None where each is plain and on a storage of its own."""
    first = {}
    shared = False
    for x in tensors:
        if x._vfn:
            shared = True
        elif first.setdefault(id(x._st), x) is not x:
            shared = True
    return Plan(tensors) if shared else None


def _leaf_view(x):
    """A view made a leaf of its own (``v.detach().requires_grad_()``): its gradient must reach it, not
    its storage's root, so it goes in by value."""
    return x._base is None and x._requires_grad


def _chain_key(x):
    """The view chain of ``x`` and how much of it leads from its ``_base``, as a hashable guard; None where
    it cannot be one."""
    base = x._base
    tail = len(x._avfn) if base is not None and base._st is x._st and base._vfn + x._avfn == x._vfn else None
    key = (x._vfn, tail)
    try:
        hash(key)
    except TypeError:
        return None
    return key


class Plan:
    """The program's tensor inputs for one call: ``by_value`` (argument indices passed as their own value),
    then one root per storage ``groups`` entry (storage, its owning tensor or None, argument indices)."""
    __slots__ = ("tensors", "by_value", "groups", "roots", "key")

    def __init__(self, tensors):
        self.tensors = tensors
        where = {}
        self.by_value, self.groups, self.roots = [], [], []
        key = []
        for k, x in enumerate(tensors):
            chain = _chain_key(x) if x._vfn else ((), None)
            if chain is None or x._vfn and _leaf_view(x):
                self.by_value.append(k)
                key.append(-1)
                continue
            g = where.get(id(x._st))
            if g is None:
                g = where[id(x._st)] = len(self.groups)
                self.groups.append([x._st, None, []])
            grp = self.groups[g]
            grp[2].append(k)
            if grp[1] is None and not x._vfn:
                grp[1] = x
            key.append((g, chain))
        for grp in self.groups:
            st, owner = grp[0], grp[1]
            if owner is None:  # only views of it: their base carries the storage's autograd history
                owner = next((b for b in (tensors[k]._base for k in grp[2]) if b is not None and b._st is st
                              and not b._vfn), None)
                grp[1] = owner
            a = _root_array(st)
            self.roots.append(a)
            key.append((a.shape, a.dtype, st.layout, owner is not None and owner.requires_grad))
        self.key = tuple(key)

    def arrays(self):
        """The program's tensor inputs."""
        t = self.tensors
        return [t[k]._value for k in self.by_value] + self.roots

    def targets(self):
        """For each input, the caller's tensor that receives its written value and, for a program recorded
        as one autograd op, carries its history: a storage's owner (or a bare tensor of the storage)."""
        t = self.tensors
        return [t[k] for k in self.by_value] + [owner if owner is not None else _bare(st)
                                                   for st, owner, _ in self.groups]

    def rebuild(self, arrays):
        """Inside the trace: the arguments as tensors on the traced ``arrays``, and each input's storage
        (its array changed when the function wrote it)."""
        t = self.tensors
        out = [None] * len(t)
        stores = []
        nv = len(self.by_value)
        for k, a in zip(self.by_value, arrays):
            out[k] = wrap(t[k], a)
            stores.append(out[k]._st)
        for (st, owner, members), a in zip(self.groups, arrays[nv:]):
            root = wrap(owner, a) if owner is not None else _wrap_root(st, a)
            memo = {id(st): root}
            if owner is not None:
                memo[id(owner)] = root
            for k in members:
                out[k] = _replay(t[k], root, memo)
            stores.append(root._st)
        return out, stores


def wrap(x, a):
    """The plain argument ``x`` as a new tensor on the traced array ``a``."""
    t = _dispatch.Tensor._wrap(a)
    t._requires_grad = x._requires_grad
    if x._st.layout is not None and not x._vfn:  # a memory format (_memfmt.py)
        from ._memfmt import lay
        lay(t, x._st.layout)
    return t


def _wrap_root(st, a):
    t = _dispatch.Tensor._wrap(a)
    if st.layout is not None:
        from ._memfmt import lay
        lay(t, st.layout)
    return t


def _replay(x, root, memo):
    """``x`` (a tensor of the storage ``root`` stands for) rebuilt on ``root``: its base first, then the
    view ops from it, so the result's ``_base``, strides and autograd history are those of eager."""
    t = memo.get(id(x))
    if t is not None:
        return t
    if not x._vfn:
        t = root._alias()  # another tensor object on the same storage (``x.detach()`` of an argument)
        t._requires_grad = x._requires_grad
    else:
        base = x._base
        if base is not None and base._st is x._st and base._vfn + x._avfn == x._vfn:
            t = _views(_replay(base, root, memo), x._avfn)
        else:  # a view with no history to its base (``v.detach()``): the chain from the root, no graph
            was, GRAD.enabled = GRAD.enabled, False
            try:
                t = _views(root, x._vfn)
            finally:
                GRAD.enabled = was
            t._base, t._avfn = None, ()
    memo[id(x)] = t
    return t


def _views(t, links):
    for op, statics, extra in links:
        t = _dispatch._apply_view(op, [t, *extra], statics)
    return t


def _root_array(st):
    if st.host is not None and not st.alias:
        from .interop import sync_host
        sync_host(st)  # numpy-side writes to a buffer XLA could not alias
    return st.array


def _bare(st):
    t = _dispatch.Tensor._wrap(None)
    t._st = st
    return t
