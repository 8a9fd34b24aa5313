"""torch.nn.quantized: the legacy name of torch.ao.nn.quantized (the same modules, dynamic and functional too)."""
from jtorch.ao.nn import _legacy_alias

_legacy_alias(__name__, "jtorch.ao.nn.quantized")
