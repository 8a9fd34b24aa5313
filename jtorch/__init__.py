"""jtorch: the PyTorch API on JAX. ``import jtorch as torch``."""
import os as _os

# torch rounds the result of every float16/bfloat16 op; XLA's CPU backend may otherwise skip a half-type
# round trip between the ops it fuses ("excess precision"), so a lazily batched segment (or a compiled step)
# computed other values than the same ops run one by one (set before XLA's backends start; a flag given wins)
if "xla_allow_excess_precision" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + " --xla_allow_excess_precision=false").strip()

import jax as _jax

from . import _malloc

_malloc.tune()  # XLA's per-call temporary buffers: reused, not page-faulted in at every call (see _malloc)
_jax.config.update("jax_enable_x64", True)
# torch creates tensors on the CPU unless told otherwise; .to('cuda') moves them. A platform
# name (not a Device) keeps import from starting XLA's backends, which must stay down until
# jax.distributed.initialize has run (see jtorch/distributed/_runtime.py).
_jax.config.update("jax_default_device", "cpu")

from . import _compilation_cache
_compilation_cache.configure(_jax)  # (see there: where compiled programs persist)

__version__ = "0.1.0"

from ._dtype import (dtype, float16, bfloat16, float32, float64, complex64, complex128, uint8, uint16, uint32,
                     uint64, int8, int16, int32, int64, bool, half, float, double, cfloat, cdouble, chalf, complex32,
                     short, int, long, finfo, iinfo, get_default_dtype, set_default_dtype, is_floating_point,
                     is_complex, promote_types, can_cast)
from ._device import device
from ._size import Size
from . import _dispatch
from .tensor import Tensor
from . import _ops
from .tensor import _bind_methods as _bm

_bm()
del _bm

globals().update({k: v for k, v in _dispatch.REGISTRY.items() if not k.startswith("_")})
# torch.abs_(t), torch.relu_(t), ...: in-place ops are functions too
globals().update({k: v for k, v in _dispatch.METHODS.items()
                  if k.endswith("_") and not k.startswith("_") and k[:-1] in _dispatch.REGISTRY and k not in globals()})
from ._legacy import *  # noqa: F401,F403  (FloatTensor & co, pi, memory formats, layouts)

from .random import (Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state,
                     default_generator)
from . import random
from .autograd import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                       is_inference_mode_enabled)
from . import autograd
from .autograd import profiler as _autograd_profiler  # noqa: F401  (torch.autograd.profiler)
from . import profiler
from ._tensor_str import set_printoptions
from .interop import from_jax, from_dlpack
from . import serialization
from .serialization import save, load
from . import func
from .func import vmap  # noqa: E402
from ._runner import install_as_torch
from .functions import *  # noqa: F401,F403  (result_type, is_tensor, numel, ...)
from . import functions as _functions
from . import cuda, backends, accelerator, amp
from . import cpu  # noqa: E402
from . import mps, xpu, version, types, storage, quasirandom, __future__  # noqa: E402,F401
from ._flags import *  # noqa: F401,F403  (has_lapack, autocast, is_anomaly_enabled, ...)
from . import linalg, fft, special, testing, signal, masked  # noqa: E402
from . import sparse  # noqa: E402  (also binds Tensor.to_sparse & co and the sparse router)
from . import nested  # noqa: E402  (torch.nested: jagged/strided nested tensors)
from .sparse import (sparse_coo_tensor, sparse_compressed_tensor, sparse_csr_tensor, sparse_csc_tensor,  # noqa
                     sparse_bsr_tensor, sparse_bsc_tensor, _sparse_coo_tensor_unsafe, smm, hspmm, sspaddmm,
                     dsmm, hsmm, saddmm, spmm_alias as spmm)
from .compile import compile
from . import compiler
from . import _dynamo  # noqa: E402 (torch._dynamo.config, reset)
from . import nn  # noqa: E402
from .nn.functional import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,  # noqa
                            max_pool1d, max_pool2d, max_pool3d, avg_pool1d, adaptive_avg_pool1d, adaptive_max_pool1d,
                            pixel_shuffle, pixel_unshuffle, channel_shuffle, bilinear, rms_norm)
from .nn.functional.normalization import (_top_batch_norm as batch_norm, _top_instance_norm as instance_norm,  # noqa
                                          _top_layer_norm as layer_norm, _top_group_norm as group_norm)
from .nn.functional.native_norms import native_layer_norm, native_batch_norm, native_group_norm  # noqa
from . import optim
from . import utils
from . import hub  # noqa: E402
from . import distributed, multiprocessing  # noqa: E402
from . import distributions  # noqa: E402
from . import jit  # noqa: E402
distributed._runtime.autoinit()  # scripts started by jtorch's launcher join the runtime now
from ._toplevel_nn import *  # noqa: F401,F403,E402  (torch.kl_div, torch.embedding, torch.gru_cell, ...: ATen forms)
from ._toplevel_misc import *  # noqa: F401,F403,E402  (binomial, segment_reduce, frombuffer, sym_*, ...)
from ._toplevel_runtime import *  # noqa: F401,F403,E402  (Stream, Event, Tag, storages)
from ._toplevel_sync_bn import *  # noqa: F401,F403,E402  (batch_norm_stats & co: SyncBatchNorm's kernels)
from ._toplevel_lobpcg import lobpcg  # noqa: F401,E402
from ._control_flow import cond, while_loop  # noqa: F401,E402
from ._foreach import *  # noqa: F401,F403,E402  (torch._foreach_add_ & co: list-at-once ops)
from ._ops_namespace import ops  # noqa: E402  (torch.ops.<ns>.<op>; torch.ops.aten from jtorch/library/_aten.py)


def __getattr__(name):
    # torch.fx, torch.export, torch.ao and its legacy alias torch.quantization, torch.functional, torch.library
    # load on first use (``torch.fx.symbolic_trace`` without ``import torch.fx`` works, as in torch)
    if name in ("fx", "export", "ao", "quantization", "functional", "library"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'jtorch' has no attribute '{name}'")


from ._dtype import (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu,  # noqa: E402,F401
                     int2, int4, uint2, uint4)
from ._dtype import qint8, quint8, qint32, quint4x2, quint2x4  # noqa: E402,F401  (quantized dtypes)
from .ao._qtensor import (qscheme, per_tensor_affine, per_channel_affine, per_tensor_symmetric,  # noqa: E402,F401
                          per_channel_symmetric, per_channel_affine_float_qparams, quantize_per_tensor,
                          quantize_per_channel, quantize_per_tensor_dynamic, dequantize, _choose_qparams_per_tensor,
                          _empty_affine_quantized, int_repr, q_scale, q_zero_point, q_per_channel_scales,
                          q_per_channel_zero_points, q_per_channel_axis, quantized_max_pool1d, quantized_max_pool2d,
                          quantized_max_pool3d, empty_quantized, quantized_batch_norm,
                          fused_moving_avg_obs_fake_quant)
from . import _C, overrides  # noqa: E402  (the __torch_function__ protocol)
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass  # noqa: E402,F401
overrides._install_namespaces()  # (last: every public function of the namespaces is defined by now)
from . import _lazy  # noqa: E402
# lazy batching of eager ops (jtorch/_lazy.py): on unless JTORCH_LAZY=0
_lazy.request_at_import(_os.environ.get("JTORCH_LAZY", "1") not in ("", "0"))
