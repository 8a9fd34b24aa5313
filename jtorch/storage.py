"""torch.storage: the storage classes (defined in jtorch/_storage.py)."""
from ._storage import StorageBase as _StorageBase, TypedStorage, UntypedStorage  # noqa: F401
from ._storage import _LegacyStorageMeta  # noqa: F401

__all__ = ["TypedStorage", "UntypedStorage"]
