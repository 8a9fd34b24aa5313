"""Quantized tensors (torch.quantize_per_tensor & co). See _tensor for the design."""
from ._tensor import (QTensor, qscheme, per_tensor_affine, per_channel_affine, per_tensor_symmetric,
                      per_channel_symmetric, per_channel_affine_float_qparams)
from ._functions import (quantize_per_tensor, quantize_per_channel, quantize_per_tensor_dynamic, dequantize,
                         choose_qparams, _choose_qparams_per_tensor, _empty_affine_quantized, int_repr, q_scale,
                         q_zero_point, q_per_channel_scales, q_per_channel_zero_points, q_per_channel_axis,
                         quantized_max_pool1d, quantized_max_pool2d, quantized_max_pool3d, empty_quantized,
                         quantized_batch_norm, fused_moving_avg_obs_fake_quant)
from . import _route  # noqa: F401  (the ops torch runs on quantized tensors)
