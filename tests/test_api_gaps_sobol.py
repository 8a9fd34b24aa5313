"""torch.quasirandom.SobolEngine: unscrambled points equal torch's bit for bit; scrambled ones (torch's own
random bits cannot be matched) keep the properties of a scrambled Sobol' net and are reproducible per seed."""
import numpy as np
import pytest
import torch

import jtorch
from jtorch.quasirandom import SobolEngine


def _pair(*args, **kw):
    return torch.quasirandom.SobolEngine(*args, **kw), SobolEngine(*args, **kw)


def _same(t, j):
    assert tuple(t.shape) == tuple(j.shape) and str(t.dtype) == str(j.dtype)
    np.testing.assert_array_equal(t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy(),
                                  j.float().numpy() if j.dtype == jtorch.bfloat16 else j.numpy())


def test_direction_numbers_equal_torchs_for_every_dimension():
    t, j = _pair(21201)
    np.testing.assert_array_equal(j.sobolstate.numpy(), t.sobolstate.numpy())


@pytest.mark.parametrize("dimension", [1, 2, 7, 1111])
def test_unscrambled_draws_equal_torch(dimension, rng):
    t, j = _pair(dimension)
    for n in (1, 0, 3, 1, int(rng.integers(5, 40)), 2):
        _same(t.draw(n), j.draw(n))
        np.testing.assert_array_equal(j.quasi.numpy(), t.quasi.numpy())
        assert j.num_generated == t.num_generated
    _same(t.draw(5, dtype=torch.float64), j.draw(5, dtype=jtorch.float64))


def test_fast_forward_reset_and_base2(rng):
    t, j = _pair(4)
    skip = int(rng.integers(1, 50))
    assert t.fast_forward(skip) is t and j.fast_forward(skip) is j
    _same(t.draw(3), j.draw(3))
    t.reset()
    j.reset()
    _same(t.draw_base2(3), j.draw_base2(3))
    _same(t.draw_base2(3), j.draw_base2(3))  # 8 + 8 = 16: still a power of 2
    t.fast_forward(1)
    j.fast_forward(1)
    for e in (t, j):
        with pytest.raises(ValueError, match=r"require n to be a power of 2. 17 points .* n=17\+2\*\*2=21"):
            e.draw_base2(2)
    fresh_t, fresh_j = _pair(4)
    fresh_t.fast_forward(0)
    fresh_j.fast_forward(0)
    _same(fresh_t.draw(2), fresh_j.draw(2))


def test_out_argument_and_default_dtype():
    t, j = _pair(3)
    to, jo = torch.zeros(5, 5, dtype=torch.float64), jtorch.zeros(5, 5, dtype=jtorch.float64)
    rt, rj = t.draw(4, out=to), j.draw(4, out=jo)
    assert rt is to and rj is jo
    _same(to, jo)
    old = jtorch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        jtorch.set_default_dtype(jtorch.float64)
        _same(t.draw(2), j.draw(2))
    finally:
        torch.set_default_dtype(torch.float32)
        jtorch.set_default_dtype(old)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int64", "complex64"])
def test_dtypes_beyond_float_and_double(dtype):
    t, j = _pair(2)
    _same(t.draw(1, dtype=getattr(torch, dtype)), j.draw(1, dtype=getattr(jtorch, dtype)))  # the first point
    with pytest.raises(NotImplementedError) as te:
        t.draw(2, dtype=getattr(torch, dtype))
    with pytest.raises(NotImplementedError) as je:
        j.draw(2, dtype=getattr(jtorch, dtype))
    assert str(je.value) == str(te.value)


@pytest.mark.parametrize("dimension", [0, -3, 21202])
def test_dimension_out_of_range(dimension):
    for cls in (torch.quasirandom.SobolEngine, SobolEngine):
        with pytest.raises(ValueError, match=r"Supported range of dimensionality for SobolEngine is \[1, 21201\]"):
            cls(dimension)


def test_a_first_empty_draw_fails_like_torch():
    t, j = _pair(2)
    with pytest.raises(RuntimeError) as te:
        t.draw(0)
    with pytest.raises(RuntimeError) as je:
        j.draw(0)
    assert str(je.value) == str(te.value)


@pytest.mark.parametrize("kw", [{}, {"scramble": True}, {"seed": 4}, {"scramble": True, "seed": 11}])
def test_repr_and_attributes(kw):
    t, j = _pair(6, **kw)
    assert repr(j) == repr(t)
    assert (j.MAXBIT, j.MAXDIM, j.dimension, j.scramble, j.seed) == (t.MAXBIT, t.MAXDIM, t.dimension, t.scramble,
                                                                     t.seed)


def _net_counts(points, m):
    """For every dimension, how many points fall into each of the 2**m equal intervals of [0, 1)."""
    cells = np.floor(points * 2 ** m).astype(np.int64)
    return np.stack([np.bincount(cells[:, d], minlength=2 ** m) for d in range(points.shape[1])])


@pytest.mark.parametrize("seed", [0, 123])
def test_scrambled_points_are_a_net_and_reproducible(seed):
    m, dim = 7, 9
    e = SobolEngine(dim, scramble=True, seed=seed)
    x = e.draw_base2(m, dtype=jtorch.float64).numpy()
    assert x.shape == (2 ** m, dim) and (x >= 0).all() and (x < 1).all()
    # the first 2**m points put exactly one point into each interval of width 2**-m, in every dimension
    # (true of torch's scrambled points as well)
    assert (_net_counts(x, m) == 1).all()
    tx = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed).draw_base2(m, dtype=torch.float64).numpy()
    assert (_net_counts(tx, m) == 1).all()
    # 2-d projections: the first two dimensions of Sobol' form a (0, m, 2)-net, each 2**a x 2**(m-a) box holds one
    for a in range(m + 1):
        cells = np.floor(x[:, 0] * 2 ** a).astype(np.int64) * 2 ** (m - a) + np.floor(x[:, 1] * 2 ** (m - a))
        assert (np.bincount(cells.astype(np.int64), minlength=2 ** m) == 1).all()
    again = SobolEngine(dim, scramble=True, seed=seed)
    np.testing.assert_array_equal(again.draw_base2(m, dtype=jtorch.float64).numpy(), x)
    other = SobolEngine(dim, scramble=True, seed=seed + 1).draw_base2(m, dtype=jtorch.float64).numpy()
    assert not np.array_equal(other, x)
    assert not np.array_equal(x, SobolEngine(dim).draw_base2(m, dtype=jtorch.float64).numpy())
    e.reset()
    np.testing.assert_array_equal(e.draw(2 ** m, dtype=jtorch.float64).numpy(), x)


def test_scrambled_mean_and_first_point_is_the_shift():
    e = SobolEngine(5, scramble=True, seed=7)
    first = e.draw(1, dtype=jtorch.float64).numpy()[0]
    np.testing.assert_array_equal(first, e.shift.numpy() * 2.0 ** -30)
    rest = e.draw(1023, dtype=jtorch.float64).numpy()
    pts = np.concatenate([first[None], rest])
    np.testing.assert_allclose(pts.mean(0), 0.5, atol=2e-3)  # a net of 1024 points: mean within 1/1024 of 1/2
    np.testing.assert_allclose(pts.var(0), 1 / 12, atol=2e-3)
    unseeded = SobolEngine(5, scramble=True).draw_base2(4).numpy()
    assert (_net_counts(unseeded, 4) == 1).all()
