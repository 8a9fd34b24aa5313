"""fuse_modules: replace [conv, bn], [conv, bn, relu], [conv, relu], [linear, relu], [linear, bn], [bn, relu]
sequences inside a model by one fused module (the rest become Identity). In eval mode a batch norm is folded
into the conv/linear weights; in training mode the fused conv-bn modules keep it."""
import copy

from jtorch import nn
from jtorch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
import jtorch.ao.nn.intrinsic as nni

__all__ = ["fuse_modules", "fuse_modules_qat", "fuse_known_modules", "get_fuser_method", "fuse_conv_bn",
           "fuse_conv_bn_relu", "fuse_linear_bn", "fuse_convtranspose_bn"]


def _check_qat_bn(main, bn, out_features, kind):
    """torch's checks before a batch norm is kept (QAT) rather than folded: it matches and has parameters and
    running statistics."""
    name = type(bn).__name__
    if bn.num_features != out_features:
        raise AssertionError(f"Output {kind} of {type(main).__name__} must match num_features of {name}")
    if not bn.affine:
        raise AssertionError(f"Only support fusing {name} with affine set to True")
    if not bn.track_running_stats:
        raise AssertionError(f"Only support fusing {name} with tracking_running_stats set to True")


def fuse_conv_bn(is_qat, conv, bn):
    """conv + bn: for QAT the fused ConvBn module (batch norm kept), else the conv with the batch norm folded in."""
    if conv.training != bn.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        _check_qat_bn(conv, bn, conv.out_channels, "channel")
        fused = {nn.Conv1d: nni.ConvBn1d, nn.Conv2d: nni.ConvBn2d, nn.Conv3d: nni.ConvBn3d}.get(type(conv))
        if fused is None:
            raise NotImplementedError(f"Cannot fuse train modules: {(conv, bn)}")
        return fused(conv, bn)
    return fuse_conv_bn_eval(conv, bn)


def fuse_conv_bn_relu(is_qat, conv, bn, relu):
    """conv + bn + relu: for QAT the fused ConvBnReLU module, else ConvReLU of the conv with the batch norm folded."""
    if not (conv.training == bn.training == relu.training):
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        _check_qat_bn(conv, bn, conv.out_channels, "channel")
        fused = {nn.Conv1d: nni.ConvBnReLU1d, nn.Conv2d: nni.ConvBnReLU2d, nn.Conv3d: nni.ConvBnReLU3d}.get(type(conv))
        if fused is None:
            raise NotImplementedError(f"Cannot fuse train modules: {(conv, bn, relu)}")
        return fused(conv, bn, relu)
    fused_conv = fuse_conv_bn_eval(conv, bn)
    return {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d, nn.Conv3d: nni.ConvReLU3d}[type(conv)](
        fused_conv, relu)


def fuse_linear_bn(is_qat, linear, bn):
    """linear + BatchNorm1d: for QAT the fused LinearBn1d, else the linear with the batch norm folded in."""
    if linear.training != bn.training:
        raise AssertionError("Linear and BN both must be in the same mode (train or eval).")
    if is_qat:
        _check_qat_bn(linear, bn, linear.out_features, "features")
        return nni.LinearBn1d(linear, bn)
    return fuse_linear_bn_eval(linear, bn)


def fuse_convtranspose_bn(is_qat, convt, bn):
    """transposed conv + bn: the batch norm folded into the weight (over its output-channel dim 1); not in QAT."""
    if convt.training != bn.training:
        raise AssertionError("ConvTranspose and BN both must be in the same mode (train or eval).")
    if is_qat:
        raise Exception("Fusing ConvTranspose+BatchNorm not yet supported in QAT.")
    return fuse_conv_bn_eval(convt, bn, transpose=True)


def _seq(cls):
    return lambda is_qat, *mods: cls(*mods)


_FUSERS = {
    (nn.Conv1d, nn.BatchNorm1d): fuse_conv_bn,
    (nn.Conv1d, nn.BatchNorm1d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv2d, nn.BatchNorm2d): fuse_conv_bn,
    (nn.Conv2d, nn.BatchNorm2d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv3d, nn.BatchNorm3d): fuse_conv_bn,
    (nn.Conv3d, nn.BatchNorm3d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv1d, nn.ReLU): _seq(nni.ConvReLU1d),
    (nn.Conv2d, nn.ReLU): _seq(nni.ConvReLU2d),
    (nn.Conv3d, nn.ReLU): _seq(nni.ConvReLU3d),
    (nn.Linear, nn.BatchNorm1d): fuse_linear_bn,
    (nn.Linear, nn.ReLU): _seq(nni.LinearReLU),
    (nn.BatchNorm2d, nn.ReLU): _seq(nni.BNReLU2d),
    (nn.BatchNorm3d, nn.ReLU): _seq(nni.BNReLU3d),
    (nn.ConvTranspose1d, nn.BatchNorm1d): fuse_convtranspose_bn,
    (nn.ConvTranspose2d, nn.BatchNorm2d): fuse_convtranspose_bn,
    (nn.ConvTranspose3d, nn.BatchNorm3d): fuse_convtranspose_bn,
}


def get_fuser_method(op_list, additional_fuser_method_mapping=None):
    mapping = {**_FUSERS, **(additional_fuser_method_mapping or {})}
    fn = mapping.get(tuple(op_list))
    if fn is None:
        raise AssertionError(f"did not find fuser method for: {tuple(op_list)} ")
    return fn


def fuse_known_modules(mod_list, is_qat, additional_fuser_method_mapping=None):
    """The fused module for ``mod_list`` followed by Identity for each other one."""
    types = tuple(type(m) for m in mod_list)
    fuser = get_fuser_method(types, additional_fuser_method_mapping)
    fused = fuser(is_qat, *mod_list)
    first, last = mod_list[0], mod_list[-1]
    for hook in first._forward_pre_hooks.values():
        fused.register_forward_pre_hook(hook)
    for hook in last._forward_hooks.values():
        fused.register_forward_hook(hook)
    out = [fused]
    for _ in mod_list[1:]:
        ident = nn.Identity()
        ident.training = first.training
        out.append(ident)
    return out


def _get_module(model, name):
    for part in name.split("."):
        model = getattr(model, part)
    return model


def _set_module(model, name, new):
    *parents, last = name.split(".")
    for part in parents:
        model = getattr(model, part)
    setattr(model, last, new)


def _fuse_modules(model, modules_to_fuse, is_qat, inplace=False, fuser_func=fuse_known_modules,
                  fuse_custom_config_dict=None):
    if not inplace:
        model = copy.deepcopy(model)
    if all(isinstance(x, str) for x in modules_to_fuse):
        modules_to_fuse = [modules_to_fuse]
    additional = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping", {})
    for names in modules_to_fuse:
        mods = [_get_module(model, n) for n in names]
        new = fuser_func(mods, is_qat, additional)
        for n, m in zip(names, new):
            _set_module(model, n, m)
    return model


def fuse_modules(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules, fuse_custom_config_dict=None):
    """Fuse lists of submodules named by qualified name (eval mode: batch norm folded into the weights)."""
    return _fuse_modules(model, modules_to_fuse, is_qat=False, inplace=inplace, fuser_func=fuser_func,
                         fuse_custom_config_dict=fuse_custom_config_dict)


def fuse_modules_qat(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                     fuse_custom_config_dict=None):
    """fuse_modules for quantization-aware training (conv-bn kept as fused train-mode modules)."""
    return _fuse_modules(model, modules_to_fuse, is_qat=True, inplace=inplace, fuser_func=fuser_func,
                         fuse_custom_config_dict=fuse_custom_config_dict)
