"""What the conv + bn and linear + bn QAT modules share: the batch norm whose running statistics scale the weight
before fake quantization, its train/freeze switches, and loading from a float (fused) module."""
from jtorch import nn
from jtorch.nn import init
import jtorch as torch


class BnFolding:
    """Mixin of a QAT module with a weight (out_features on dim 0), a ``bn`` child and ``weight_fake_quant``.

    forward (torch's approximate fold): the weight scaled by ``bn.weight / sqrt(bn.running_var + eps)`` is
    fake-quantized, the product with it is divided by the same factor, the bias added, and the result goes
    through ``bn`` (training: batch statistics and running-statistics update, unless frozen)."""

    def _init_bn(self, bn_class, num_features, eps, momentum, freeze_bn, qconfig, bias):
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = bn_class(num_features, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = nn.Parameter(torch.empty(num_features))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def reset_running_stats(self):
        self.bn.reset_running_stats()

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:  # the conv's (linear's) bias, as nn's own initialisation
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / fan_in ** 0.5
            init.uniform_(self.bias, -bound, bound)

    def update_bn_stats(self):
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self):
        self.freeze_bn = True
        self.bn.training = False
        return self

    def train(self, mode=True):
        # a frozen batch norm stays in eval mode when the model trains
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():
                module.train(mode)
        return self

    def _folded_forward(self, input, product):
        """``product(input, weight, bias)``: the conv (or linear) with the folded, fake-quantized weight."""
        if self.bn.running_var is None:
            raise AssertionError("self.bn.running_var must not be None")
        running_std = torch.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        nd = self.weight.dim()
        weight_shape = [-1] + [1] * (nd - 1)
        out_shape = [1, -1] + [1] * (nd - 2)
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape))
        zero_bias = torch.zeros(scaled_weight.shape[0], dtype=input.dtype)
        out = product(input, scaled_weight, zero_bias) / scale_factor.reshape(out_shape)
        if self.bias is not None:
            out = out + self.bias.reshape(out_shape)
        return self.bn(out)

    def _exact_folded_forward(self, input, product):
        """torch's "slow path" (``_enable_slow_path_for_better_numerical_stability``): while training, one
        product with the float weight gives the batch statistics (and updates the running ones), a second with
        the fake-quantized folded weight is rescaled from the running to the batch deviation; the batch norm's
        shift is added as a fused bias. Exact also where ``bn.weight`` is 0."""
        bn = self.bn
        if bn.running_var is None or bn.running_mean is None:
            raise AssertionError("self.bn.running_var and self.bn.running_mean must not be None")
        nd = self.weight.dim()
        weight_shape = [-1] + [1] * (nd - 1)
        out_shape = [1, -1] + [1] * (nd - 2)
        zero_bias = torch.zeros(self.weight.shape[0], dtype=input.dtype)

        def folded_product():
            running_std = torch.sqrt(bn.running_var + bn.eps)
            scaled = self.weight_fake_quant(self.weight * (bn.weight / running_std).reshape(weight_shape))
            return product(input, scaled, zero_bias), running_std

        if bn.training:
            plain = product(input, self.weight, zero_bias)
            with torch.no_grad():  # the running statistics see the true (biased) output
                bn(plain if self.bias is None else plain + self.bias.reshape(out_shape))
            out, running_std = folded_product()
            dims = [0] + list(range(2, nd))
            mean = plain.mean(dims)
            std = torch.sqrt(torch.square(plain - mean.reshape(out_shape)).mean(dims) + bn.eps)
            out = out * (running_std / std).reshape(out_shape)
        else:
            out, std = folded_product()
            mean = bn.running_mean - (self.bias if self.bias is not None else 0)
        out = out + (bn.bias - bn.weight * mean / std).reshape(out_shape)
        if self.bias is not None:  # the bias takes part in the graph (a zero gradient), as torch's
            out = out + (self.bias - self.bias).reshape(out_shape)
        return out

    def _take_float(self, main, bn):
        """Share the parameters and statistics of the float module ``main`` and batch norm ``bn``."""
        self.weight = main.weight
        self.bias = main.bias
        self.bn.weight = bn.weight
        self.bn.bias = bn.bias
        self.bn.running_mean = bn.running_mean
        self.bn.running_var = bn.running_var
        self.bn.num_batches_tracked = bn.num_batches_tracked
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # version 1 state dicts kept the batch norm's entries on the module itself
        if local_metadata.get("version") in (None, 1):
            for new, old in (("bn.weight", "gamma"), ("bn.bias", "beta"), ("bn.running_mean", "running_mean"),
                             ("bn.running_var", "running_var"), ("bn.num_batches_tracked", "num_batches_tracked")):
                if prefix + old in state_dict:
                    state_dict[prefix + new] = state_dict.pop(prefix + old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
