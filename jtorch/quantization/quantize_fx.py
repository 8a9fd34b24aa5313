"""torch.quantization.quantize_fx: the legacy name of torch.ao.quantization.quantize_fx."""
from jtorch.ao.quantization.quantize_fx import *  # noqa: F401,F403
from jtorch.ao.quantization.quantize_fx import (fuse_fx, prepare_fx, prepare_qat_fx, convert_fx,  # noqa: F401
                                                convert_to_reference_fx)
