"""Builder plumbing shared by the model files: the deprecated ``pretrained=`` interface,
weights verification, ``num_classes`` checks, and loading the checkpoint from the hub cache."""
import functools
import warnings

from ._api import register_model

__all__ = ["builder", "_ovewrite_named_param", "_make_divisible", "load_weights"]


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


def builder(weights_enum, legacy="IMAGENET1K_V1"):
    """Decorate a model builder ``fn(*, weights=None, progress=True, **kwargs)``:
    registers it, maps ``pretrained=True`` / ``weights=True`` (deprecated, with torchvision's
    warnings) to ``weights_enum.<legacy>``, turns weight names into enum members, and
    rejects a num_classes that does not match the weights."""
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
            if "pretrained" in kwargs:
                warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the "
                              "future, please use 'weights' instead.")
                pretrained = kwargs.pop("pretrained")
                if "weights" not in kwargs:
                    kwargs["weights"] = pretrained if pretrained else None
            w = kwargs.get("weights")
            if isinstance(w, bool):
                if w:
                    default = weights_enum[legacy] if legacy is not None else None  # no legacy weights
                    warnings.warn("Arguments other than a weight enum or `None` for 'weights' are deprecated since "
                                  "0.13 and may be removed in the future. The current behavior is equivalent to "
                                  f"passing `weights={default!r}`. You can also use "
                                  f"`weights={weights_enum.__name__}.DEFAULT` to get the most up-to-date weights.")
                    kwargs["weights"] = default
                else:
                    kwargs["weights"] = None
            kwargs["weights"] = weights_enum.verify(kwargs.get("weights"))
            return fn(**kwargs)
        inner._weights_enum = weights_enum
        register_model()(inner)
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
