"""torch.quantization: the legacy name of torch.ao.quantization (the same objects)."""
from jtorch.ao.quantization import *  # noqa: F401,F403
from jtorch.ao.quantization import (observer, fake_quantize, qconfig, stubs, quantization_mappings,  # noqa: F401
                                    default_eval_fn, fuse_modules, quantize_dynamic, prepare, convert, quantize,
                                    QuantStub, DeQuantStub, QuantWrapper, QConfig, get_default_qconfig,
                                    get_default_qat_qconfig, prepare_qat, quantize_qat,
                                    fuse_modules_qat)
