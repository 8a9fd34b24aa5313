"""torch.nn.intrinsic: the legacy name of torch.ao.nn.intrinsic (the same modules, qat and quantized too)."""
import jtorch.ao.nn.intrinsic.qat  # noqa: F401  (loaded first: aliased with the rest)
import jtorch.ao.nn.intrinsic.quantized  # noqa: F401
from jtorch.ao.nn import _legacy_alias

_legacy_alias(__name__, "jtorch.ao.nn.intrinsic")
