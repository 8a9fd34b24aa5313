"""Module-level ``fx.wrap`` for both libraries (wrap must be called at module scope)."""
import math

import torch
import torch.fx as tfx

import jtorch
import jtorch.fx as jfx


def helper(x, n):
    # traced through this would fail (len of a Proxy): wrap records it as one call instead
    return x * len(x) + n


tfx.wrap("helper")
jfx.wrap("helper")


def torch_fn(x):
    d = math.sqrt(x.size(1))
    return helper(torch.tanh(x), 2) / d


def jtorch_fn(x):
    d = math.sqrt(x.size(1))
    return helper(jtorch.tanh(x), 2) / d
