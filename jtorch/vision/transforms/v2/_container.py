"""Compose, RandomApply, RandomChoice, RandomOrder: they pass whole samples (one or several arguments)."""
from collections.abc import Sequence

import jtorch as torch
import jtorch.nn as nn
from jtorch.vision import transforms as _v1  # the v1 classes, for their get_params

from ._transform import Transform

__all__ = ["Compose", "RandomApply", "RandomChoice", "RandomOrder"]


def _check_transforms(transforms, allow_module_list=False):
    kinds = (Sequence, nn.ModuleList) if allow_module_list else Sequence
    if not isinstance(transforms, kinds):
        raise TypeError("Argument transforms should be a sequence of callables"
                        + (" or a `nn.ModuleList`" if allow_module_list else ""))
    if not transforms:
        raise ValueError("Pass at least one transform")


def _run(transforms, inputs):
    unpack = len(inputs) > 1
    for t in transforms:
        outputs = t(*inputs)
        inputs = outputs if unpack else (outputs,)
    return outputs


def _listing(transforms):
    return "\n".join(f"    {t}" for t in transforms)


class Compose(Transform):
    def __init__(self, transforms):
        super().__init__()
        _check_transforms(transforms)
        self.transforms = transforms

    def forward(self, *inputs):
        return _run(self.transforms, inputs)

    def extra_repr(self):
        return _listing(self.transforms)


class RandomApply(Transform):
    _v1_transform_cls = _v1.RandomApply

    def __init__(self, transforms, p=0.5):
        super().__init__()
        _check_transforms(transforms, allow_module_list=True)
        self.transforms = transforms
        if not (0.0 <= p <= 1.0):
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        self.p = p

    def forward(self, *inputs):
        if torch.rand(1) >= self.p:
            return inputs if len(inputs) > 1 else inputs[0]
        return _run(self.transforms, inputs)

    def extra_repr(self):
        return _listing(self.transforms)


class RandomChoice(Transform):
    def __init__(self, transforms, p=None):
        _check_transforms(transforms)
        if p is None:
            p = [1] * len(transforms)
        elif len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != {len(transforms)}")
        super().__init__()
        self.transforms = transforms
        total = sum(p)
        self.p = [prob / total for prob in p]

    def forward(self, *inputs):
        idx = int(torch.multinomial(torch.tensor(self.p), 1))
        return self.transforms[idx](*inputs)


class RandomOrder(Transform):
    def __init__(self, transforms):
        _check_transforms(transforms)
        super().__init__()
        self.transforms = transforms

    def forward(self, *inputs):
        order = [self.transforms[int(i)] for i in torch.randperm(len(self.transforms))]
        return _run(order, inputs)
