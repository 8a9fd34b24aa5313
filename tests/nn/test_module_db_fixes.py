"""Differences that scripts/conformance_modules.py (torch's module_db) found, against torch on seeded inputs."""
import numpy as np
import pytest
import torch

import jtorch


def _same_error(f, *args):
    """f(torch, *args) and f(jtorch, *args) raise the same exception type with the same message."""
    with pytest.raises(Exception) as expected:
        f(torch, *args)
    with pytest.raises(type(expected.value)) as got:
        f(jtorch, *args)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (2, 3)), ("BatchNorm2d", (2, 3, 4, 4)),
                                       ("BatchNorm3d", (2, 3, 2, 2, 2))])
@pytest.mark.parametrize("eps,training", [(-1.0, True), (0.0, True), (-1e-3, False)])
def test_batch_norm_eps_must_be_positive(rng, cls, shape, eps, training):
    # torch's functional batch_norm refuses eps <= 0 in training (a zero variance divides by zero), eps < 0 in eval
    x = rng.standard_normal(shape).astype(np.float32)
    _same_error(lambda lib: getattr(lib.nn, cls)(3, eps=eps).train(training)(lib.tensor(x)))


def test_batch_norm_eps_zero_in_eval_is_allowed(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t = torch.nn.BatchNorm1d(3, eps=0.0).eval()(torch.tensor(x))
    j = jtorch.nn.BatchNorm1d(3, eps=0.0).eval()(jtorch.tensor(x))
    np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
