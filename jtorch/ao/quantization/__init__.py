"""torch.ao.quantization: eager-mode quantization (post-training static and dynamic, quantization-aware
training), FX graph mode quantization (``quantize_fx``, ``QConfigMapping``), observers, fake quantization and
qconfigs. See docs/quantization.md."""
from .observer import *  # noqa: F401,F403
from .observer import (ObserverBase, UniformQuantizationObserverBase, MinMaxObserver, MovingAverageMinMaxObserver,
                       PerChannelMinMaxObserver, MovingAveragePerChannelMinMaxObserver, HistogramObserver,
                       PlaceholderObserver, NoopObserver, RecordingObserver, FixedQParamsObserver,
                       default_observer, default_weight_observer, default_per_channel_weight_observer,
                       default_dynamic_quant_observer, default_placeholder_observer, default_debug_observer,
                       default_histogram_observer, default_float_qparams_observer,
                       default_float_qparams_observer_4bit, weight_observer_range_neg_127_to_127,
                       per_channel_weight_observer_range_neg_127_to_127, default_fixed_qparams_range_0to1_observer,
                       default_fixed_qparams_range_neg1to1_observer, default_affine_fixed_qparams_observer,
                       default_symmetric_fixed_qparams_observer)
from .fake_quantize import (FakeQuantizeBase, FakeQuantize, FixedQParamsFakeQuantize, FusedMovingAvgObsFakeQuantize,
                            default_fake_quant, default_weight_fake_quant, default_dynamic_fake_quant,
                            default_per_channel_weight_fake_quant, default_histogram_fake_quant,
                            default_fused_act_fake_quant, default_fused_wt_fake_quant,
                            default_fused_per_channel_wt_fake_quant, fused_wt_fake_quant_range_neg_127_to_127,
                            fused_per_channel_wt_fake_quant_range_neg_127_to_127, disable_fake_quant,
                            enable_fake_quant, disable_observer, enable_observer,
                            default_fixed_qparams_range_0to1_fake_quant, default_fixed_qparams_range_neg1to1_fake_quant,
                            default_affine_fixed_qparams_fake_quant, default_symmetric_fixed_qparams_fake_quant)
from .qconfig import (QConfig, QConfigDynamic, QConfigAny, default_qconfig, default_debug_qconfig,
                      default_per_channel_qconfig, default_dynamic_qconfig, float16_dynamic_qconfig,
                      float16_static_qconfig, per_channel_dynamic_qconfig, float_qparams_weight_only_qconfig,
                      float_qparams_weight_only_qconfig_4bit, default_qat_qconfig, default_dynamic_qat_qconfig,
                      default_weight_only_qconfig, default_activation_only_qconfig, default_qat_qconfig_v2,
                      default_reuse_input_qconfig, default_quint8_weight_qconfig, default_symmetric_qnnpack_qconfig,
                      default_per_channel_symmetric_qnnpack_qconfig, get_default_qconfig, get_default_qat_qconfig,
                      qconfig_equals)
from .stubs import QuantStub, DeQuantStub, QuantWrapper
from .qconfig_mapping import QConfigMapping, get_default_qconfig_mapping, get_default_qat_qconfig_mapping
from .quantization_mappings import (DEFAULT_STATIC_QUANT_MODULE_MAPPINGS, DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS,
                                    DEFAULT_QAT_MODULE_MAPPINGS, DEFAULT_REFERENCE_STATIC_QUANT_MODULE_MAPPINGS,
                                    DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS, DEFAULT_MODULE_TO_ACT_POST_PROCESS,
                                    DEFAULT_STATIC_SPARSE_QUANT_MODULE_MAPPINGS,
                                    DEFAULT_DYNAMIC_SPARSE_QUANT_MODULE_MAPPINGS,
                                    get_default_static_quant_module_mappings,
                                    get_default_static_quant_reference_module_mappings,
                                    get_default_dynamic_quant_module_mappings, get_default_qat_module_mappings,
                                    get_default_qconfig_propagation_list, get_default_compare_output_module_list,
                                    get_default_float_to_quantized_operator_mappings, get_static_quant_module_class,
                                    get_dynamic_quant_module_class, get_quantized_operator, no_observer_set,
                                    get_embedding_qat_module_mappings, get_embedding_static_quant_module_mappings,
                                    get_default_static_sparse_quant_module_mappings,
                                    get_default_dynamic_sparse_quant_module_mappings)
from .quantize import (propagate_qconfig_, add_quant_dequant, prepare, quantize, quantize_dynamic, prepare_qat,
                       quantize_qat, convert, swap_module, get_default_custom_config_dict)
from .fuse_modules import fuse_modules, fuse_modules_qat, get_fuser_method, fuse_conv_bn, fuse_conv_bn_relu, \
    fuse_linear_bn
from .quant_type import QuantType
from . import (observer, fake_quantize, qconfig, stubs, quantization_mappings, quant_type,  # noqa: F401
               fuse_modules as _fm)


def default_eval_fn(model, calib_data):
    """Run ``model`` on each (data, target) of ``calib_data`` (calibration)."""
    for data, _target in calib_data:
        model(data)
