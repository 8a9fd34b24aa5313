"""Builder plumbing shared by the model files: the deprecated ``pretrained=`` interface,
weights verification, ``num_classes`` checks, and loading the checkpoint from the hub cache."""
import functools
import warnings
from collections import OrderedDict

import jtorch.nn as nn

from ._api import register_model

__all__ = ["builder", "_ovewrite_named_param", "_ovewrite_value_param", "_make_divisible", "load_weights",
           "IntermediateLayerGetter"]


def _ovewrite_named_param(kwargs, param, new_value):
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} instead.")
    else:
        kwargs[param] = new_value


def _make_divisible(v, divisor, min_value=None):
    """Round channels to a multiple of ``divisor``, never more than 10% down."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _legacy_weights(kwargs, param, old_param, weights_enum, legacy):
    """``old_param=True`` / ``param=True`` (deprecated) -> ``weights_enum.<legacy>``; names -> members."""
    if old_param in kwargs:
        warnings.warn(f"The parameter '{old_param}' is deprecated since 0.13 and may be removed in the "
                      f"future, please use '{param}' instead.")
        pretrained = kwargs.pop(old_param)
        if param not in kwargs:
            kwargs[param] = pretrained if pretrained else None
    w = kwargs.get(param)
    if isinstance(w, bool) or (isinstance(w, str) and w == "legacy"):  # 'legacy': Keypoint R-CNN's old checkpoint
        if w:
            if callable(legacy):  # the member's name depends on the value passed
                legacy = legacy(w)
            default = weights_enum[legacy] if legacy is not None else None  # no legacy weights
            warnings.warn(f"Arguments other than a weight enum or `None` for '{param}' are deprecated since "
                          "0.13 and may be removed in the future. The current behavior is equivalent to "
                          f"passing `{param}={default!r}`. You can also use "
                          f"`{param}={weights_enum.__name__}.DEFAULT` to get the most up-to-date weights.")
            kwargs[param] = default
        else:
            kwargs[param] = None
    if param in kwargs:
        kwargs[param] = weights_enum.verify(kwargs[param])


def builder(weights_enum, legacy="IMAGENET1K_V1", backbone=None, quantized=None):
    """Decorate a model builder ``fn(*, weights=None, progress=True, **kwargs)``:
    registers it, maps ``pretrained=True`` / ``weights=True`` (deprecated, with torchvision's
    warnings) to ``weights_enum.<legacy>``, turns weight names into enum members, and
    rejects a num_classes that does not match the weights. ``legacy`` may be a function of the
    value passed (True or 'legacy') returning the member's name. ``backbone=(enum, legacy)`` does the
    same for ``weights_backbone`` / ``pretrained_backbone`` (segmentation and detection).
    ``quantized``: the quantized models' enum, used instead (its first member as the legacy one) when
    ``quantize=True`` is passed; the builder is then registered as ``quantized_<name>``."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if len(args) > 2:
                raise TypeError(f"{fn.__name__}() takes at most 2 positional arguments ({len(args)} given)")
            if args:
                warnings.warn(f"Using {', '.join(repr(p) for p in ('weights', 'progress')[:len(args)])} as "
                              "positional parameter(s) is deprecated since 0.13 and may be removed in the future. "
                              "Please use keyword parameter(s) instead.")
                kwargs.update(zip(("weights", "progress"), args))
            if quantized is not None and kwargs.get("quantize", False):
                _legacy_weights(kwargs, "weights", "pretrained", quantized, next(iter(quantized)).name)
            else:
                _legacy_weights(kwargs, "weights", "pretrained", weights_enum, legacy)
            kwargs.setdefault("weights", None)
            if backbone is not None:
                _legacy_weights(kwargs, "weights_backbone", "pretrained_backbone", *backbone)
            return fn(**kwargs)
        inner._weights_enum = weights_enum if quantized is None else quantized
        register_model(None if quantized is None else "quantized_" + fn.__name__)(inner)
        return inner
    return wrap


def prepare(weights, kwargs):
    """Before building: weights fix the number of classes."""
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))


def load_weights(model, weights, progress, remap=None):
    """Load ``weights`` (from the hub cache, downloading when missing) into ``model``, strictly."""
    if weights is not None:
        state = weights.get_state_dict(progress=progress, check_hash=True)
        if remap is not None:
            state = remap(state)
        model.load_state_dict(state)
    return model


class IntermediateLayerGetter(nn.ModuleDict):
    """Run a model's direct children in registration order, returning the outputs of those named
    in ``return_layers`` ({child name: output name}); children after the last one are dropped."""
    _version = 2

    def __init__(self, model, return_layers):
        if not set(return_layers).issubset([name for name, _ in model.named_children()]):
            raise ValueError("return_layers are not present in model")
        wanted = {str(k): str(v) for k, v in return_layers.items()}
        layers, left = OrderedDict(), set(wanted)
        for name, module in model.named_children():
            layers[name] = module
            left.discard(name)
            if not left:
                break
        super().__init__(layers)
        self.return_layers = wanted

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


def _ovewrite_value_param(param, actual, expected):
    if actual is not None and actual != expected:
        raise ValueError(f"The parameter '{param}' expected value {expected} but got {actual} instead.")
    return expected
