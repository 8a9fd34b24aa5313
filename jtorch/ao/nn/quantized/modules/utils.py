"""Helpers the quantized modules share: quantizing a float weight with its observer's parameters."""
import jtorch as torch


def _quantize_weight(float_wt, observer):
    """A float weight quantized with the parameters ``observer`` chose (per tensor or per channel)."""
    wt_scale, wt_zp = observer.calculate_qparams()
    qs = observer.qscheme
    if qs in (torch.per_tensor_symmetric, torch.per_tensor_affine):
        return torch.quantize_per_tensor(float_wt.detach().float(), float(wt_scale), int(wt_zp), torch.qint8)
    if qs in (torch.per_channel_symmetric, torch.per_channel_affine):
        return torch.quantize_per_channel(float_wt.detach().float(), wt_scale.to(torch.float64),
                                          wt_zp.to(torch.int64), observer.ch_axis, torch.qint8)
    raise ValueError(f"Unexpected qscheme {qs}")


def _weighted_module(mod):
    """The module whose weight and bias a quantized conv/linear takes: a QAT module itself (a QAT conv-bn or
    linear-bn first gets its batch norm's running statistics folded into them, as torch's convert does), the
    first of a fused float module, else ``mod``."""
    from jtorch.ao.nn import intrinsic as nni
    from jtorch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights
    if hasattr(mod, "weight_fake_quant"):
        bn = getattr(mod, "bn", None)
        if bn is not None:
            fold = fuse_linear_bn_weights if isinstance(mod, torch.nn.Linear) else fuse_conv_bn_weights
            mod.weight, mod.bias = fold(mod.weight, mod.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
                                        bn.bias)
        return mod
    return mod[0] if isinstance(mod, nni._FusedModule) else mod


def _observed_weight_post_process(mod, float_mod, use_precomputed_fake_quant=False):
    """The weight observer of a module to convert (a QAT module's ``weight_fake_quant``, else a new one from its
    qconfig), having observed ``float_mod.weight``; checks the module went through prepare (and that the weight
    quantizes to qint8)."""
    if hasattr(mod, "weight_fake_quant"):
        weight_post_process = mod.weight_fake_quant
    else:
        if getattr(mod, "qconfig", None) is None:
            raise AssertionError("Input float module must have qconfig defined.")
        weight_post_process = mod.qconfig.weight()
    if not hasattr(mod, "activation_post_process"):
        raise AssertionError("Input float module must have activation_post_process attribute; call prepare "
                             "and calibrate first")
    if not use_precomputed_fake_quant:
        weight_post_process(float_mod.weight)
    if weight_post_process.dtype is not torch.qint8:
        raise AssertionError("Weight observer must have a dtype of qint8")
    return weight_post_process


def _activation_qparams(mod):
    """(scale, zero_point) the observer after a float module chose for its output."""
    scale, zp = mod.activation_post_process.calculate_qparams()
    return float(scale), int(zp)


def _hide_packed_params_repr(self, params):
    """A module repr without its packed-parameters child (torch shows only the extra_repr)."""
    lines = []
    extra = self.extra_repr()
    if extra:
        lines = extra.split("\n")
    child_lines = []
    for key, module in self._modules.items():
        if isinstance(module, params):
            continue
        mod_str = repr(module).replace("\n", "\n  ")
        child_lines.append("(" + key + "): " + mod_str)
    lines = lines + child_lines
    main_str = self._get_name() + "("
    if lines:
        if len(extra.split("\n")) == 1 and not child_lines:
            main_str += extra
        else:
            main_str += "\n  " + "\n  ".join(lines) + "\n"
    return main_str + ")"
