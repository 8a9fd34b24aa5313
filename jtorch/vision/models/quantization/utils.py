"""Helpers shared by the quantizable models: plain ReLUs for fusing, post-training quantization of a
freshly built model (what ``quantize=True`` does before a quantized checkpoint is loaded), and
``fuse_model``'s choice between eval-mode and QAT fusing."""
import jtorch as torch
import jtorch.nn as nn
from jtorch.ao import quantization as tq


def _replace_relu(module):
    """Every ``nn.ReLU`` / ``nn.ReLU6`` (exactly those types) becomes a fresh, not in-place ``nn.ReLU``:
    the fuser folds a ReLU into the conv before it (ReLU6 too, as torchvision's released models do)."""
    for name, child in list(module.named_children()):
        _replace_relu(child)
        if type(child) in (nn.ReLU, nn.ReLU6):
            module._modules[name] = nn.ReLU(inplace=False)


def quantize_model(model, backend):
    """Post-training static quantization, in place: the backend's qconfig, fuse, observe one random
    1x3x299x299 batch, convert. The observed parameters only stand until a checkpoint is loaded."""
    if backend not in torch.backends.quantized.supported_engines:
        raise RuntimeError("Quantized backend not supported ")
    torch.backends.quantized.engine = backend
    model.eval()
    # the weight observers of the released checkpoints: per channel for fbgemm, per tensor for qnnpack
    if backend == "fbgemm":
        model.qconfig = tq.QConfig(activation=tq.default_observer, weight=tq.default_per_channel_weight_observer)
    elif backend == "qnnpack":
        model.qconfig = tq.QConfig(activation=tq.default_observer, weight=tq.default_weight_observer)
    model.fuse_model()
    tq.prepare(model, inplace=True)
    model(torch.rand(1, 3, 299, 299))
    tq.convert(model, inplace=True)


def _fuse_modules(model, modules_to_fuse, is_qat, **kwargs):
    """``fuse_modules_qat`` for a training model (or ``is_qat=True``), else ``fuse_modules``."""
    if is_qat is None:
        is_qat = model.training
    fuse = tq.fuse_modules_qat if is_qat else tq.fuse_modules
    return fuse(model, modules_to_fuse, **kwargs)


def _backend(weights, kwargs, default):
    """Weights fix the number of classes and the backend; returns the backend (popped from kwargs)."""
    from .._utils import _ovewrite_named_param
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        if "backend" in weights.meta:
            _ovewrite_named_param(kwargs, "backend", weights.meta["backend"])
    return kwargs.pop("backend", default)
