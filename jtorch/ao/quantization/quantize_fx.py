"""torch.ao.quantization.quantize_fx: FX graph mode quantization. ``prepare_fx`` traces the model, fuses
conv-bn-relu and linear-relu chains and inserts observers as the QConfigMapping says; after calibration
``convert_fx`` lowers it to quantized modules and ops (torch's x86/fbgemm lowering). See docs/quantization.md."""

from jtorch import nn
from jtorch.fx import GraphModule
from .fx.tracer import trace
from .fx.fuse import fuse_graph_module
from .fx.prepare import prepare
from .fx.convert import convert
from .backend_config import BackendConfig

__all__ = ["fuse_fx", "prepare_fx", "prepare_qat_fx", "convert_fx", "convert_to_reference_fx"]


def _check(model, backend_config):
    if not isinstance(model, nn.Module):
        raise AttributeError(f"'{type(model).__name__}' object has no attribute 'named_children'")
    if backend_config is not None and not isinstance(backend_config, (BackendConfig, dict)):
        raise AttributeError(f"'{type(backend_config).__name__}' object has no attribute "
                             "'_pattern_complex_format_to_config'")


def _check_prepared(model, backend_config):
    if not isinstance(model, GraphModule):
        raise ValueError(f"input model must be a GraphModule, Got type:{type(model)} Please make sure to follow the "
                         "tutorials.")
    _check(model, backend_config)


def fuse_fx(model, fuse_custom_config=None, backend_config=None):
    """The traced model with conv-bn(-relu), conv-relu, linear-relu, linear-bn and bn-relu fused (batch norms
    folded into the weights: the model should be in eval mode)."""
    _check(model, backend_config)
    gm, _ = trace(model)
    return fuse_graph_module(gm, is_qat=False, fuse_custom_config=fuse_custom_config)


def prepare_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None, _equalization_config=None,
               backend_config=None):
    """Trace, fuse and insert observers for post-training static quantization (model in eval mode)."""
    _check(model, backend_config)
    return prepare(model, qconfig_mapping, False, example_inputs, prepare_custom_config, backend_config)


def prepare_qat_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None, backend_config=None):
    """prepare_fx for quantization-aware training: conv-bn kept as QAT modules, fake quantization inserted (the
    model should be in training mode)."""
    _check(model, backend_config)
    return prepare(model, qconfig_mapping, True, example_inputs, prepare_custom_config, backend_config)


def convert_fx(graph_module, convert_custom_config=None, _remove_qconfig=True, qconfig_mapping=None,
               backend_config=None):
    """The quantized model of a calibrated (or trained) ``prepare_fx``/``prepare_qat_fx`` result."""
    _check_prepared(graph_module, backend_config)
    return convert(graph_module, is_reference=False, convert_custom_config=convert_custom_config)


def convert_to_reference_fx(graph_module, convert_custom_config=None, _remove_qconfig=True, qconfig_mapping=None,
                            backend_config=None):
    """The reference quantized model: quantize/dequantize pairs around float ops."""
    _check_prepared(graph_module, backend_config)
    return convert(graph_module, is_reference=True)


