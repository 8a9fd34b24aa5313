"""Quantizable MobileNetV3-Large: the squeeze-excitation product and the residual add as FloatFunctionals.
``quantize=True`` builds the QAT-prepared model, loads the checkpoint into it, then converts (the released
weights are a QAT state dict, as torchvision's)."""
import jtorch as torch
import jtorch.nn as nn
from jtorch.ao import quantization as tq

from .._api import _make_enum
from .._layers import Conv2dNormActivation, SqueezeExcitation
from .._utils import builder, load_weights
from ..mobilenetv3 import InvertedResidual, MobileNet_V3_Large_Weights, MobileNetV3, _mobilenet_v3_conf
from .utils import _backend, _fuse_modules, _replace_relu

__all__ = ["QuantizableMobileNetV3", "QuantizableInvertedResidual", "QuantizableSqueezeExcitation",
           "MobileNet_V3_Large_QuantizedWeights", "mobilenet_v3_large"]


class QuantizableSqueezeExcitation(SqueezeExcitation):
    _version = 2

    def __init__(self, *args, **kwargs):
        kwargs["scale_activation"] = nn.Hardsigmoid
        super().__init__(*args, **kwargs)
        self.skip_mul = nn.quantized.FloatFunctional()

    def forward(self, input):
        return self.skip_mul.mul(self._scale(input), input)

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, ["fc1", "activation"], is_qat, inplace=True)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # version-1 QAT checkpoints predate the hard-sigmoid's fixed-parameter fake quantization: give it its
        # initial state
        version = local_metadata.get("version", None)
        if hasattr(self, "qconfig") and (version is None or version < 2):
            fq = "scale_activation.activation_post_process."
            defaults = {
                fq + "scale": torch.tensor([1.0]),
                fq + "activation_post_process.scale": torch.tensor([1.0]),
                fq + "zero_point": torch.tensor([0], dtype=torch.int32),
                fq + "activation_post_process.zero_point": torch.tensor([0], dtype=torch.int32),
                fq + "fake_quant_enabled": torch.tensor([1]),
                fq + "observer_enabled": torch.tensor([1]),
            }
            for k, v in defaults.items():
                state_dict.setdefault(prefix + k, v)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class QuantizableInvertedResidual(InvertedResidual):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, se_layer=QuantizableSqueezeExcitation, **kwargs)
        self.skip_add = nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.block(x)) if self.use_res_connect else self.block(x)


class QuantizableMobileNetV3(MobileNetV3):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant = tq.QuantStub()
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat=None):
        for m in self.modules():
            if type(m) is Conv2dNormActivation:
                names = ["0", "1"]  # a hard-swish stays a module of its own
                if len(m) == 3 and type(m[2]) is nn.ReLU:
                    names.append("2")
                _fuse_modules(m, names, is_qat, inplace=True)
            elif type(m) is QuantizableSqueezeExcitation:
                m.fuse_model(is_qat)


def _mobilenet_v3_model(setting, last_channel, weights, progress, quantize, **kwargs):
    backend = _backend(weights, kwargs, "qnnpack")
    model = QuantizableMobileNetV3(setting, last_channel, block=QuantizableInvertedResidual, **kwargs)
    _replace_relu(model)
    if quantize:  # QAT-prepare, load the QAT checkpoint, convert
        model.fuse_model(is_qat=True)
        model.qconfig = tq.get_default_qat_qconfig(backend)
        tq.prepare_qat(model, inplace=True)
    load_weights(model, weights, progress)
    if quantize:
        tq.convert(model, inplace=True)
        model.eval()
    return model


MobileNet_V3_Large_QuantizedWeights = _make_enum("MobileNet_V3_Large_QuantizedWeights", __name__)


@builder(MobileNet_V3_Large_Weights, quantized=MobileNet_V3_Large_QuantizedWeights)
def mobilenet_v3_large(*, weights=None, progress=True, quantize=False, **kwargs):
    """MobileNetV3-Large; ``quantize=True`` returns it quantized (qnnpack by default, as its checkpoint)."""
    conf = {k: kwargs.pop(k) for k in ("width_mult", "reduced_tail", "dilated") if k in kwargs}
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_large", **conf)
    return _mobilenet_v3_model(setting, last_channel, weights, progress, quantize, **kwargs)
