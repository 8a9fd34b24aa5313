"""Quantizable GoogLeNet: a ReLU module per conv (fused with it and its batch norm), the Inception branch
concatenation as a FloatFunctional, quant / dequant stubs after the input transform."""
import warnings

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F
from jtorch.ao.quantization import DeQuantStub, QuantStub

from .._api import _make_enum
from .._utils import _ovewrite_named_param, builder, load_weights
from ..googlenet import BasicConv2d, GoogLeNet, GoogLeNet_Weights, Inception, InceptionAux
from .utils import _backend, _fuse_modules, _replace_relu, quantize_model

__all__ = ["QuantizableGoogLeNet", "QuantizableBasicConv2d", "QuantizableInception", "QuantizableInceptionAux",
           "GoogLeNet_QuantizedWeights", "googlenet"]


class QuantizableBasicConv2d(BasicConv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, ["conv", "bn", "relu"], is_qat, inplace=True)


class QuantizableInception(Inception):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.cat = nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.cat.cat(self._forward(x), 1)


class QuantizableInceptionAux(InceptionAux):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = self.dropout(self.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


class QuantizableGoogLeNet(GoogLeNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, blocks=[QuantizableBasicConv2d, QuantizableInception, QuantizableInceptionAux],
                         **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x, aux2, aux1 = self._forward(self.quant(self._transform_input(x)))
        # torchvision's quantizable GoogLeNet hands its training outputs over with the two auxiliary logits
        # swapped (aux_logits2 is the first head's); kept, so that both give the same outputs
        return self.eager_outputs(self.dequant(x), aux1, aux2)

    def fuse_model(self, is_qat=None):
        for m in self.modules():
            if type(m) is QuantizableBasicConv2d:
                m.fuse_model(is_qat)


GoogLeNet_QuantizedWeights = _make_enum("GoogLeNet_QuantizedWeights", __name__)


@builder(GoogLeNet_Weights, quantized=GoogLeNet_QuantizedWeights)
def googlenet(*, weights=None, progress=True, quantize=False, **kwargs):
    """GoogLeNet; ``quantize=True`` returns it quantized (8-bit, CPU inference)."""
    original_aux_logits = kwargs.get("aux_logits", False)
    if weights is not None:
        kwargs.setdefault("transform_input", True)
        _ovewrite_named_param(kwargs, "aux_logits", True)
        _ovewrite_named_param(kwargs, "init_weights", False)
    backend = _backend(weights, kwargs, "fbgemm")
    model = QuantizableGoogLeNet(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    load_weights(model, weights, progress)
    if weights is not None:
        if not original_aux_logits:  # the checkpoint has the auxiliary heads; drop them unless asked for
            model.aux_logits = False
            model.aux1 = None
            model.aux2 = None
        else:
            warnings.warn("auxiliary heads in the pretrained googlenet model are NOT pretrained, so make sure to "
                          "train them")
    return model
