"""torch.nn.utils."""
from .clip_grad import clip_grad_norm_, clip_grad_norm, clip_grad_value_, get_total_norm, clip_grads_with_norm_  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .weight_norm import weight_norm, remove_weight_norm  # noqa: F401
from .spectral_norm import spectral_norm, remove_spectral_norm  # noqa: F401
from . import parametrize  # noqa: F401
from . import parametrizations  # noqa: F401
from . import rnn  # noqa: F401
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa
from .init_helpers import skip_init, convert_conv2d_weight_memory_format, convert_conv3d_weight_memory_format  # noqa
from . import stateless  # noqa: F401,E402
