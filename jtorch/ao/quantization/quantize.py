"""Eager-mode quantization: propagate qconfigs, insert observers (prepare), calibrate, swap modules (convert);
and dynamic quantization (quantize_dynamic)."""
import copy
import warnings

import jtorch as torch
from jtorch import nn
from .observer import _is_activation_post_process
from .qconfig import default_dynamic_qconfig, float16_dynamic_qconfig
from .quantization_mappings import (get_default_static_quant_module_mappings, get_default_dynamic_quant_module_mappings,
                                    get_default_qat_module_mappings, get_default_qconfig_propagation_list,
                                    no_observer_set, _has_special_act_post_process, _get_special_act_post_process)
from .stubs import DeQuantStub, QuantWrapper

__all__ = ["propagate_qconfig_", "add_quant_dequant", "prepare", "quantize", "quantize_dynamic", "prepare_qat",
           "quantize_qat", "convert", "swap_module", "get_default_custom_config_dict"]


def get_default_custom_config_dict():
    return {"float_to_observed_custom_module_class": {}, "observed_to_quantized_custom_module_class": {}}


def _fused_types():
    from jtorch.ao.nn.intrinsic import _FusedModule
    return _FusedModule


def _propagate_qconfig_helper(module, qconfig_dict, qconfig_parent=None, prefix="", prepare_custom_config_dict=None):
    module_qconfig = qconfig_dict.get(type(module), qconfig_parent)
    module_qconfig = qconfig_dict.get(prefix, module_qconfig)
    module_qconfig = getattr(module, "qconfig", module_qconfig)
    module.qconfig = module_qconfig
    for name, child in module.named_children():
        _propagate_qconfig_helper(child, qconfig_dict, module_qconfig, prefix + ("." if prefix else "") + name)


def propagate_qconfig_(module, qconfig_dict=None, prepare_custom_config_dict=None):
    """Give every submodule a ``qconfig``: its own, else the one ``qconfig_dict`` names for its type or qualified
    name, else its parent's."""
    _propagate_qconfig_helper(module, qconfig_dict or {})


def _observer_forward_hook(self, input, output):
    return self.activation_post_process(output)


def _observer_forward_pre_hook(self, input):
    return self.activation_post_process(input[0])


def _register_activation_post_process_hook(module, pre_hook=False):
    if pre_hook:
        module.register_forward_pre_hook(_observer_forward_pre_hook, prepend=True)
    else:
        module.register_forward_hook(_observer_forward_hook, prepend=True)


def _get_unique_devices_(module):
    return {p.device for p in module.parameters()} | {p.device for p in module.buffers()}


def _add_observer_(module, qconfig_propagation_list=None, non_leaf_module_list=None, device=None,
                   custom_module_class_mapping=None):
    from jtorch.ao.nn.quantized import FloatFunctional
    if qconfig_propagation_list is None:
        qconfig_propagation_list = get_default_qconfig_propagation_list()

    def make_observer(qconfig, special=None):
        return qconfig.activation() if special is None else special()

    def needs_observation(m):
        return getattr(m, "qconfig", None) is not None and type(m) not in no_observer_set()

    def insert_activation_post_process(m, special=None):
        if needs_observation(m) and not isinstance(m, DeQuantStub):
            m.add_module("activation_post_process", make_observer(m.qconfig, special))
            _register_activation_post_process_hook(m)

    for name, child in module.named_children():
        if type(child) in (nn.Dropout,):
            continue
        if type(child) is FloatFunctional:
            if needs_observation(child):
                child.activation_post_process = make_observer(child.qconfig)
        elif isinstance(child, _fused_types()):
            if needs_observation(child):
                insert_activation_post_process(child)
        elif non_leaf_module_list is not None and type(child) in non_leaf_module_list:
            if needs_observation(child):
                insert_activation_post_process(child)
        elif _has_special_act_post_process(child):  # sigmoid/tanh/... in training: fixed-parameter fake quant
            insert_activation_post_process(child, _get_special_act_post_process(child))
        else:
            _add_observer_(child, qconfig_propagation_list, non_leaf_module_list, device, custom_module_class_mapping)
    if _has_no_children_ignoring_parametrizations(module) and not isinstance(module, nn.Sequential) and \
            type(module) in qconfig_propagation_list:
        insert_activation_post_process(module)


def _has_no_children_ignoring_parametrizations(module):
    return len(module._modules) == 0


def _remove_activation_post_process(module):
    if hasattr(module, "activation_post_process") and _is_activation_post_process(module.activation_post_process):
        delattr(module, "activation_post_process")
    for hooks in (module._forward_hooks, module._forward_pre_hooks):
        for k in [k for k, h in hooks.items() if h in (_observer_forward_hook, _observer_forward_pre_hook)]:
            del hooks[k]


def _remove_qconfig(module):
    for child in module.children():
        _remove_qconfig(child)
    if hasattr(module, "qconfig"):
        del module.qconfig
    _remove_activation_post_process(module)


def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None):
    """Insert observers (``activation_post_process``) after every module with a qconfig that quantizes; run
    calibration data through the result, then ``convert``."""
    if not inplace:
        model = copy.deepcopy(model)
    qconfig_propagation_list = allow_list
    if allow_list is None:
        qconfig_propagation_list = get_default_qconfig_propagation_list()
    propagate_qconfig_(model, qconfig_dict=None)
    if not any(hasattr(m, "qconfig") and m.qconfig for m in model.modules()):
        warnings.warn("None of the submodule got qconfig applied. Make sure you passed correct configuration "
                      "through `qconfig_dict` or by assigning the `.qconfig` attribute directly on submodules")
    _add_observer_(model, qconfig_propagation_list, observer_non_leaf_module_list)
    return model


