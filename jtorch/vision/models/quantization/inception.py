"""Quantizable Inception v3: a ReLU module per conv (fused with it and its batch norm), every branch
concatenation as a FloatFunctional, quant / dequant stubs after the input transform."""
import jtorch.nn as nn
from jtorch.ao.quantization import DeQuantStub, QuantStub

from .._api import _make_enum
from .._utils import _ovewrite_named_param, builder, load_weights
from ..inception import (Inception3, Inception_V3_Weights, InceptionA, InceptionAux, InceptionB, InceptionC,
                         InceptionD, InceptionE)
from ..googlenet import BasicConv2d
from .utils import _backend, _fuse_modules, _replace_relu, quantize_model

__all__ = ["QuantizableInception3", "QuantizableBasicConv2d", "QuantizableInceptionA", "QuantizableInceptionB",
           "QuantizableInceptionC", "QuantizableInceptionD", "QuantizableInceptionE", "QuantizableInceptionAux",
           "Inception_V3_QuantizedWeights", "inception_v3"]


class QuantizableBasicConv2d(BasicConv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, ["conv", "bn", "relu"], is_qat, inplace=True)


def _quantizable_block(base):
    """``base`` built from quantizable convs, its branches joined by a FloatFunctional ``myop``."""
    class Block(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
            self.myop = nn.quantized.FloatFunctional()

        def forward(self, x):
            return self.myop.cat(self._forward(x), 1)

    Block.__name__ = Block.__qualname__ = "Quantizable" + base.__name__
    Block.__module__ = __name__
    return Block


QuantizableInceptionA = _quantizable_block(InceptionA)
QuantizableInceptionB = _quantizable_block(InceptionB)
QuantizableInceptionC = _quantizable_block(InceptionC)
QuantizableInceptionD = _quantizable_block(InceptionD)


class QuantizableInceptionE(InceptionE):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop1 = nn.quantized.FloatFunctional()  # the 3x3 branch's split
        self.myop2 = nn.quantized.FloatFunctional()  # the double 3x3 branch's split
        self.myop3 = nn.quantized.FloatFunctional()  # the four branches

    def _forward(self, x):
        return super()._forward(x, self.myop1.cat, self.myop2.cat)

    def forward(self, x):
        return self.myop3.cat(self._forward(x), 1)


class QuantizableInceptionAux(InceptionAux):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)


class QuantizableInception3(Inception3):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, inception_blocks=[
            QuantizableBasicConv2d, QuantizableInceptionA, QuantizableInceptionB, QuantizableInceptionC,
            QuantizableInceptionD, QuantizableInceptionE, QuantizableInceptionAux], **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x, aux = self._forward(self.quant(self._transform_input(x)))
        return self.eager_outputs(self.dequant(x), aux)

    def fuse_model(self, is_qat=None):
        for m in self.modules():
            if type(m) is QuantizableBasicConv2d:
                m.fuse_model(is_qat)


Inception_V3_QuantizedWeights = _make_enum("Inception_V3_QuantizedWeights", __name__)


@builder(Inception_V3_Weights, quantized=Inception_V3_QuantizedWeights)
def inception_v3(*, weights=None, progress=True, quantize=False, **kwargs):
    """Inception v3 (inputs of at least 75x75); ``quantize=True`` returns it quantized (8-bit, CPU)."""
    original_aux_logits = kwargs.get("aux_logits", False)
    if weights is not None:
        kwargs.setdefault("transform_input", True)
        _ovewrite_named_param(kwargs, "aux_logits", True)
    backend = _backend(weights, kwargs, "fbgemm")
    model = QuantizableInception3(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    if weights is not None:
        # the quantized checkpoint has no auxiliary head, the float one has
        if quantize and not original_aux_logits:
            model.aux_logits = False
            model.AuxLogits = None
        load_weights(model, weights, progress)
        if not quantize and not original_aux_logits:
            model.aux_logits = False
            model.AuxLogits = None
    return model
