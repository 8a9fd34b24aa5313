"""How jtorch.compile passes a function's tensor arguments to its program.

A plain argument (no view, the only argument on its storage: the common case) goes in as its own array.
Arguments that are views, or that share a storage with another argument (``f(a, a[0])``, ``f(x, x.detach())``),
go in as their storage's root array, once per storage; inside the trace each is rebuilt on that root by
replaying its view chain through jtorch's view machinery. So, as in eager torch, ``as_strided`` reaches the
whole storage, ``stride()``/``storage_offset()``/``_base`` are the view's, a write through one argument is
seen through every other on the same storage, and the written root comes back as one output that the call
stores in the caller's storage (its base and every view of it then read the new values).

The storage geometry (which arguments share a storage, each one's view ops and their static parameters,
the roots' shapes and dtypes) is part of the guard key. The views' positions (slice starts, select indices)
are numbers the program takes, so ``step(data[i:i + n])`` runs one program for every ``i``, as torch's does;
where Python needs one's value (``storage_offset()``, ``as_strided`` from the view's own offset) the trace
fails, and the function is traced again with the positions guarded by value (one program per view), as
torch specialises a storage offset that Python reads.
"""
from . import _dispatch
from ._dispatch import GRAD


def plan(tensors, static=False, state=frozenset()):
    """The Plan for these tensor arguments, or None where each is plain and on a storage of its own that
    is not one of the ``state`` storages (ids; the tensors the function reads besides its arguments).
    ``static``: the views' positions (slice starts, select indices) are guarded by value rather than
    passed as numbers the program takes."""
    seen = set()
    for x in tensors:
        if x._vfn or id(x._st) in seen or id(x._st) in state:
            return Plan(tensors, static, state)
        seen.add(id(x._st))
    return None


def _leaf_view(x):
    """A view made a leaf of its own (``v.detach().requires_grad_()``): its gradient must reach it, not
    its storage's root, so it goes in by value."""
    return x._base is None and x._requires_grad


def _tail(x):
    """How many of the view ops of ``x`` lead from its ``_base`` (None: no base on its storage to start from)."""
    base = x._base
    return len(x._avfn) if base is not None and base._st is x._st and base._vfn + x._avfn == x._vfn else None


def _hashable(chain):
    try:
        hash(chain)
    except TypeError:
        return False
    return True


def _positions(vfn):
    """The numbers a view chain takes besides its ops and their static parameters (slice starts, select
    indices), flat, and the chain with each replaced by its place in that list; None where one is not a
    number."""
    nums, links = [], []
    for op, statics, extra in vfn:
        spec = []
        for e in extra:
            items = e if type(e) is tuple else (e,)
            if not all(type(v) in (int, float, bool) for v in items):
                return None, None
            spec.append((type(e) is tuple, len(nums), len(items)))
            nums.extend(items)
        links.append((op, statics, tuple(spec)))
    return nums, tuple(links)


class Plan:
    """The program's tensor inputs for one call: ``by_value`` (argument indices passed as their own value),
    then one root per storage ``groups`` entry (storage, its owning tensor or None, argument indices),
    then the views' positions (``numbers``) unless ``static``. A storage that is also state (the function
    reads it from its closure too) is the state's inside the trace: its root input goes unused."""
    __slots__ = ("tensors", "by_value", "groups", "roots", "numbers", "chains", "state", "key")

    def __init__(self, tensors, static, state):
        self.tensors, self.state = tensors, state
        where = {}
        self.by_value, self.groups, self.roots, self.numbers, self.chains = [], [], [], [], {}
        key = []
        for k, x in enumerate(tensors):
            if x._vfn:
                nums, chain = _positions(x._vfn)
                if chain is not None and static:
                    chain = x._vfn
                if chain is None or _leaf_view(x) or not _hashable(chain):
                    self.by_value.append(k)
                    key.append(-1)
                    continue
                if not static:  # the positions are inputs: (their first index, the chain over them)
                    self.chains[k] = (len(self.numbers), chain)
                    self.numbers.extend(nums)
            else:
                chain = ()
            g = where.get(id(x._st))
            if g is None:
                g = where[id(x._st)] = len(self.groups)
                self.groups.append([x._st, None, []])
            grp = self.groups[g]
            grp[2].append(k)
            if grp[1] is None and not x._vfn:
                grp[1] = x
            key.append((g, chain, _tail(x) if x._vfn else None))
        for grp in self.groups:
            st, owner = grp[0], grp[1]
            if owner is None:  # only views of it: their base carries the storage's autograd history
                owner = next((b for b in (tensors[k]._base for k in grp[2]) if b is not None and b._st is st
                              and not b._vfn), None)
                grp[1] = owner
            a = _root_array(st)
            self.roots.append(a)
            key.append((a.shape, a.dtype, st.layout, owner is not None and owner.requires_grad, id(st) in state))
        self.key = tuple(key)

    def arrays(self):
        """The program's inputs for the tensor arguments."""
        t = self.tensors
        return [t[k]._value for k in self.by_value] + self.roots + self.numbers

    def targets(self):
        """For each input, the caller's tensor that receives its written value and, for a program recorded
        as one autograd op, carries its history (a storage's owner, or a bare tensor of the storage); the
        views' positions as they are."""
        t = self.tensors
        return [t[k] for k in self.by_value] + [owner if owner is not None else _bare(st)
                                                   for st, owner, _ in self.groups] + self.numbers

    def rebuild(self, arrays):
        """Inside the trace: the arguments as tensors on the traced ``arrays``, and each tensor input's
        storage (its array changed when the function wrote it; None for a state storage, written back as
        state)."""
        t = self.tensors
        out = [None] * len(t)
        stores = []
        nv, ng = len(self.by_value), len(self.groups)
        numbers = arrays[nv + ng:]
        for k, a in zip(self.by_value, arrays):
            out[k] = wrap(t[k], a)
            stores.append(out[k]._st)
        for (st, owner, members), a in zip(self.groups, arrays[nv:nv + ng]):
            lifted = id(st) in self.state
            if lifted:  # the state's tensor itself, its storage holding the state's traced array now
                root = owner if owner is not None else _bare(st)
            else:
                root = wrap(owner, a) if owner is not None else _wrap_root(st, a)
            memo = {} if owner is None else {id(owner): root}  # each tensor rebuilt once (its _base too)
            for k in members:
                x = t[k]
                if k in self.chains:  # its view chain over the traced positions
                    first, chain = self.chains[k]
                    links = tuple((op, statics, tuple(tuple(numbers[first + i:first + i + n]) if is_tuple
                                                      else numbers[first + i] for is_tuple, i, n in spec))
                                  for op, statics, spec in chain)
                else:
                    links = x._vfn
                out[k] = _replay(x, links, root, memo)
            stores.append(None if lifted else root._st)
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


def _replay(x, links, root, memo):
    """``x`` (a tensor of the storage ``root`` stands for, whose view chain is ``links``) rebuilt on ``root``:
    its base first, then the view ops from it, so the result's ``_base``, strides and autograd history are
    those of eager."""
    t = memo.get(id(x))
    if t is not None:
        return t
    if not links:
        t = root._alias()  # another tensor object on the same storage (``x.detach()`` of an argument)
        t._requires_grad = x._requires_grad
    else:
        tail = _tail(x)
        if tail is not None:
            n = len(links) - tail
            t = _views(_replay(x._base, links[:n], root, memo), links[n:])
        else:  # a view with no history to its base (``v.detach()``): the chain from the root, no graph
            was, GRAD.enabled = GRAD.enabled, False
            try:
                t = _views(root, links)
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
