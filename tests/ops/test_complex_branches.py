"""Where torch's value is one of several mathematically equivalent ones: the branch of the complex log in
logaddexp/logcumsumexp, trigamma at negative integers (torch's reflection formula is finite there), and the
non-Hermitian gradient torch gives complex cholesky. Seeded inputs through torch and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("dt", ["complex64", "complex128"])
def test_complex_logaddexp_branch(rng, dt):
    a = rng.normal(size=40) * 3 + 1j * rng.normal(size=40) * 3
    b = rng.normal(size=40) * 3 + 1j * rng.normal(size=40) * 3
    b[:5] = a[:5].real - 1j * a[:5].imag  # equal real parts: torch keeps the first operand's branch
    special = [(complex(INF, .5), complex(INF, .2)), (complex(INF, 2), complex(INF, -3)),
               (complex(-INF, 1), complex(-INF, 2)), (complex(INF, 0), 1 + 0j), (complex(1, NAN), 1 + 1j)]
    a = np.concatenate([a, [p for p, _ in special]])
    b = np.concatenate([b, [q for _, q in special]])
    ta, tb = torch.tensor(a).to(getattr(torch, dt)), torch.tensor(b).to(getattr(torch, dt))
    ja, jb = jtorch.tensor(a).to(getattr(jtorch, dt)), jtorch.tensor(b).to(getattr(jtorch, dt))
    assert_close(jtorch.logaddexp(ja, jb), torch.logaddexp(ta, tb), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.logaddexp(jb, ja), torch.logaddexp(tb, ta), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dt", ["complex64", "complex128"])
def test_complex_logcumsumexp_branch(rng, dt):
    x = rng.normal(size=(4, 9)) * 3 + 1j * rng.normal(size=(4, 9)) * 4
    t, j = torch.tensor(x).to(getattr(torch, dt)), jtorch.tensor(x).to(getattr(jtorch, dt))
    for dim in (0, 1, -1):
        want = torch.logcumsumexp(t, dim)
        assert np.abs(want.imag.numpy()).max() > np.pi  # the case: torch's result leaves the principal branch
        assert_close(jtorch.logcumsumexp(j, dim), want, rtol=1e-5, atol=1e-5)
    # gradients flow through the scan
    tr, jr = t.clone().requires_grad_(), j.clone().requires_grad_()
    c = rng.normal(size=(4, 9))
    (torch.logcumsumexp(tr, 1) * torch.tensor(c)).real.sum().backward()
    (jtorch.logcumsumexp(jr, 1) * jtorch.tensor(c)).real.sum().backward()
    assert_close(jr.grad, tr.grad.resolve_conj(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dt", ["float64", "float32", "float16", "bfloat16", "int64"])
def test_trigamma_at_negative_integers(rng, dt):
    x = np.concatenate([-np.arange(1, 30), [0.0, -0.5, 0.5, 1.5], rng.normal(size=12) * 4]).astype(np.float64)
    t = torch.tensor(x).to(getattr(torch, dt))
    j = jtorch.tensor(x).to(getattr(jtorch, dt))
    # half types: torch computes in float32 and rounds once; near the poles its float32 reflection differs
    # from the accurate value by a few float32 ulps, which may round to the neighbouring float16
    rtol = {"float16": 2.5e-3, "bfloat16": 1.6e-2}.get(dt, 1e-5)
    want = torch.polygamma(1, t)
    assert np.isfinite(want[:29].float().numpy()).all() or dt in ("float16", "bfloat16")
    assert_close(jtorch.polygamma(1, j), want, rtol=rtol, atol=1e-5)
    assert_close(j.polygamma(1), t.polygamma(1), rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("dt", ["float64", "float32", "float16"])
def test_polygamma_at_infinities_and_huge_negative(dt):
    # -inf and huge negative inputs used to loop without end (the step-up count was inf)
    x = np.array([-np.inf, np.inf, np.nan, -1e30, -3.0, -2.5, 0.5])
    for n in (1, 2, 3):
        want = torch.polygamma(n, torch.tensor(x).to(getattr(torch, dt)))
        got = jtorch.polygamma(n, jtorch.tensor(x).to(getattr(jtorch, dt)))
        assert_close(got, want, rtol=2.5e-3 if dt == "float16" else 1e-5, atol=1e-5)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("dt", ["complex128", "complex64", "float64"])
def test_complex_cholesky_gradient(rng, dt, upper):
    cplx = dt.startswith("complex")
    m = rng.normal(size=(2, 4, 4)) + (1j * rng.normal(size=(2, 4, 4)) if cplx else 0)
    a = m @ np.conj(np.swapaxes(m, -1, -2)) + np.eye(4)
    c = rng.normal(size=(2, 4, 4)) + (1j * rng.normal(size=(2, 4, 4)) if cplx else 0)
    ta = torch.tensor(a).to(getattr(torch, dt)).requires_grad_()
    ja = jtorch.tensor(a).to(getattr(jtorch, dt)).requires_grad_()
    for tf, jf in ((torch.linalg.cholesky, jtorch.linalg.cholesky),
                   (lambda x, upper: torch.linalg.cholesky_ex(x, upper=upper).L,
                    lambda x, upper: jtorch.linalg.cholesky_ex(x, upper=upper).L),
                   (torch.cholesky, jtorch.cholesky)):
        ta.grad = ja.grad = None
        tl, jl = tf(ta, upper=upper), jf(ja, upper=upper)
        tol = 1e-4 if dt == "complex64" else 1e-8
        assert_close(jl, tl, rtol=tol, atol=tol)
        (tl * torch.tensor(c).to(tl.dtype)).real.sum().backward()
        (jl * jtorch.tensor(c).to(jl.dtype)).real.sum().backward()
        if cplx:  # the case: torch's gradient is not Hermitian (its diagonal is not real)
            assert np.abs(ta.grad.diagonal(dim1=-2, dim2=-1).imag.numpy()).max() > 1e-3
        assert_close(ja.grad, ta.grad.resolve_conj(), rtol=tol, atol=tol)
