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

A call builds its Plan once and keeps it (``PlanCache``, the last few): the next call with the same geometry (each
argument's storage, view chain, base and requires_grad, each storage's layout and root shape and dtype, the
same state storages) takes it again after that comparison, with the views' positions read afresh where a
view is a new object with other positions (``step(data[i:i + n])``). The plan holds no tensors: it names
arguments by their index, so it serves any call whose arguments have its geometry.

Autograd: a storage's root input carries the history of one tensor, its *owner* (a non-view tensor on it,
the one that requires grad where there is one). An argument that requires grad through anything else (a
view made a leaf, ``v = base[1:].detach().requires_grad_()``; a view of such a leaf; a second leaf on the
storage) goes in by value, so its gradient reaches it and not the owner, as in eager torch; a write to it
is written back through its view chain, so its base sees it after the call. (Inside the program a write to
such an argument is not seen through another input on its storage, nor the other way round: a function
that writes one runs eagerly.) A backward inside the function gives ``.grad`` to the tensors the inputs
stand for (compile.py: ``entry.arg_grads``).
"""
import weakref

from . import _dispatch
from ._dispatch import GRAD


def plan(tensors, static=False, state=frozenset(), cache=None):
    """The Plan for these tensor arguments, or None where each is plain and on a storage of its own that
    is not one of the ``state`` storages (ids; the tensors the function reads besides its arguments).
    ``static``: the views' positions (slice starts, select indices) are guarded by value rather than
    passed as numbers the program takes. ``cache``: a PlanCache whose plan is reused where it fits."""
    seen = set()
    for x in tensors:
        st = id(x._st)
        if x._vfn or st in seen or st in state:
            break
        seen.add(st)
    else:
        return None
    if cache is None:
        return Plan(tensors, static, state)
    return cache.get(tensors, static, state)


class PlanCache:
    """The last few Plans made (most recent first), each reused while the arguments keep its geometry (a
    CompiledFunction's: the cheap guard of a repeated call then compares a few attributes instead of building
    a plan). More than one, so that calls alternating between geometries (a view, then another view of
    other strides) find theirs rather than building a plan every call."""
    __slots__ = ("plans",)
    SIZE = 4

    def __init__(self):
        self.plans = []

    @property
    def last(self):
        return self.plans[0] if self.plans else None

    def get(self, tensors, static, state):
        plans = self.plans
        geometry = None
        for i, p in enumerate(plans):
            if geometry is None:
                geometry = list(map(_geometry, tensors))
            if p.fits(tensors, static, state, geometry):
                if i:
                    del plans[i]
                    plans.insert(0, p)
                return p
        p = Plan(tensors, static, state)
        plans.insert(0, p)
        del plans[self.SIZE:]
        return p


def _geometry(x):
    """What a Plan reads of the argument ``x`` (storages by id, their layouts, view chains, base,
    requires_grad): another tensor of equal geometry gets the same plan."""
    st, b = x._st, x._base
    if b is None:
        return id(st), st.layout, x._vfn, x._requires_grad
    return id(st), st.layout, x._vfn, x._requires_grad, x._avfn, id(b._st), b._vfn, b._requires_grad


def _shape(x, g):
    """The geometry ``g`` of ``x`` with the views' positions left out, and whether its base starts its
    chain (that depends on the positions): equal for ``data[i:i + n]`` at every ``i``; and the positions."""
    nums, chain = _positions(g[2])
    if len(g) == 4:
        return g[:2] + (chain, g[3]), nums
    return g[:2] + (chain, g[3], _tail(x), g[5], _positions(g[6])[1] if g[6] else (), g[7]), nums


def _tail(x):
    """How many of the view ops of ``x`` lead from its ``_base`` (None: no base on its storage to start from)."""
    base = x._base
    return len(x._avfn) if base is not None and base._st is x._st and base._vfn + x._avfn == x._vfn else None


def _carrier(x):
    """The non-view tensor on the storage of ``x`` whose autograd history ``x`` has (itself, or the base
    its view chain starts from), or None (a view with no history to its storage: ``v.detach()``)."""
    if not x._vfn:
        return x
    b = x._base
    return b if b is not None and not b._vfn and _tail(x) is not None else None


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
    """The program's tensor inputs for one geometry of the arguments: ``by_value`` (argument indices passed
    as their own value), then one root per storage in ``groups`` (argument indices on it, and its owner:
    (k, "arg") the argument ``k``, (k, "base") the ``_base`` of argument ``k``, or None), then the views'
    positions (``numbers``) unless ``static``. A storage that is also state (the function reads it from
    its closure too) is the state's inside the trace: its root input goes unused. ``key`` is the geometry
    the guard key takes."""
    __slots__ = ("static", "state", "by_value", "groups", "chains", "numbers", "key", "geometry", "shapes",
                 "firsts", "avals", "seen", "inputs", "split")

    def __init__(self, tensors, static, state):
        self.static, self.state = static, state
        self.geometry = [_geometry(x) for x in tensors]
        self.shapes = None if static else [_shape(x, g)[0] if x._vfn else None
                                           for x, g in zip(tensors, self.geometry)]
        chains, nums, members = {}, {}, {}
        by_value = []
        for k, x in enumerate(tensors):
            chain, n = (), ()
            if x._vfn:
                n, chain = _positions(x._vfn)
                if chain is not None and static:
                    chain = x._vfn
                if chain is None or not _hashable(chain):
                    by_value.append(k)  # a position that is no number: the view's value goes in
                    continue
            chains[k], nums[k] = chain, n
            members.setdefault(id(x._st), []).append(k)
        groups = []
        for ks in members.values():
            # the owner: a non-view tensor on the storage (an argument before a base), one that requires
            # grad first; an argument that requires grad through anything else goes in by value
            carriers = [(k, "arg") for k in ks if not tensors[k]._vfn] + \
                [(k, "base") for k in ks if tensors[k]._vfn and _carrier(tensors[k]) is not None]
            owner = next((c for c in carriers if _owner(tensors, c)._requires_grad), None) or \
                (carriers[0] if carriers else None)
            own = None if owner is None else _owner(tensors, owner)
            alone = [k for k in ks if tensors[k]._requires_grad and (own is None or _carrier(tensors[k]) is not own)]
            by_value += alone
            ks = [k for k in ks if k not in alone]
            if ks:
                groups.append((ks, owner))
        self.by_value, self.groups = sorted(by_value), groups
        self.chains, self.numbers = {}, []
        key = [-1] * len(tensors)
        for g, (ks, _) in enumerate(groups):
            for k in ks:
                x = tensors[k]
                if x._vfn and not static:  # the positions are inputs: (their first index, the chain over them)
                    self.chains[k] = (len(self.numbers), chains[k])
                    self.numbers.extend(nums[k])
                key[k] = (g, chains[k], _tail(x) if x._vfn else None)
        self.firsts = [ks[0] for ks, _ in groups]  # an argument on each storage
        # inputs on a storage another input (or the state) also stands for: a write to one is not seen
        # through the other inside the program (see compile._trace)
        on = [id(tensors[k]._st) for k in self.by_value] + [id(tensors[k]._st) for k in self.firsts]
        self.split = frozenset(j for j, s in enumerate(on) if on.count(s) > 1 or (j < len(self.by_value) and s in state))
        self.avals = []
        self.seen = [None] * len(groups)  # weak references to the root arrays whose avals were checked last
        self.inputs = None  # what the caller made of ``numbers`` (compile._view_inputs), while they hold
        for ks, owner in groups:
            st = tensors[ks[0]]._st
            a = st._arr  # (a pending lazy value has its shape and dtype)
            self.avals.append((a.shape, a.dtype))
            key.append((a.shape, a.dtype, st.layout, owner is not None and _owner(tensors, owner)._requires_grad,
                        id(st) in state))
        self.key = tuple(key)

    def fits(self, tensors, static, state, geometry):
        """Whether these arguments (each one's ``_geometry``: ``geometry``) have the geometry this plan was
        made for (then their views' positions are taken as this plan's ``numbers``)."""
        if static is not self.static or (state is not self.state and state != self.state):
            return False
        moved = None
        if geometry != self.geometry:
            if static or len(geometry) != len(self.geometry):
                return False
            moved = []
            for k, (g, h) in enumerate(zip(geometry, self.geometry)):
                if g != h:
                    if not tensors[k]._vfn:
                        return False
                    shape, nums = _shape(tensors[k], g)
                    if shape != self.shapes[k]:
                        return False
                    moved.append((k, nums))
        seen = self.seen
        for i, k in enumerate(self.firsts):
            a = tensors[k]._st._arr
            r = seen[i]
            if r is None or r() is not a:
                shape, dtype = self.avals[i]
                if a.shape != shape or a.dtype != dtype:
                    return False
                try:
                    seen[i] = weakref.ref(a)
                except TypeError:  # (an array type with no weak references: checked every call)
                    seen[i] = None
        if moved:  # views at other positions: their numbers now
            self.inputs = None
            self.geometry = geometry
            for k, nums in moved:
                if k in self.chains:
                    first = self.chains[k][0]
                    self.numbers[first:first + len(nums)] = nums
        return True

    def arrays(self, tensors):
        """The program's inputs for the tensor arguments."""
        return [tensors[k]._value for k in self.by_value] + \
            [_root_array(tensors[k]._st) for k in self.firsts] + self.numbers

    def targets(self, tensors):
        """For each input, the caller's tensor that receives its written value and, for a program recorded
        as one autograd op, carries its history (a storage's owner, or a bare tensor of the storage); the
        views' positions as they are."""
        return [tensors[k] for k in self.by_value] + [
            _owner(tensors, owner) if owner is not None else storage_tensor(tensors[ks[0]]._st)
            for ks, owner in self.groups] + self.numbers

    def state_owners(self, tensors):
        """{id(storage): owner} for the arguments' storages that are state too: inside the trace the owner
        stands on the state's input (``rebuild``), so that input carries the owner's history."""
        return {id(tensors[ks[0]]._st): _owner(tensors, owner) for ks, owner in self.groups
                if owner is not None and id(tensors[ks[0]]._st) in self.state}

    def rebuild(self, tensors, arrays):
        """Inside the trace: the arguments as tensors on the traced ``arrays``, and the tensor that stands
        for each tensor input (its storage's array changed when the function wrote it; its ``.grad`` is the
        target's; None for a state storage, written back as state)."""
        out = [None] * len(tensors)
        inputs = []
        nv, ng = len(self.by_value), len(self.groups)
        numbers = arrays[nv + ng:]
        for k, a in zip(self.by_value, arrays):
            out[k] = wrap_arg(tensors[k], a)
            inputs.append(out[k])
        for (members, owner), a in zip(self.groups, arrays[nv:nv + ng]):
            st = tensors[members[0]]._st
            owner = None if owner is None else _owner(tensors, owner)
            lifted = id(st) in self.state
            if lifted:  # the state's tensor itself, its storage holding the state's traced array now
                root = owner if owner is not None else storage_tensor(st)
            else:
                root = wrap(a, owner is not None and owner._requires_grad, st.layout)
            memo = {} if owner is None else {id(owner): root}  # each tensor rebuilt once (its _base too)
            for k in members:
                x = tensors[k]
                if k in self.chains:  # its view chain over the traced positions
                    first, chain = self.chains[k]
                    links = tuple((op, statics, tuple(tuple(numbers[first + i:first + i + n]) if is_tuple
                                                      else numbers[first + i] for is_tuple, i, n in spec))
                                  for op, statics, spec in chain)
                else:
                    links = x._vfn
                out[k] = _replay(x, links, root, memo)
            inputs.append(None if lifted else root)
        return out, inputs


def _owner(tensors, where):
    """The tensor ``where`` names: (k, "arg") argument ``k``, (k, "base") its ``_base``."""
    k, kind = where
    return tensors[k] if kind == "arg" else tensors[k]._base


def wrap_arg(x, a):
    """The argument ``x`` passed by value, as a new tensor on the traced array ``a``."""
    return wrap(a, x._requires_grad, None if x._vfn else x._st.layout)


def wrap(a, requires_grad=False, layout=None):
    """A new tensor on the traced array ``a``, its storage in the memory format ``layout`` (_memfmt.py)."""
    t = _dispatch.Tensor._wrap(a)
    t._requires_grad = requires_grad
    if layout is not None:
        from ._memfmt import lay
        lay(t, layout)
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


def storage_tensor(st):
    """A bare tensor object on storage ``st`` (no view, no autograd): stands for a storage no tensor at
    hand owns."""
    t = _dispatch.Tensor._wrap(None)
    t._st = st
    return t
