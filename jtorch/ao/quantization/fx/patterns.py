"""Which graph nodes FX graph mode quantization quantizes, and how (the fbgemm/x86 lowering torch does):

* weighted: conv/linear modules (plain, fused, QAT), Hardswish and LeakyReLU: inputs observed, output observed,
  swapped for the quantized module;
* binary: add/mul (optionally followed by relu) and matmul of two tensors: ``torch.ops.quantized.add`` & co with
  the output observer's parameters;
* cat: ``torch.cat``/``torch.stack`` of quantized tensors (the result keeps the first input's parameters, as
  torch's kernel);
* shared: ops that work on quantized tensors and keep their parameters (relu, pooling, reshapes...): the output
  observer is the input's;
* embedding: Embedding/EmbeddingBag with a weight-only (float_qparams) qconfig: swapped, nothing observed;
* functional: F.linear/F.conv*d with a weight read from an attribute: input and weight observed, lowered to
  ``torch.ops.quantized.linear/conv*d`` (``_relu`` with a following relu) with a packed quantized weight;
* requantizing: F.hardswish/leaky_relu/elu/dropout/layer_norm/instance_norm, lowered to ``torch.ops.quantized.*``
  with the output observer's parameters;
* fixed: sigmoid-like ops whose quantized output has fixed parameters (FixedQParamsObserver in the qconfig).
"""
import operator

import jtorch as torch
from jtorch import nn
import jtorch.nn.functional as F
from ..quantization_mappings import DEFAULT_STATIC_QUANT_MODULE_MAPPINGS
from ..stubs import QuantStub, DeQuantStub
from jtorch.ao.nn import quantized as nnq

# (activations, normalizations, dropout are swapped like conv/linear: quantized modules with their output's
# parameters; torch's x86 lowering leaves GroupNorm in float)
_NOT_WEIGHTED = {nnq.FloatFunctional, nn.ReLU6, QuantStub, DeQuantStub, nn.GroupNorm, nn.Embedding, nn.EmbeddingBag}
# weight-only quantized (a float_qparams weight qconfig): no observers, the float output stays float
EMBEDDING_MODULES = (nn.Embedding, nn.EmbeddingBag)

SHARED_MODULES = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Identity, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
                  nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                  nn.AdaptiveAvgPool3d)
SHARED_FUNCTIONS = (F.relu, torch.relu, F.relu6, F.hardtanh, F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d,
                    F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
                    torch.flatten, torch.transpose, torch.squeeze, torch.unsqueeze, torch.mean, torch.clamp,
                    torch.narrow, F.interpolate)
SHARED_METHODS = ("relu", "relu_", "reshape", "view", "flatten", "transpose", "permute", "squeeze", "unsqueeze",
                  "contiguous", "mean", "clamp", "detach", "narrow", "t", "repeat", "repeat_interleave")
FIXED_MODULES = (nn.Sigmoid, nn.Tanh, nn.Hardsigmoid)  # (Softmax: a quantized module with fixed parameters)
FIXED_FUNCTIONS = (torch.sigmoid, torch.tanh, F.hardsigmoid)
FIXED_METHODS = ("sigmoid", "tanh", "hardsigmoid")
# functions lowered to torch.ops.quantized.<name>(x, *positional, **named, output_scale=, output_zero_point=):
# {function: (name, positional argument names, named argument names)}, as torch's lowered call writes them
REQUANTIZING_FUNCTIONS = {
    F.hardswish: ("hardswish", (), ()),
    F.leaky_relu: ("leaky_relu", (), ("negative_slope", "inplace")),
    F.elu: ("elu", (), ("alpha",)),
    F.dropout: ("dropout", (), ("p", "training")),
    F.layer_norm: ("layer_norm", ("normalized_shape",), ("weight", "bias", "eps")),
    F.instance_norm: ("instance_norm", (), ("weight", "bias", "eps")),
}
# linear/conv functions whose weight is a graph value (a parameter read in forward): the weight quantized and
# packed at convert, lowered to torch.ops.quantized.<name>(x, packed weight, scale, zero_point)
FUNCTIONAL_WEIGHTED = {F.linear: "linear", F.conv1d: "conv1d", F.conv2d: "conv2d", F.conv3d: "conv3d"}
BINARY_FUNCTIONS = {torch.add: "add", operator.add: "add", torch.mul: "mul", operator.mul: "mul",
                    torch.matmul: "matmul"}
JOIN_FUNCTIONS = (torch.cat, torch.stack)  # one observer shared by the inputs and the output
BINARY_METHODS = {"add": "add", "mul": "mul"}
RELU_FUNCTIONS = (F.relu, torch.relu)
# reads of a quantized tensor that need no dequantization (shape, size, dtype...)
PASSTHROUGH_METHODS = ("size", "dim")


# modules torch's FX lowering swaps beyond the eager mapping
_FX_ONLY_QUANTIZED_MODULES = {nn.Softmax: nnq.Softmax}


def quantized_module_class(float_type):
    """The quantized module a float (fused, QAT) module of ``float_type`` becomes in convert_fx."""
    return _FX_ONLY_QUANTIZED_MODULES.get(float_type) or DEFAULT_STATIC_QUANT_MODULE_MAPPINGS[float_type]


def weighted_module_types():
    return tuple(t for t in DEFAULT_STATIC_QUANT_MODULE_MAPPINGS if t not in _NOT_WEIGHTED) + tuple(
        _FX_ONLY_QUANTIZED_MODULES)


def is_relu(node, modules):
    """Whether ``node`` is a relu (module, function or method) that does nothing else."""
    if node.op == "call_module":
        return type(modules.get(node.target)) is nn.ReLU
    if node.op == "call_function":
        return node.target in RELU_FUNCTIONS
    return node.op == "call_method" and node.target in ("relu", "relu_")


def classify(node, modules):
    """The kind (above) of ``node``, or None for an op that stays in float."""
    if node.op == "call_module":
        t = type(modules.get(node.target))
        if t in weighted_module_types():
            return "weighted"
        if t in EMBEDDING_MODULES:
            return "embedding"
        if t in SHARED_MODULES:
            return "shared"
        if t in FIXED_MODULES:
            return "fixed"
        return None
    if node.op == "call_function":
        if node.target in BINARY_FUNCTIONS:
            return "binary"
        if node.target in JOIN_FUNCTIONS:
            return "cat"
        if node.target in REQUANTIZING_FUNCTIONS:
            return "requantizing"
        if node.target in FUNCTIONAL_WEIGHTED:
            return "functional"
        if node.target in SHARED_FUNCTIONS:
            return "shared"
        if node.target in FIXED_FUNCTIONS:
            return "fixed"
        return None
    if node.op == "call_method":
        if node.target in BINARY_METHODS:
            return "binary"
        if node.target in SHARED_METHODS:
            return "shared"
        if node.target in FIXED_METHODS:
            return "fixed"
    return None


def pattern_table():
    """(pattern, kind) pairs for the backend config listing."""
    out = [(t, "weighted") for t in weighted_module_types()]
    out += [(t, "binary") for t in BINARY_FUNCTIONS] + [(t, "cat") for t in JOIN_FUNCTIONS]
    out += [(t, "requantizing") for t in REQUANTIZING_FUNCTIONS]
    out += [(t, "weighted") for t in FUNCTIONAL_WEIGHTED]
    out += [(t, "shared") for t in SHARED_MODULES + SHARED_FUNCTIONS + SHARED_METHODS]
    out += [(t, "fixed") for t in FIXED_MODULES + FIXED_FUNCTIONS + FIXED_METHODS]
    return out
