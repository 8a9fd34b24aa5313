"""torch.lobpcg against torch: eigenvalues, eigenvectors (up to sign), the generalized problem, gradients of
the eigenvalues, and torch's argument errors."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _spd(rng, m, dtype=np.float64):
    a = rng.standard_normal((m, m)).astype(dtype)
    return a @ a.T + m * np.eye(m, dtype=dtype)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [1, 3])
def test_standard_problem(rng, largest, k):
    a = _spd(rng, 12)
    torch.manual_seed(0)
    et, xt = torch.lobpcg(torch.tensor(a), k=k, largest=largest, niter=-1, tol=1e-12)
    ej, xj = jtorch.lobpcg(jtorch.tensor(a), k=k, largest=largest)
    assert_close(ej, et, rtol=1e-7, atol=1e-8)
    assert tuple(xj.shape) == tuple(xt.shape)
    cos = np.abs((xj.numpy() * xt.numpy()).sum(0))
    np.testing.assert_allclose(cos, 1, atol=1e-6)


def test_generalized_problem(rng):
    a, b = _spd(rng, 10), _spd(rng, 10)
    torch.manual_seed(0)
    et, xt = torch.lobpcg(torch.tensor(a), k=2, B=torch.tensor(b), niter=-1, tol=1e-12)
    ej, xj = jtorch.lobpcg(jtorch.tensor(a), k=2, B=jtorch.tensor(b))
    assert_close(ej, et, rtol=1e-7, atol=1e-8)
    xn = xj.numpy()
    np.testing.assert_allclose(a @ xn, b @ xn * ej.numpy(), atol=1e-8)  # A x = lambda B x
    np.testing.assert_allclose(xn.T @ b @ xn, np.eye(2), atol=1e-8)  # B-orthonormal, like torch's
    np.testing.assert_allclose(np.abs((xt.numpy().T @ b @ xn).diagonal()), 1, atol=1e-6)


def test_eigenvalue_gradient(rng):
    a = _spd(rng, 9)
    at, aj = torch.tensor(a, requires_grad=True), jtorch.tensor(a, requires_grad=True)
    torch.manual_seed(0)
    torch.lobpcg(at, k=1, niter=-1, tol=1e-12)[0].sum().backward()
    jtorch.lobpcg(aj, k=1)[0].sum().backward()
    assert_close(aj.grad, at.grad, atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda m: m.lobpcg(m.ones(6, 6, dtype=m.float64), k=3),
    lambda m: m.lobpcg(m.ones(6, 5, dtype=m.float64)),
    lambda m: m.lobpcg(m.eye(6, dtype=m.float64), B=m.eye(5, dtype=m.float64)),
    lambda m: m.lobpcg(m.eye(9, dtype=m.float64), X=m.ones(8, 2, dtype=m.float64)),
])
def test_errors(call):
    def outcome(m):
        try:
            call(m)
            return "ok"
        except Exception as e:  # noqa: BLE001 - the type is compared
            return type(e).__name__
    assert outcome(jtorch) == outcome(torch)
