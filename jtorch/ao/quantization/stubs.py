"""QuantStub/DeQuantStub: where eager-mode quantization starts and ends (identity until convert)."""
from jtorch import nn


class _Stub(nn.Module):
    """An identity module marking where convert puts a (de)quantization."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantStub(_Stub):
    """Before calibration an identity observed like an activation; convert makes it a Quantize."""


class DeQuantStub(_Stub):
    """An identity that convert makes a DeQuantize."""


class QuantWrapper(nn.Module):
    """``module`` between a QuantStub and a DeQuantStub."""

    def __init__(self, module):
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X):
        return self.dequant(self.module(self.quant(X)))
