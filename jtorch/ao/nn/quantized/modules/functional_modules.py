"""FloatFunctional (observed float add/mul/cat in a model to be quantized) and QFunctional, its quantized form
(the same ops on quantized tensors, requantized to the observed scale and zero point)."""
import jtorch as torch
from jtorch import nn
from jtorch.ao._qtensor._functions import requantize


class FloatFunctional(nn.Module):
    """Float add/mul/cat/... whose outputs an observer (``activation_post_process``, set by prepare) watches."""

    def __init__(self):
        super().__init__()
        self.activation_post_process = nn.Identity()

    def forward(self, x):
        raise RuntimeError("FloatFunctional is not intended to use the 'forward'. Please use the underlying "
                           "operation")

    def add(self, x, y):
        return self.activation_post_process(torch.add(x, y))

    def add_scalar(self, x, y):
        return torch.add(x, y)  # not observed: the quantized op chooses its own parameters

    def mul(self, x, y):
        return self.activation_post_process(torch.mul(x, y))

    def mul_scalar(self, x, y):
        return torch.mul(x, y)

    def cat(self, x, dim=0):
        return self.activation_post_process(torch.cat(x, dim=dim))

    def add_relu(self, x, y):
        return self.activation_post_process(torch.nn.functional.relu(torch.add(x, y)))

    def matmul(self, x, y):
        return self.activation_post_process(torch.matmul(x, y))


class FXFloatFunctional(FloatFunctional):
    """FloatFunctional for FX graph mode (no observer of its own)."""

    def add(self, x, y):
        return torch.add(x, y)

    def mul(self, x, y):
        return torch.mul(x, y)

    def cat(self, x, dim=0):
        return torch.cat(x, dim=dim)

    def add_relu(self, x, y):
        return torch.nn.functional.relu(torch.add(x, y))

    def matmul(self, x, y):
        return torch.matmul(x, y)


class QFunctional(nn.Module):
    """add/mul/cat/add_relu/matmul of quantized tensors: the real result quantized with ``scale``/``zero_point``."""

    def __init__(self):
        super().__init__()
        self.scale = 1.0
        self.zero_point = 0
        self.activation_post_process = nn.Identity()

    def _get_name(self):
        return "QFunctional"

    def extra_repr(self):
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x):
        raise RuntimeError("Functional is not intended to use the 'forward'. Please use the underlying operation")

    def _out(self, v, like):
        return requantize(v, self.scale, self.zero_point, like.dtype)

    def add(self, x, y):
        return self._out(x.dequantize() + y.dequantize(), x)

    def mul(self, x, y):
        return self._out(x.dequantize() * y.dequantize(), x)

    def add_relu(self, x, y):
        return self._out(torch.relu(x.dequantize() + y.dequantize()), x)

    def cat(self, x, dim=0):
        return self._out(torch.cat([t.dequantize() for t in x], dim=dim), x[0])

    def matmul(self, x, y):
        return self._out(torch.matmul(x.dequantize(), y.dequantize()), x)

    def add_scalar(self, x, y):
        raise NotImplementedError("QFunctional.add_scalar is not supported by jtorch")

    def mul_scalar(self, x, y):
        raise NotImplementedError("QFunctional.mul_scalar is not supported by jtorch")

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = torch.tensor(self.scale)
        destination[prefix + "zero_point"] = torch.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not FloatFunctional:
            raise AssertionError("QFunctional.from_float expects an instance of FloatFunctional")
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        new_mod = QFunctional()
        new_mod.scale = float(scale)
        new_mod.zero_point = int(zero_point)
        return new_mod
