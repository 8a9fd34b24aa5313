"""torch.utils.data.datapipes: composable iterable-style (``iter``) and map-style (``map``) pipes."""
from . import datapipe, iter, map, utils  # noqa: F401
from . import _decorator, _hook_iterator  # noqa: F401
