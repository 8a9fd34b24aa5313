"""torch.nn.qat: the legacy name of torch.ao.nn.qat (the same modules)."""
from jtorch.ao.nn import _legacy_alias

_legacy_alias(__name__, "jtorch.ao.nn.qat")
