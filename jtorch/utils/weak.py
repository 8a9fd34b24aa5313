"""torch.utils.weak: weak references and dictionaries keyed by object identity (a Tensor's ``==`` is
elementwise and its hash is its id, so ``weakref.WeakKeyDictionary`` cannot key tensors by identity)."""
import weakref
from collections.abc import MutableMapping

__all__ = ["WeakIdRef", "WeakIdKeyDictionary", "WeakTensorKeyDictionary", "TensorWeakRef"]


class WeakIdRef(weakref.ref):
    """A weak reference that hashes and compares by the referent's id (kept after the referent dies)."""
    __slots__ = ("_id",)

    def __new__(cls, key, callback=None):
        return super().__new__(cls, key, callback)

    def __init__(self, key, callback=None):
        self._id = id(key)
        super().__init__(key, callback)

    def __call__(self):
        return super().__call__()

    def __hash__(self):
        return self._id

    def __eq__(self, other):
        a, b = self(), other() if isinstance(other, WeakIdRef) else None
        if a is not None and b is not None:
            return a is b
        return self is other


class _WeakIdKey(WeakIdRef):
    """A lookup key that holds its object strongly for the lookup's duration (no callback)."""
    __slots__ = ("_strong",)

    def __init__(self, key, callback=None):
        super().__init__(key, callback)
        self._strong = key


class WeakIdKeyDictionary(MutableMapping):
    """A dict whose keys are held weakly and matched by identity; an entry goes when its key dies."""

    def __init__(self, dict=None, ref_type=WeakIdRef):
        self.data = {}
        self.ref_type = ref_type
        self_ref = weakref.ref(self)

        def remove(k):
            d = self_ref()
            if d is not None:
                d.data.pop(k, None)
        self._remove = remove
        if dict is not None:
            self.update(dict)

    def __getitem__(self, key):
        return self.data[_WeakIdKey(key)]

    def __setitem__(self, key, value):
        self.data[self.ref_type(key, self._remove)] = value

    def __delitem__(self, key):
        del self.data[_WeakIdKey(key)]

    def __contains__(self, key):
        try:
            return _WeakIdKey(key) in self.data
        except TypeError:
            return False

    def __iter__(self):
        for ref in list(self.data):
            obj = ref()
            if obj is not None:
                yield obj

    def __len__(self):
        return sum(1 for ref in list(self.data) if ref() is not None)

    def __repr__(self):
        return f"<{type(self).__name__} at {id(self):#x}>"

    def copy(self):
        new = type(self)(ref_type=self.ref_type)
        for k, v in self.items():
            new[k] = v
        return new

    __copy__ = copy

    def keyrefs(self):
        return list(self.data)

    def get(self, key, default=None):
        return self.data.get(_WeakIdKey(key), default)


WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a tensor."""

    def __init__(self, tensor):
        self.ref = weakref.ref(tensor)

    def __call__(self):
        return self.ref()
