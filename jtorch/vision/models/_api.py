"""The weights API: ``Weights`` records, ``WeightsEnum`` classes built from _weights.json
(torchvision's checkpoint URLs and metadata), and the model registry
(``get_model``, ``get_weight``, ``get_model_weights``, ``list_models``)."""
import functools
import json
import os
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Dict

from ..transforms import _presets
from ..transforms.functional import InterpolationMode

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights", "get_weight",
           "list_models", "register_model"]

with open(os.path.join(os.path.dirname(__file__), "_weights.json")) as _f:
    _DATA = json.load(_f)
_IMAGENET_CATEGORIES = _DATA["categories"]


@dataclass
class Weights:
    url: str
    transforms: Callable
    meta: Dict[str, Any]

    def __eq__(self, other):
        if not isinstance(other, Weights):
            return NotImplemented
        return self.url == other.url and self.meta == other.meta

    def __hash__(self):
        return hash(self.url)


class WeightsEnum(Enum):
    """Members are Weights; ``DEFAULT`` is an alias of the recommended member."""

    @classmethod
    def verify(cls, obj):
        if obj is not None:
            if type(obj) is str:
                obj = cls[obj.replace(cls.__name__ + ".", "")]
            elif not isinstance(obj, cls):
                raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                                f"{obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args, **kwargs):
        from ... import hub
        return hub.load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self):
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self):
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self):
        return self.value.meta


def _make_transforms(spec):
    kw = {k: v for k, v in spec.items() if k != "name"}
    if "interpolation" in kw:
        kw["interpolation"] = InterpolationMode(kw["interpolation"])
    return functools.partial(getattr(_presets, spec["name"]), **kw)


def _make_enum(name, module):
    members, aliases = [], []
    for key, rec in _DATA["weights"][name].items():
        if isinstance(rec, str):
            aliases.append((key, rec))
            continue
        meta = dict(rec["meta"])
        if "categories" in meta:  # a named list: ImageNet, VOC, COCO, Kinetics-400 (optical flow has none)
            cats = meta["categories"]
            meta["categories"] = list(_IMAGENET_CATEGORIES) if cats == "IMAGENET" else (
                list(_DATA["category_sets"][cats]) if cats in _DATA.get("category_sets", {}) else None)
        if "keypoint_names" in meta:
            meta["keypoint_names"] = list(_DATA["keypoint_names"][meta["keypoint_names"]])
        if "min_size" in meta:  # JSON has no tuples
            meta["min_size"] = tuple(meta["min_size"])
        if "unquantized" in meta:  # a quantized checkpoint names the float one it was made from
            meta["unquantized"] = get_weight(meta["unquantized"])
        members.append((key, Weights(rec["url"], _make_transforms(rec["transforms"]), meta)))
    by_name = dict(members)
    members += [(key, by_name[target]) for key, target in aliases]
    return WeightsEnum(name, members, module=module)


# ------------------------------------------------------------------ registry
BUILTIN_MODELS = {}


def register_model(name=None):
    def wrapper(fn):
        key = name if name is not None else fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn
    return wrapper


def list_models(module=None, include=None, exclude=None):
    import fnmatch
    names = [k for k, v in BUILTIN_MODELS.items()
             if module is None or v.__module__.rsplit(".", 1)[0] == module.__name__]
    if include:
        include = [include] if isinstance(include, str) else include
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in include)]
    if exclude:
        exclude = [exclude] if isinstance(exclude, str) else exclude
        names = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in exclude)]
    return sorted(names)


def get_model_builder(name):
    name = name.lower()
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}")


def get_model(name, **config):
    return get_model_builder(name)(**config)


def get_model_weights(name):
    """The WeightsEnum class of a model builder (or its registered name)."""
    fn = get_model_builder(name) if isinstance(name, str) else name
    enum = getattr(fn, "_weights_enum", None)
    if enum is None:
        raise ValueError(f"The weight enum for the model builder {fn.__name__} couldn't be retrieved.")
    return enum


def get_weight(name):
    """'ResNet18_Weights.IMAGENET1K_V1' -> the enum member."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.")
    import jtorch.vision.models as models
    enum = getattr(models, enum_name, None)
    # the task subpackages have their own enums
    for sub in ("quantization", "segmentation", "detection", "video", "optical_flow"):
        if enum is None and hasattr(models, sub):
            enum = getattr(getattr(models, sub), enum_name, None)
    if enum is None or not (isinstance(enum, type) and issubclass(enum, WeightsEnum)):
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
    return enum[value_name]
