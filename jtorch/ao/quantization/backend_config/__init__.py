"""torch.ao.quantization.backend_config: what a backend can run quantized. jtorch's FX graph mode lowers to one
backend (fbgemm/x86 arithmetic), whose patterns live in jtorch/ao/quantization/fx/patterns.py; these classes are
what users build or pass (``prepare_fx(..., backend_config=get_native_backend_config())``), kept and checked
for type."""
from enum import Enum

import jtorch as torch

__all__ = ["BackendConfig", "BackendPatternConfig", "DTypeConfig", "DTypeWithConstraints", "ObservationType",
           "get_native_backend_config", "get_native_backend_config_dict", "get_fbgemm_backend_config",
           "get_qnnpack_backend_config", "get_x86_backend_config", "get_onednn_backend_config"]


class ObservationType(Enum):
    OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT = 0
    OUTPUT_SHARE_OBSERVER_WITH_INPUT = 1
    INPUT_OUTPUT_NOT_OBSERVED = 2


class DTypeWithConstraints:
    def __init__(self, dtype=None, quant_min_lower_bound=None, quant_max_upper_bound=None,
                 scale_min_lower_bound=None, scale_max_upper_bound=None, scale_exact_match=None,
                 zero_point_exact_match=None):
        self.dtype = dtype
        self.quant_min_lower_bound = quant_min_lower_bound
        self.quant_max_upper_bound = quant_max_upper_bound
        self.scale_min_lower_bound = scale_min_lower_bound
        self.scale_max_upper_bound = scale_max_upper_bound
        self.scale_exact_match = scale_exact_match
        self.zero_point_exact_match = zero_point_exact_match


class DTypeConfig:
    """The input, output, weight and bias dtypes a pattern supports."""

    def __init__(self, input_dtype=None, output_dtype=None, weight_dtype=None, bias_dtype=None, is_dynamic=None):
        def unwrap(d):
            return d if isinstance(d, DTypeWithConstraints) else DTypeWithConstraints(dtype=d)
        self.input_dtype_with_constraints = unwrap(input_dtype)
        self.output_dtype_with_constraints = unwrap(output_dtype)
        self.weight_dtype_with_constraints = unwrap(weight_dtype)
        self.bias_dtype = bias_dtype
        self.is_dynamic = is_dynamic

    @property
    def input_dtype(self):
        return self.input_dtype_with_constraints.dtype

    @property
    def output_dtype(self):
        return self.output_dtype_with_constraints.dtype

    @property
    def weight_dtype(self):
        return self.weight_dtype_with_constraints.dtype

    def __repr__(self):
        return (f"DTypeConfig(input_dtype={self.input_dtype}, output_dtype={self.output_dtype}, "
                f"weight_dtype={self.weight_dtype}, bias_dtype={self.bias_dtype}, is_dynamic={self.is_dynamic})")


class BackendPatternConfig:
    """How one op or fused sequence (``pattern``: a module type, function, or tuple of them) is quantized."""

    def __init__(self, pattern=None):
        self.pattern = pattern
        self.observation_type = ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT
        self.dtype_configs = []
        self.root_module = None
        self.qat_module = None
        self.reference_quantized_module = None
        self.fused_module = None
        self.fuser_method = None

    def set_pattern(self, pattern):
        self.pattern = pattern
        return self

    def set_observation_type(self, observation_type):
        self.observation_type = observation_type
        return self

    def add_dtype_config(self, dtype_config):
        self.dtype_configs.append(dtype_config)
        return self

    def set_dtype_configs(self, dtype_configs):
        self.dtype_configs = list(dtype_configs)
        return self

    def set_root_module(self, root_module):
        self.root_module = root_module
        return self

    def set_qat_module(self, qat_module):
        self.qat_module = qat_module
        return self

    def set_reference_quantized_module(self, reference_quantized_module):
        self.reference_quantized_module = reference_quantized_module
        return self

    def set_fused_module(self, fused_module):
        self.fused_module = fused_module
        return self

    def set_fuser_method(self, fuser_method):
        self.fuser_method = fuser_method
        return self

    def __repr__(self):
        return f"BackendPatternConfig(pattern={self.pattern}, observation_type={self.observation_type})"


class BackendConfig:
    """A named set of BackendPatternConfigs."""

    def __init__(self, name=""):
        self.name = name
        self._pattern_complex_format_to_config = {}

    def set_name(self, name):
        self.name = name
        return self

    def set_backend_pattern_config(self, config):
        self._pattern_complex_format_to_config[config.pattern] = config
        return self

    def set_backend_pattern_configs(self, configs):
        for c in configs:
            self.set_backend_pattern_config(c)
        return self

    @property
    def configs(self):
        return list(self._pattern_complex_format_to_config.values())

    def __repr__(self):
        return f"BackendConfig({self.name!r}, {len(self.configs)} patterns)"


def _native_patterns():
    """The patterns jtorch's lowering quantizes, as BackendPatternConfigs (quint8 activations, qint8 weights)."""
    from ..fx.patterns import pattern_table
    weighted = DTypeConfig(input_dtype=torch.quint8, output_dtype=torch.quint8, weight_dtype=torch.qint8,
                           bias_dtype=torch.float)
    plain = DTypeConfig(input_dtype=torch.quint8, output_dtype=torch.quint8)
    configs = []
    for pattern, kind in pattern_table():
        c = BackendPatternConfig(pattern)
        if kind in ("shared", "cat"):
            c.set_observation_type(ObservationType.OUTPUT_SHARE_OBSERVER_WITH_INPUT)
        configs.append(c.add_dtype_config(weighted if kind == "weighted" else plain))
    return configs


def _named(name):
    return BackendConfig(name).set_backend_pattern_configs(_native_patterns())


def get_native_backend_config():
    return _named("native")


def get_fbgemm_backend_config():
    return _named("fbgemm")


def get_x86_backend_config():
    return _named("x86")


def get_qnnpack_backend_config():
    return _named("qnnpack")


def get_onednn_backend_config():
    return _named("onednn")


def get_native_backend_config_dict():
    return {"name": "native", "configs": [{"pattern": c.pattern} for c in _native_patterns()]}
