"""QConfig: which observer (or fake quantization) factories a module's activation and weight get."""
from collections import namedtuple

import jtorch as torch
from .observer import (default_observer, default_weight_observer, default_dynamic_quant_observer,
                       default_per_channel_weight_observer, default_placeholder_observer, default_debug_observer,
                       default_float_qparams_observer, default_float_qparams_observer_4bit, HistogramObserver,
                       MinMaxObserver, PlaceholderObserver, NoopObserver, ReuseInputObserver, MovingAverageMinMaxObserver,
                       weight_observer_range_neg_127_to_127, per_channel_weight_observer_range_neg_127_to_127,
                       _PartialWrapper)
from .fake_quantize import (FakeQuantize, default_fake_quant, default_weight_fake_quant,
                            default_per_channel_weight_fake_quant, default_fused_act_fake_quant,
                            default_fused_wt_fake_quant, default_fused_per_channel_wt_fake_quant,
                            default_dynamic_fake_quant)


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """Observer factories (classes or ``with_args`` partials, not instances) for activations and weights."""
    __slots__ = ()

    def __new__(cls, activation, weight):
        if isinstance(activation, torch.nn.Module) or isinstance(weight, torch.nn.Module):
            raise ValueError("QConfig received observer instance, please pass observer class instead. Use "
                             "MyObserver.with_args(x=1) to override arguments to constructor if needed")
        return super().__new__(cls, activation, weight)


class QConfigDynamic(namedtuple("QConfigDynamic", ["activation", "weight"])):
    """Deprecated alias of QConfig for dynamic quantization."""
    __slots__ = ()

    def __new__(cls, activation=torch.nn.Identity, weight=torch.nn.Identity):
        if isinstance(weight, torch.nn.Module):
            raise ValueError("QConfigDynamic received observer instance, please pass observer class instead. Use "
                             "MyObserver.with_args(x=1) to override arguments to constructor if needed")
        return super().__new__(cls, activation, weight)


default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_debug_qconfig = QConfig(weight=default_weight_observer, activation=default_debug_observer)
default_per_channel_qconfig = QConfig(activation=default_observer, weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer, weight=default_weight_observer)
float16_dynamic_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=torch.float16, is_dynamic=True),
                                  weight=PlaceholderObserver.with_args(dtype=torch.float16))
float16_static_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=torch.float16),
                                 weight=PlaceholderObserver.with_args(dtype=torch.float16))
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float_qparams_weight_only_qconfig = QConfig(activation=default_placeholder_observer,
                                            weight=default_float_qparams_observer)
float_qparams_weight_only_qconfig_4bit = QConfig(activation=default_placeholder_observer,
                                                 weight=default_float_qparams_observer_4bit)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_dynamic_qat_qconfig = QConfig(activation=default_dynamic_fake_quant, weight=default_weight_fake_quant)
default_weight_only_qconfig = QConfig(activation=torch.nn.Identity, weight=default_weight_fake_quant)
default_activation_only_qconfig = QConfig(activation=default_fake_quant, weight=torch.nn.Identity)
default_qat_qconfig_v2 = QConfig(activation=default_fused_act_fake_quant, weight=default_fused_wt_fake_quant)
default_reuse_input_qconfig = QConfig(activation=ReuseInputObserver, weight=NoopObserver)
default_quint8_weight_qconfig = QConfig(activation=HistogramObserver,
                                        weight=MinMaxObserver.with_args(dtype=torch.quint8))
default_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=torch.qint8, reduce_range=False, eps=2 ** -12),
    weight=weight_observer_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=torch.qint8, reduce_range=False, eps=2 ** -12),
    weight=per_channel_weight_observer_range_neg_127_to_127)

_BACKENDS = ("fbgemm", "x86", "qnnpack", "onednn")


def get_default_qconfig(backend="x86", version=0):
    """The post-training static quantization QConfig torch recommends for ``backend``."""
    if backend not in _BACKENDS:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of {list(_BACKENDS)}")
    if version != 0:
        raise AssertionError(f"Version number: {version} in get_default_qconfig is not supported. Version number "
                             "must be 0")
    if backend in ("fbgemm", "x86"):
        return QConfig(activation=HistogramObserver.with_args(reduce_range=True),
                       weight=default_per_channel_weight_observer)
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False), weight=default_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                   weight=default_per_channel_weight_observer)


def get_default_qat_qconfig(backend="x86", version=1):
    """The quantization-aware training QConfig torch recommends for ``backend``."""
    if backend not in _BACKENDS:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of {list(_BACKENDS)}")
    reduce = backend in ("fbgemm", "x86")
    if version == 0:
        act = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                     reduce_range=reduce)
        wt = default_weight_fake_quant if backend == "qnnpack" else default_per_channel_weight_fake_quant
    elif version == 1:
        from .fake_quantize import FusedMovingAvgObsFakeQuantize
        act = FusedMovingAvgObsFakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                                      quant_max=255, reduce_range=reduce)
        wt = default_fused_wt_fake_quant if backend == "qnnpack" else default_fused_per_channel_wt_fake_quant
    else:
        raise AssertionError(f"Version number: {version} in get_default_qat_qconfig is not supported. Version number "
                             "must be 0 or 1")
    return QConfig(activation=act, weight=wt)


def _activation_is_memoryless(qconfig):
    """Whether the qconfig's activation observer (inside its fake quantization, if any) keeps no history: a
    moving average with averaging constant 1 (what dynamic QAT needs)."""
    act = qconfig.activation()
    obs = getattr(act, "activation_post_process", act)
    return getattr(obs, "averaging_constant", None) == 1


def qconfig_equals(q1, q2):
    """Whether two qconfigs make the same observers (their factories compared by class and arguments)."""
    if q1 is None or q2 is None:
        return q1 == q2

    def same(a, b):
        if isinstance(a, _PartialWrapper) and isinstance(b, _PartialWrapper):
            return a.p.func == b.p.func and a.p.args == b.p.args and a.p.keywords == b.p.keywords
        return a == b
    return same(q1.activation, q2.activation) and same(q1.weight, q2.weight)


QConfigAny = QConfig
