"""geqrf, householder_product/orgqr, ormqr, lu_factor_ex against torch (values, gradients, errors), and the
op_db fixes in linalg: pinv/matrix_rank(hermitian) read the lower triangle, empty matrices, vander of 0-dim."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.mathcheck import check


def _raises_like(fn, *args):
    """torch and jtorch raise the same exception type for the same numpy inputs."""
    try:
        fn(torch, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    except Exception as e:  # noqa: BLE001
        kind = type(e)
    else:
        raise AssertionError("torch did not raise")
    with pytest.raises(Exception) as info:
        fn(jtorch, *[jtorch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    assert type(info.value).__name__ == kind.__name__ or issubclass(kind, RuntimeError) and \
        isinstance(info.value, RuntimeError), (info.value, kind)


@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (2, 5, 3), (3, 0)])
def test_geqrf(rng, shape):
    a = rng.standard_normal(shape)
    check(lambda L, x: L.geqrf(x), a, rtol=1e-10, atol=1e-10)
    check(lambda L, x: x.geqrf(), a.astype(np.float32), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((4, 4), 2), ((2, 6, 3), 3)])
def test_householder_product_and_grad(rng, shape, k):
    a = rng.standard_normal(shape)
    tau = rng.uniform(0.2, 1.8, shape[:-2] + (k,))
    check(lambda L, x, t: L.linalg.householder_product(x, t), a, tau, grad=(0, 1), rtol=1e-9, atol=1e-9)
    check(lambda L, x, t: L.orgqr(x, t), a.astype(np.float32), tau.astype(np.float32), rtol=1e-4, atol=1e-5)


def test_householder_product_of_geqrf_is_q(rng):
    a = rng.standard_normal((6, 4))
    check(lambda L, x: L.linalg.householder_product(*L.geqrf(x)), a, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
def test_ormqr_and_grad(rng, left, transpose):
    a = rng.standard_normal((2, 5, 3))
    tau = rng.uniform(0.2, 1.8, (2, 3))
    c = rng.standard_normal((2, 5, 4) if left else (2, 4, 5))
    check(lambda L, x, t, y: L.ormqr(x, t, y, left=left, transpose=transpose), a, tau, c, grad=(0, 1, 2),
          rtol=1e-9, atol=1e-9)


def test_ormqr_complex(rng):
    a = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    c = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))
    tau = rng.uniform(0.2, 1.8, 3) + 0.3j
    for tr in (False, True):
        check(lambda L, x, t, y: x.ormqr(t, y, transpose=tr), a, tau, c, rtol=1e-9, atol=1e-9)


def test_reflector_errors(rng):
    a, tau = rng.standard_normal((3, 4)), rng.standard_normal(2)
    _raises_like(lambda L, x, t: L.linalg.householder_product(x, t), a, tau)                 # m < n
    _raises_like(lambda L, x, t: L.linalg.householder_product(x, t), a.T, rng.standard_normal(5))  # k > n
    _raises_like(lambda L, x, t: L.linalg.householder_product(x, t), a.T, rng.standard_normal((2, 2)))
    _raises_like(lambda L, x, t, c: L.ormqr(x, t, c), a.T, tau, rng.standard_normal((3, 2)))  # rows differ
    _raises_like(lambda L, x: L.geqrf(x), rng.standard_normal(3))


def test_lu_factor_ex(rng):
    a = rng.standard_normal((2, 4, 4))
    a[1, :, 2] = 0  # singular: a zero pivot
    check(lambda L, x: L.linalg.lu_factor_ex(x), a, rtol=1e-10, atol=1e-10)
    check(lambda L, x: L.linalg.lu_factor_ex(x), rng.standard_normal((3, 5)).astype(np.float32), rtol=1e-4)
    _raises_like(lambda L, x: L.linalg.lu_factor_ex(x, check_errors=True), a)


def test_pinv_and_rank_hermitian_read_the_lower_triangle(rng):
    a = rng.standard_normal((2, 5, 5))  # not symmetric: only the lower triangle counts
    check(lambda L, x: L.linalg.pinv(x, hermitian=True), a, rtol=1e-8, atol=1e-8)
    check(lambda L, x: L.linalg.matrix_rank(x, hermitian=True), a)
    s = rng.standard_normal((4, 2))
    check(lambda L, x: L.linalg.matrix_rank(x, hermitian=True), s @ s.T)  # rank 2


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (1, 1, 0, 0)])
def test_empty_matrices(shape):
    a = np.zeros(shape, np.float32)
    check(lambda L, x: L.linalg.inv_ex(x), a)
    check(lambda L, x: L.linalg.matrix_rank(x), a)
    check(lambda L, x: L.linalg.matrix_rank(x, hermitian=True), a)
    check(lambda L, x: L.linalg.pinv(x, hermitian=True), a)


def test_vander_zero_dim_and_errors():
    check(lambda L, x: L.linalg.vander(x, N=3), np.array(2.5))
    check(lambda L, x: L.linalg.vander(x), np.array([1, 2, 3]))
    _raises_like(lambda L, x: L.linalg.vander(x, N=1), np.array([1.0, 2.0]))
    _raises_like(lambda L, x: L.linalg.vander(x), np.array(2.0))


def test_matrix_exp_matches_float64_normwise(rng):
    # float32 entries small by cancellation carry the big entries' rounding, in torch as here
    a = rng.uniform(-9, 9, (5, 5)).astype(np.float32)
    j = np.asarray(jtorch.linalg.matrix_exp(jtorch.tensor(a)))
    exact = torch.linalg.matrix_exp(torch.tensor(a, dtype=torch.float64)).numpy()
    assert np.max(np.abs(j - exact)) <= 1e-5 * np.max(np.abs(exact))
    assert_close(jtorch.linalg.matrix_exp(jtorch.tensor(a.astype(np.float64))),
                 torch.linalg.matrix_exp(torch.tensor(a, dtype=torch.float64)), rtol=1e-10, atol=1e-8)


def _indefinite(rng, n, complex_=False, small_diag=False):
    a = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_ else 0)
    if small_diag:  # forces 2x2 pivot blocks
        np.fill_diagonal(a, 1e-3 * rng.standard_normal(n))
    return a


@pytest.mark.parametrize("n", [1, 2, 5, 6])
@pytest.mark.parametrize("small_diag", [False, True])
def test_ldl_factor_matches_lapack_form(rng, n, small_diag):
    a = np.stack([_indefinite(rng, n, small_diag=small_diag) for _ in range(3)])  # non-symmetric: lower read
    check(lambda L, x: L.linalg.ldl_factor_ex(x), a, rtol=1e-9, atol=1e-10)
    check(lambda L, x: L.linalg.ldl_factor(x), a[0].astype(np.float32), rtol=1e-4, atol=1e-5)
    b = rng.standard_normal((3, n, 2))
    check(lambda L, x, y: L.linalg.ldl_solve(*L.linalg.ldl_factor(x), y), a, b, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_complex(rng, hermitian):
    for small in (False, True):
        a = _indefinite(rng, 5, complex_=True, small_diag=small)
        b = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))
        check(lambda L, x: L.linalg.ldl_factor(x, hermitian=hermitian), a, rtol=1e-9, atol=1e-10)
        check(lambda L, x, y: L.linalg.ldl_solve(*L.linalg.ldl_factor(x, hermitian=hermitian), y,
                                                  hermitian=hermitian), a, b, rtol=1e-8, atol=1e-9)


def test_ldl_singular_and_errors(rng):
    z = np.zeros((2, 3, 3))
    z[0] = np.eye(3)
    check(lambda L, x: L.linalg.ldl_factor_ex(x), z)  # info of the singular batch element
    _raises_like(lambda L, x: L.linalg.ldl_factor(x), np.zeros((3, 3)))
    _raises_like(lambda L, x: L.linalg.ldl_factor(x), rng.standard_normal((3, 4)))
    ld = np.tril(rng.standard_normal((3, 3)))
    check(lambda L, x, y: L.linalg.ldl_solve(x, L.tensor([1, 2, 3], dtype=L.int64), y), ld,
          rng.standard_normal((3, 1)))   # int64 pivots are accepted
    _raises_like(lambda L, x, y: L.linalg.ldl_solve(x, L.tensor([1.0, 2, 3]), y), ld, rng.standard_normal((3, 1)))
    _raises_like(lambda L, x, y: L.linalg.ldl_solve(x, L.tensor([1, 2, 3], dtype=L.int32), y), ld,
                 rng.standard_normal((4, 1)))   # rows of B


def test_matrix_exp_half(rng):
    # jax's expm has no float16 kernel: computed in float32 and rounded (torch 2.13's CPU half kernel
    # overflows to inf on such inputs, so float32 torch is the reference)
    a = rng.standard_normal((2, 3, 3)).astype(np.float16)
    j = jtorch.linalg.matrix_exp(jtorch.tensor(a))
    assert j.dtype == jtorch.float16
    want = torch.linalg.matrix_exp(torch.tensor(a.astype(np.float32))).half()
    assert_close(j, want, rtol=2e-3, atol=2e-3)
