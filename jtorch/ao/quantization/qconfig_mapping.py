"""QConfigMapping: which qconfig each part of a model gets in FX graph mode quantization (globally, by module or
function type, by qualified module name or name pattern, by the n-th call of a type inside a module), and torch's
default mappings."""
from collections import OrderedDict

import jtorch as torch
from jtorch import nn
import jtorch.nn.functional as F
from .observer import PlaceholderObserver, HistogramObserver, MinMaxObserver, \
    default_fixed_qparams_range_0to1_observer, default_fixed_qparams_range_neg1to1_observer, default_weight_observer
from .fake_quantize import FixedQParamsFakeQuantize, default_weight_fake_quant
from .qconfig import QConfig, get_default_qconfig, get_default_qat_qconfig, default_reuse_input_qconfig

__all__ = ["QConfigMapping", "get_default_qconfig_mapping", "get_default_qat_qconfig_mapping"]

_GLOBAL = ""
_OBJECT_TYPE = "object_type"
_REGEX = "module_name_regex"
_NAME = "module_name"
_ORDER = "module_name_object_type_order"


class QConfigMapping:
    """Qconfigs by scope. Later kinds win: global, then object type, module name regex, module name, and module
    name + object type + call index. A qconfig of None leaves that part in float."""

    def __init__(self):
        self.global_qconfig = None
        self.object_type_qconfigs = OrderedDict()
        self.module_name_regex_qconfigs = OrderedDict()
        self.module_name_qconfigs = OrderedDict()
        self.module_name_object_type_order_qconfigs = OrderedDict()

    def set_global(self, global_qconfig):
        self.global_qconfig = global_qconfig
        return self

    def set_object_type(self, object_type, qconfig):
        self.object_type_qconfigs[object_type] = qconfig
        return self

    def set_module_name_regex(self, module_name_regex, qconfig):
        self.module_name_regex_qconfigs[module_name_regex] = qconfig
        return self

    def set_module_name(self, module_name, qconfig):
        self.module_name_qconfigs[module_name] = qconfig
        return self

    def set_module_name_object_type_order(self, module_name, object_type, index, qconfig):
        self.module_name_object_type_order_qconfigs[(module_name, object_type, index)] = qconfig
        return self

    def __repr__(self):
        out = self.__class__.__name__ + " ("
        for attr in ("global_qconfig", "object_type_qconfigs", "module_name_regex_qconfigs", "module_name_qconfigs",
                     "module_name_object_type_order_qconfigs"):
            out += f"\n {attr}"
            value = getattr(self, attr)
            if isinstance(value, OrderedDict) and value:
                for k, v in value.items():
                    out += f"\n  {k}: {v}"
            else:
                out += f"\n  {value}"
        return out + "\n)"

    def to_dict(self):
        """The old ``qconfig_dict`` form: {'': global, 'object_type': [(type, qconfig)], ...}."""
        return {
            _GLOBAL: self.global_qconfig,
            _OBJECT_TYPE: list(self.object_type_qconfigs.items()),
            _REGEX: list(self.module_name_regex_qconfigs.items()),
            _NAME: list(self.module_name_qconfigs.items()),
            _ORDER: [(*k, v) for k, v in self.module_name_object_type_order_qconfigs.items()],
        }

    @classmethod
    def from_dict(cls, qconfig_dict):
        m = cls()
        if _GLOBAL in qconfig_dict:
            m.set_global(qconfig_dict[_GLOBAL])
        for object_type, qconfig in qconfig_dict.get(_OBJECT_TYPE, []):
            m.set_object_type(object_type, qconfig)
        for regex, qconfig in qconfig_dict.get(_REGEX, []):
            m.set_module_name_regex(regex, qconfig)
        for name, qconfig in qconfig_dict.get(_NAME, []):
            m.set_module_name(name, qconfig)
        for name, object_type, index, qconfig in qconfig_dict.get(_ORDER, []):
            m.set_module_name_object_type_order(name, object_type, index, qconfig)
        return m


def _fixed_qparams_qconfig(observer, is_qat):
    """Sigmoid-like ops: fixed output parameters (fake-quantized ones in QAT), per-tensor symmetric weights."""
    if is_qat:
        return QConfig(activation=FixedQParamsFakeQuantize.with_args(observer=observer),
                       weight=default_weight_fake_quant)
    return QConfig(activation=observer, weight=default_weight_observer)


def _default_mapping(is_qat, backend, version):
    qconfig = get_default_qat_qconfig(backend, version) if is_qat else get_default_qconfig(backend, version)
    weight = default_weight_fake_quant if is_qat else default_weight_observer
    # transposed convolutions quantize their weight per tensor
    per_tensor_weight = QConfig(activation=qconfig.activation, weight=weight)
    m = QConfigMapping().set_global(qconfig).set_object_type("reshape", default_reuse_input_qconfig)
    for t in (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, torch.conv_transpose1d,
              torch.conv_transpose2d, torch.conv_transpose3d):
        m.set_object_type(t, per_tensor_weight)
    norm = QConfig(activation=qconfig.activation, weight=PlaceholderObserver)
    m.set_object_type(F.layer_norm, norm).set_object_type(nn.LayerNorm, norm)
    m.set_object_type(nn.PReLU, QConfig(activation=HistogramObserver, weight=MinMaxObserver))
    zero_to_one = _fixed_qparams_qconfig(default_fixed_qparams_range_0to1_observer, is_qat)
    neg_one_to_one = _fixed_qparams_qconfig(default_fixed_qparams_range_neg1to1_observer, is_qat)
    for t in (nn.Hardsigmoid, F.hardsigmoid, "hardsigmoid", "hardsigmoid_", nn.Sigmoid, torch.sigmoid, "sigmoid",
              "sigmoid_", nn.Softmax):
        m.set_object_type(t, zero_to_one)
    for t in (nn.Tanh, torch.tanh, "tanh", "tanh_"):
        m.set_object_type(t, neg_one_to_one)
    return m


def get_default_qconfig_mapping(backend="x86", version=0):
    """torch's post-training static quantization mapping for ``backend`` ('x86', 'fbgemm', 'qnnpack', 'onednn')."""
    return _default_mapping(False, backend, version)


def get_default_qat_qconfig_mapping(backend="x86", version=1):
    """torch's quantization-aware training mapping for ``backend``."""
    return _default_mapping(True, backend, version)
