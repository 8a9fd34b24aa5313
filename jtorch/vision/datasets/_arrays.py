"""Host-side access to a dataset's array attributes, for fast per-item reads."""
import numpy as np

import jtorch as torch


class ArrayCache:
    """Mixin: ``self._host(name)`` is attribute ``name`` as a numpy array, converted once and
    re-converted only when the attribute is rebound (``ds.data = ds.data[mask]`` keeps working)."""

    def _host(self, name):
        obj = getattr(self, name)
        cache = self.__dict__.setdefault("_host_cache", {})
        hit = cache.get(name)
        if hit is not None and hit[0] is obj:
            return hit[1]
        arr = obj.numpy() if isinstance(obj, torch.Tensor) else np.asarray(obj)
        cache[name] = (obj, arr)
        return arr

    def __getstate__(self):  # worker processes rebuild the cache instead of receiving a copy
        state = dict(self.__dict__)
        state.pop("_host_cache", None)
        return state


def as_index(index):
    return int(index) if isinstance(index, torch.Tensor) else index
