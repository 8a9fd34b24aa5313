"""torch._dynamo: the settings and reset of ``jtorch.compile`` that scripts touch."""
from . import config, exc  # noqa: F401
from ..compile import is_compiling, reset  # noqa: F401
from ..compiler import disable  # noqa: F401
