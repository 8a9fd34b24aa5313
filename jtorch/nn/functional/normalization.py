"""Normalisation (torch.nn.functional.batch_norm, layer_norm, ...)."""
import jtorch as torch
from jtorch._ops import nn_ops as _k

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm", "rms_norm"]


def _check_channels(name, t, C):
    if t is not None and t.numel() != C:
        raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")


def _half_stats(input, *params):
    """Whether torch's CPU kernel keeps the batch statistics in the half type: a float16/bfloat16 input whose
    given parameters and running statistics have its type too (not its mixed-type float32 path)."""
    return input.dtype in (torch.float16, torch.bfloat16) and all(p is None or p.dtype is input.dtype
                                                                  for p in params)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    C = input.shape[1] if input.ndim >= 2 else 0  # torch counts no channels in a 0-/1-dim input
    if training and eps <= 0.0:  # a zero batch variance would divide by zero
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_channels(name, t, C)
    if input.numel() == 0:  # an empty batch: an empty result, running statistics untouched
        return input.clone()
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if training:
        if input.numel() // C == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
        half = _half_stats(input, running_mean, running_var, weight, bias)
        y, mean, var = _k._batch_norm_train(input, weight, bias, eps=float(eps), round_stats=half)
        for run, stat, is_var in ((running_mean, mean, False), (running_var, var, True)):
            if run is not None and momentum is not None:
                _update_running(run, stat, momentum, is_var if half else None)
        return y
    if running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    return _k._batch_norm_eval(input, running_mean, running_var, weight, bias, eps=float(eps))


def _update_running(run, stat, momentum, is_var=None):
    """run = (1 - momentum) * run + momentum * stat in place. A float16 statistic is updated in float32 and
    rounded once, as torch's CPU kernel does (two float16 steps differed by an ulp); a bfloat16 one of the
    all-bfloat16 kernel (``is_var`` not None: the variance or the mean) step by step
    (``_bfloat16_running_update``)."""
    with torch.no_grad():
        if run.dtype is torch.float16:
            run.copy_((run.float() * (1 - momentum) + stat.float() * momentum).to(run.dtype))
        elif run.dtype is torch.bfloat16 and is_var is not None:
            run.copy_(_k._bfloat16_running_update(run, stat, momentum=float(momentum), round_product=not is_var))
        else:
            run.mul_(1 - momentum).add_(stat.to(run.dtype), alpha=momentum)


def _shape_tuple(normalized_shape):
    return (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)


def _check_normalized(input, shape, weight, bias):
    nd = len(shape)
    if nd == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    if input.ndim < nd or tuple(input.shape[input.ndim - nd:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(shape)}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = _shape_tuple(normalized_shape)
    _check_normalized(input, shape, weight, bias)
    return _k._layer_norm(input, weight, bias, nd=len(shape), eps=float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    shape = _shape_tuple(normalized_shape)
    _check_normalized(input, shape, weight, None)
    return _k._rms_norm(input, weight, nd=len(shape), eps=None if eps is None else float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    C = input.shape[1]
    if C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    _check_channels("weight", weight, C)
    _check_channels("bias", bias, C)
    return _k._group_norm(input, weight, bias, groups=int(num_groups), eps=float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    if use_input_stats:
        if input.ndim > 2 and input.numel() // (input.shape[0] * input.shape[1]) <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
        half = _half_stats(input, running_mean, running_var, weight, bias)
        y, mean, var = _k._instance_norm_train(input, weight, bias, eps=float(eps), round_stats=half)
        if running_mean is not None:
            # as torch: a copy of the running statistics per instance, each updated with its instance's
            # statistics (a batch norm over N * C channels), then averaged over the batch
            for run, stat, is_var in ((running_mean, mean, False), (running_var, var, True)):
                per = run.expand(stat.shape).clone()
                _update_running(per, stat, momentum, is_var if half else None)
                with torch.no_grad():
                    run.copy_(per.mean(0))
        return y
    return _k._batch_norm_eval(input, running_mean, running_var, weight, bias, eps=float(eps))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    return _k._local_response_norm(input, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))


# torch's top-level functions (torch.batch_norm, ...) take their arguments in ATen's order
def _top_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _top_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                       cudnn_enabled):
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def _top_layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return layer_norm(input, normalized_shape, weight, bias, eps)


def _top_group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return group_norm(input, num_groups, weight, bias, eps)


for _f, _n in ((_top_batch_norm, "batch_norm"), (_top_instance_norm, "instance_norm"),
               (_top_layer_norm, "layer_norm"), (_top_group_norm, "group_norm")):
    _f.__name__ = _f.__qualname__ = _n
del _f, _n
