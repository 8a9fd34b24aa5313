"""torch.ao.nn.quantized LayerNorm, GroupNorm, InstanceNorm1d/2d/3d and BatchNorm2d/3d: the float normalization of
the dequantized input, quantized to the module's output parameters (``scale``/``zero_point`` buffers)."""
import jtorch as torch
from jtorch import nn
import jtorch.nn.functional as F


def _requantize(mod, out, like):
    return torch.quantize_per_tensor(out, float(mod.scale), int(mod.zero_point), like.dtype)


def _output_buffers(mod, scale, zero_point):
    mod.register_buffer("scale", torch.tensor(scale))
    mod.register_buffer("zero_point", torch.tensor(zero_point))


def _output_qparams(mod):
    scale, zero_point = mod.activation_post_process.calculate_qparams()
    return float(scale), int(zero_point)


class LayerNorm(nn.LayerNorm):
    def __init__(self, normalized_shape, weight, bias, scale, zero_point, eps=1e-5, elementwise_affine=True,
                 device=None, dtype=None):
        super().__init__(normalized_shape, eps=eps, elementwise_affine=elementwise_affine)
        self.weight, self.bias = weight, bias
        _output_buffers(self, scale, zero_point)

    def _get_name(self):
        return "QuantizedLayerNorm"

    def forward(self, input):
        return _requantize(self, F.layer_norm(input.dequantize(), self.normalized_shape, self.weight, self.bias,
                                              self.eps), input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(mod.normalized_shape, mod.weight, mod.bias, *_output_qparams(mod), mod.eps,
                   mod.elementwise_affine)


class GroupNorm(nn.GroupNorm):
    def __init__(self, num_groups, num_channels, weight, bias, scale, zero_point, eps=1e-5, affine=True, device=None,
                 dtype=None):
        super().__init__(num_groups, num_channels, eps, affine)
        self.weight, self.bias = weight, bias
        _output_buffers(self, scale, zero_point)

    def _get_name(self):
        return "QuantizedGroupNorm"

    def forward(self, input):
        return _requantize(self, F.group_norm(input.dequantize(), self.num_groups, self.weight, self.bias, self.eps),
                           input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(mod.num_groups, mod.num_channels, mod.weight, mod.bias, *_output_qparams(mod), mod.eps,
                   mod.affine)


def _instance_norm(float_cls, name):
    class InstanceNorm(float_cls):
        def __init__(self, num_features, weight, bias, scale, zero_point, eps=1e-5, momentum=0.1, affine=False,
                     track_running_stats=False, device=None, dtype=None):
            super().__init__(num_features, eps, momentum, affine, track_running_stats)
            self.weight, self.bias = weight, bias
            _output_buffers(self, scale, zero_point)

        def _get_name(self):
            return "Quantized" + name

        def forward(self, input):
            # always the input's own statistics (torch's quantized kernel ignores running ones)
            out = F.instance_norm(input.dequantize(), weight=self.weight, bias=self.bias, eps=self.eps)
            return _requantize(self, out, input)

        @classmethod
        def from_float(cls, mod, use_precomputed_fake_quant=False):
            # (torch passes the float module's affine flag where momentum goes: its repr shows momentum=True)
            return cls(mod.num_features, mod.weight, mod.bias, *_output_qparams(mod), mod.eps, mod.affine)
    InstanceNorm.__name__ = InstanceNorm.__qualname__ = name
    return InstanceNorm


InstanceNorm1d = _instance_norm(nn.InstanceNorm1d, "InstanceNorm1d")
InstanceNorm2d = _instance_norm(nn.InstanceNorm2d, "InstanceNorm2d")
InstanceNorm3d = _instance_norm(nn.InstanceNorm3d, "InstanceNorm3d")


def _batch_norm(float_cls, name, ndim, relu=False):
    class BatchNorm(float_cls):
        _NAME = ("QuantizedBNReLU" if relu else "QuantizedBatchNorm") + name[-2:]

        def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
            super().__init__(num_features, eps, momentum)
            _output_buffers(self, 1.0, 0)

        def _get_name(self):
            return self._NAME

        def forward(self, input):
            if input.ndim != ndim:
                raise ValueError(f"Input shape must be `(N, C, {'D, ' if ndim == 5 else ''}H, W)`!")
            out = torch.quantized_batch_norm(input, self.weight, self.bias, self.running_mean, self.running_var,
                                             self.eps, float(self.scale), int(self.zero_point))
            return torch.relu(out) if relu else out

        @classmethod
        def from_float(cls, mod, use_precomputed_fake_quant=False):
            bn = mod[0] if isinstance(mod, nn.Sequential) else mod  # a fused BNReLU: its batch norm
            out = cls(bn.num_features, bn.eps)
            out.weight, out.bias = bn.weight, bn.bias
            out.running_mean, out.running_var = bn.running_mean, bn.running_var
            out.num_batches_tracked = bn.num_batches_tracked
            out.scale, out.zero_point = (torch.tensor(v) for v in _output_qparams(mod))
            return out
    BatchNorm.__name__ = BatchNorm.__qualname__ = ("BNReLU" if relu else "BatchNorm") + name[-2:]
    return BatchNorm


BatchNorm2d = _batch_norm(nn.BatchNorm2d, "BatchNorm2d", 4)
BatchNorm3d = _batch_norm(nn.BatchNorm3d, "BatchNorm3d", 5)
