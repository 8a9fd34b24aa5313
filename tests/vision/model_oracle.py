"""Shared by the model tests (classification, segmentation, video, optical flow, detection):
torchvision's model as the oracle, built beside jtorch's, given random non-trivial weights and
copied over through numpy."""
import re

import numpy as np
import pytest
import torch

import jtorch


@pytest.fixture
def no_random_init(monkeypatch):
    """Skip jtorch's random parameter init while building a model whose weights the test
    overwrites anyway: the tests' cheap XLA codegen makes drawing ~10^8 random numbers (VGG's
    classifier) take most of a minute. test_models.py's test_init_statistics checks the real init."""
    import jtorch.nn.init as init
    for name in ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_"):
        monkeypatch.setattr(init, name, lambda tensor, *a, **k: tensor)


def shapes(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def randomize(tmodel, rng, normal=None, uniform=None):
    """In torchvision's model: random norm statistics, then for each parameter whose name matches
    a key (regex) of ``normal`` / ``uniform`` random weights N(0, std) / U(lo, hi)."""
    normal, uniform = normal or {}, uniform or {}
    with torch.no_grad():
        for name, b in tmodel.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.from_numpy(rng.normal(0, 0.1, b.shape).astype(np.float32)))
            elif name.endswith("running_var"):
                b.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, b.shape).astype(np.float32)))
        if not (normal or uniform):
            return
        for name, p in tmodel.named_parameters():
            std = next((v for k, v in normal.items() if re.search(k, name)), None)
            span = next((v for k, v in uniform.items() if re.search(k, name)), None)
            if std is not None:
                p.copy_(torch.from_numpy(rng.normal(0, std, p.shape).astype(np.float32)))
            elif span is not None:
                p.copy_(torch.from_numpy(rng.uniform(*span, p.shape).astype(np.float32)))


def built_on_meta(builder, *args, **kwargs):
    """jtorch's model built on the meta device, for a test that then copies torchvision's weights in
    (``copy_state`` takes them as the model's tensors): nothing is allocated or filled first (each
    fill and copy compiles per shape; DenseNet-121's build and copy took 55 s on the loaded 2-core
    machine, 0.3 s so)."""
    with jtorch.device("meta"):
        return builder(*args, **kwargs)


def copy_state(tmodel, jmodel):
    """torchvision's state_dict (parameters and buffers) into jtorch's model, every key; into a
    model built on the meta device by assignment (load_state_dict(assign=True))."""
    on_meta = _any_meta(jmodel)
    jmodel.load_state_dict({k: jtorch.from_numpy(v.detach().numpy().copy()) for k, v in tmodel.state_dict().items()},
                           strict=True, assign=on_meta)
    assert not _any_meta(jmodel), "a buffer outside the state_dict stayed on the meta device: build this model for real"


def _any_meta(model):
    return any(t.is_meta for t in [*model.parameters(), *model.buffers()])


def copy_weights(tmodel, jmodel, rng, normal=None, uniform=None):
    """``randomize`` torchvision's model, then ``copy_state`` it into jtorch's."""
    randomize(tmodel, rng, normal, uniform)
    copy_state(tmodel, jmodel)


def no_dropout(*models):
    """Dropout draws differ between the libraries; p=0 keeps train mode comparable."""
    for model in models:
        for m in model.modules():
            if type(m).__name__ == "Dropout":
                m.p = 0.0


@pytest.fixture
def on_meta():
    """Every model the test builds, in both libraries, on the meta device: the tests of builder
    rules, names, shapes and flags need neither the memory nor the init of full-size models."""
    with torch.device("meta"), jtorch.device("meta"):
        yield
