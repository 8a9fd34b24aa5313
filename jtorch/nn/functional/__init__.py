"""torch.nn.functional: each topic lives in its own submodule."""
from .activation import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .scaled_mm import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .fractional_pooling import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .linear_cross_entropy import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .misc import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403
from ...overrides import has_torch_function, has_torch_function_unary, has_torch_function_variadic  # noqa: F401
from ...overrides import handle_torch_function  # noqa: F401