def add_quant_dequant(module):
    """Wrap every leaf module that has a qconfig in a QuantWrapper."""
    if _has_no_children_ignoring_parametrizations(module) and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module


def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """prepare, ``run_fn(model, *run_args)`` (calibration), convert."""
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping, inplace=True)
    return model


def quantize_dynamic(model, qconfig_spec=None, dtype=torch.qint8, mapping=None, inplace=False):
    """Replace the float modules ``qconfig_spec`` names (types, or qualified names, or a {type/name: qconfig}
    dict; by default Linear and the RNNs) by dynamically quantized ones: weights quantized once, activations
    quantized on the fly at each call."""
    if qconfig_spec is None:
        if dtype is torch.qint8:
            qconfig_spec = {nn.Linear: default_dynamic_qconfig, nn.LSTM: default_dynamic_qconfig,
                            nn.GRU: default_dynamic_qconfig, nn.LSTMCell: default_dynamic_qconfig,
                            nn.RNNCell: default_dynamic_qconfig, nn.GRUCell: default_dynamic_qconfig}
        elif dtype is torch.float16:
            qconfig_spec = {nn.Linear: float16_dynamic_qconfig, nn.LSTM: float16_dynamic_qconfig,
                            nn.GRU: float16_dynamic_qconfig, nn.LSTMCell: float16_dynamic_qconfig,
                            nn.RNNCell: float16_dynamic_qconfig, nn.GRUCell: float16_dynamic_qconfig}
        else:
            raise ValueError(f"Don't know how to quantize with default settings for {dtype}. Provide full "
                             "qconfig please")
    elif isinstance(qconfig_spec, set):
        if dtype is torch.qint8:
            default_qconfig = default_dynamic_qconfig
        elif dtype is torch.float16:
            default_qconfig = float16_dynamic_qconfig
        else:
            raise RuntimeError(f"Unknown dtype specified for quantize_dynamic: {dtype}")
        qconfig_spec = dict(zip(qconfig_spec, [default_qconfig] * len(qconfig_spec)))
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    convert(model, mapping, inplace=True)
    return model


def prepare_qat(model, mapping=None, inplace=False):
    """Quantization-aware training: swap the modules with a qconfig for their QAT forms (weights fake-quantized
    in forward; by default torch's QAT mapping: Linear, Conv2d/3d and the fused modules) and insert fake
    quantization after them (``prepare``). Train the result, then ``convert``. The model must be training."""
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    if mapping is None:
        mapping = get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    convert(model, mapping=mapping, inplace=True, remove_qconfig=False)
    prepare(model, observer_non_leaf_module_list=set(mapping.values()), inplace=True)
    return model


def quantize_qat(model, run_fn, run_args, inplace=False):
    """prepare_qat, ``run_fn(model, *run_args)`` (the training), convert."""
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model


def convert(module, mapping=None, inplace=False, remove_qconfig=True, is_reference=False,
            convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    """Swap every module with a qconfig whose type ``mapping`` names (by default the static quantized modules) for
    its quantized form, made from its calibrated observers."""
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, mapping, inplace=True, is_reference=is_reference,
             use_precomputed_fake_quant=use_precomputed_fake_quant)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def _convert(module, mapping=None, inplace=False, is_reference=False, convert_custom_config_dict=None,
             use_precomputed_fake_quant=False):
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        module = copy.deepcopy(module)
    reassign = {}
    for name, mod in module.named_children():
        if not isinstance(mod, _fused_types()):
            _convert(mod, mapping, True, is_reference, convert_custom_config_dict, use_precomputed_fake_quant)
        reassign[name] = swap_module(mod, mapping, {}, use_precomputed_fake_quant)
    for key, value in reassign.items():
        module._modules[key] = value
    return module


def swap_module(mod, mapping, custom_module_class_mapping=None, use_precomputed_fake_quant=False):
    """``mapping[type(mod)].from_float(mod)`` for a module with a qconfig, keeping its other forward hooks."""
    new_mod = mod
    if getattr(mod, "qconfig", None) is not None:
        qmod = mapping.get(type(mod))
        if qmod is not None:
            new_mod = qmod.from_float(mod, use_precomputed_fake_quant=use_precomputed_fake_quant)
            for pre_hook_fn in mod._forward_pre_hooks.values():
                if pre_hook_fn is not _observer_forward_pre_hook:
                    new_mod.register_forward_pre_hook(pre_hook_fn)
            for hook_fn in mod._forward_hooks.values():
                if hook_fn is not _observer_forward_hook:
                    new_mod.register_forward_hook(hook_fn)
            devices = _get_unique_devices_(mod)
            if len(devices) == 1:
                new_mod.to(next(iter(devices)))
    return new_mod


def get_observer_dict(mod, target_dict, prefix=""):
    """Collect the observers of ``mod`` into ``target_dict`` by qualified name."""
    def get_prefix(p):
        return p if p == "" else p + "."
    if hasattr(mod, "activation_post_process"):
        target_dict[get_prefix(prefix) + "activation_post_process"] = mod.activation_post_process
    for name, child in mod.named_children():
        module_prefix = get_prefix(prefix) + name if prefix else name
        get_observer_dict(child, target_dict, module_prefix)
