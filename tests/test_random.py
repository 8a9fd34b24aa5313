"""Randomness: reproducibility, distributions (statistics), shapes and dtypes like torch."""
import numpy as np
import pytest
import torch

import jtorch


def test_manual_seed_reproducible():
    jtorch.manual_seed(123)
    a = jtorch.rand(5)
    b = jtorch.randn(3, 3)
    jtorch.manual_seed(123)
    assert jtorch.equal(a, jtorch.rand(5)) and jtorch.equal(b, jtorch.randn(3, 3))
    assert jtorch.initial_seed() == 123
    g = jtorch.Generator().manual_seed(7)
    x = jtorch.rand(4, generator=g)
    g.manual_seed(7)
    assert jtorch.equal(x, jtorch.rand(4, generator=g))
    st = jtorch.get_rng_state()
    y = jtorch.rand(3)
    jtorch.set_rng_state(st)
    assert jtorch.equal(y, jtorch.rand(3))


@pytest.mark.parametrize("fn,kw", [
    ("rand", {}), ("randn", {}), ("rand", {"dtype": "float64"}), ("randn", {"dtype": "float16"}),
])
def test_float_samplers(fn, kw):
    jtorch.manual_seed(0)
    kj = {k: getattr(jtorch, v) for k, v in kw.items()}
    kt = {k: getattr(torch, v) for k, v in kw.items()}
    j = getattr(jtorch, fn)(200, 100, **kj)
    t = getattr(torch, fn)(200, 100, **kt)
    assert j.shape == t.shape and str(j.dtype) == str(t.dtype)
    a = j.double().numpy()
    if fn == "rand":
        assert a.min() >= 0 and a.max() < 1 and abs(a.mean() - 0.5) < 0.01 and abs(a.std() - 0.2887) < 0.01
    else:
        assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02


def test_integer_samplers():
    jtorch.manual_seed(1)
    r = jtorch.randint(0, 10, (2, 3))
    assert str(r.dtype) == str(torch.randint(0, 10, (2, 3)).dtype) == "torch.int64" and r.shape == (2, 3)
    big = jtorch.randint(3, 7, (10000,)).numpy()
    assert big.min() == 3 and big.max() == 6
    assert jtorch.randint(5, (4,)).shape == (4,)
    p = jtorch.randperm(50)
    assert p.dtype == jtorch.int64 and sorted(p.tolist()) == list(range(50))
    with pytest.raises(RuntimeError):
        jtorch.randint(5, 5, (2,))


def test_distributions_statistics():
    jtorch.manual_seed(2)
    n = jtorch.normal(3.0, 2.0, size=(20000,)).numpy()
    assert abs(n.mean() - 3) < 0.05 and abs(n.std() - 2) < 0.05
    m = jtorch.normal(jtorch.zeros(1000) + 5, jtorch.ones(1000))
    assert abs(m.mean().item() - 5) < 0.15
    b = jtorch.bernoulli(jtorch.full((20000,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.02
    probs = jtorch.tensor([0.1, 0.0, 0.6, 0.3])
    s = jtorch.multinomial(probs, 10000, replacement=True).numpy()
    assert s.dtype == np.int64 and (s != 1).all() and abs((s == 2).mean() - 0.6) < 0.03
    s2 = jtorch.multinomial(probs, 3).tolist()
    assert len(set(s2)) == 3 and 1 not in s2
    with pytest.raises(RuntimeError):
        jtorch.multinomial(probs, 4)
    po = jtorch.poisson(jtorch.full((20000,), 4.0)).numpy()
    assert abs(po.mean() - 4) < 0.1


def test_inplace_samplers():
    jtorch.manual_seed(3)
    x = jtorch.empty(20000)
    assert x.uniform_(-2, 2) is x and x.min() >= -2 and x.max() < 2 and abs(x.mean().item()) < 0.05
    x.normal_(1, 0.5)
    assert abs(x.mean().item() - 1) < 0.02 and abs(x.std().item() - 0.5) < 0.02
    x.exponential_(2.0)
    assert abs(x.mean().item() - 0.5) < 0.02
    x.bernoulli_(0.25)
    assert abs(x.mean().item() - 0.25) < 0.02
    i = jtorch.empty(1000, dtype=jtorch.int64).random_(0, 5)
    assert i.min() == 0 and i.max() == 4
    for f in ("rand_like", "randn_like"):
        y = getattr(jtorch, f)(jtorch.ones(2, 3, dtype=jtorch.float64))
        assert y.shape == (2, 3) and y.dtype == jtorch.float64
    assert jtorch.randint_like(jtorch.ones(3), 10).dtype == jtorch.float32


# ---- the fused threefry bit generator (jtorch.random.typed_key)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4), (0, 3), (257, 129)])
def test_fused_bits_equal_jax_threefry(shape):
    """The unrolled lowering must give JAX's threefry bits exactly, for every width, jitted or not."""
    import jax
    import jax.numpy as jnp
    from jtorch.random import typed_key
    for seed in (0, 42, 2 ** 40 + 3):
        raw = jax.random.key_data(jax.random.PRNGKey(seed))
        for dt in (jnp.uint8, jnp.uint16, jnp.uint32, jnp.uint64):
            want = np.asarray(jax.random.bits(raw, shape, dt))
            got = np.asarray(jax.random.bits(typed_key(raw), shape, dt))
            jitted = np.asarray(jax.jit(lambda k: jax.random.bits(typed_key(k), shape, dt))(raw))
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(jitted, want)


def test_fused_bits_under_vmap_and_derived_samplers():
    import jax
    import jax.numpy as jnp
    from jtorch.random import typed_key
    keys = jax.random.key_data(jax.random.split(jax.random.PRNGKey(5), 4))
    want = jax.vmap(lambda k: jax.random.bits(k, (3, 2), jnp.uint32))(keys)
    got = jax.vmap(lambda k: jax.random.bits(typed_key(k), (3, 2), jnp.uint32))(keys)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    raw = keys[0]
    for f in (lambda k: jax.random.normal(k, (100,)), lambda k: jax.random.uniform(k, (5, 6), jnp.float32),
              lambda k: jax.random.bernoulli(k, 0.3, (64,)), lambda k: jax.random.permutation(k, 30),
              lambda k: jax.random.randint(k, (40,), 0, 1000)):
        np.testing.assert_array_equal(np.asarray(f(typed_key(raw))), np.asarray(f(raw)))


def test_fused_bits_uniformity():
    """Chi-square over the 256 byte values and serial correlation of neighbouring words: the bits
    the dropout masks and every bulk sampler draw from are uniform and independent."""
    import jax
    import jax.numpy as jnp
    from jtorch.random import typed_key
    raw = jax.random.key_data(jax.random.PRNGKey(11))
    b = np.asarray(jax.random.bits(typed_key(raw), (1 << 18,), jnp.uint32))
    counts = np.bincount((b >> 24).astype(np.int64), minlength=256)
    chi2 = ((counts - b.size / 256) ** 2 / (b.size / 256)).sum()
    assert chi2 < 330  # 255 degrees of freedom: p ~ 0.001
    u = b / 2.0 ** 32
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    assert abs(u.mean() - 0.5) < 0.003


def test_dropout_mask_statistics_and_reproducibility():
    jtorch.manual_seed(9)
    x = jtorch.ones(400, 500)
    y = jtorch.nn.functional.dropout(x, 0.3)
    kept = (y != 0).double().mean().item()
    assert abs(kept - 0.7) < 0.005
    np.testing.assert_allclose(y[y != 0].numpy(), 1 / 0.7, rtol=1e-6)
    col = (y != 0).double().mean(0).numpy()  # no structure along either axis
    assert abs(col.std() - np.sqrt(0.21 / 400)) < 0.01
    jtorch.manual_seed(9)
    assert jtorch.equal(jtorch.nn.functional.dropout(x, 0.3), y)
    with jtorch.random.fork_rng():
        a = jtorch.nn.functional.dropout(x, 0.3)
    assert jtorch.equal(jtorch.nn.functional.dropout(x, 0.3), a)
    g = jtorch.Generator().manual_seed(4)
    assert jtorch.equal(jtorch.bernoulli(jtorch.full((50,), 0.5), generator=g),
                        jtorch.bernoulli(jtorch.full((50,), 0.5), generator=jtorch.Generator().manual_seed(4)))


def test_fused_bits_follow_jax_counter_layout_setting():
    import jax
    import jax.numpy as jnp
    from jtorch.random import typed_key
    raw = jax.random.key_data(jax.random.PRNGKey(3))
    prev = jax.config.jax_threefry_partitionable
    try:
        jax.config.update("jax_threefry_partitionable", not prev)
        np.testing.assert_array_equal(np.asarray(jax.random.bits(typed_key(raw), (5, 7), jnp.uint32)),
                                      np.asarray(jax.random.bits(raw, (5, 7), jnp.uint32)))
    finally:
        jax.config.update("jax_threefry_partitionable", prev)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_uniform_complex_fills_both_parts_like_torch(dtype):
    # torch: real and imaginary parts each uniform on [from, to) (as through view_as_real)
    jtorch.manual_seed(3)
    torch.manual_seed(3)
    for m in (jtorch, torch):
        x = m.empty(20000, dtype=getattr(m, dtype)).uniform_(2.0, 3.0)
        r = m.rand(20000, dtype=getattr(m, dtype))
        assert str(x.dtype) == f"torch.{dtype}" and str(r.dtype) == f"torch.{dtype}"
        for part in (x.real, x.imag):
            v = part.numpy()
            assert 2.0 <= v.min() and v.max() < 3.0 and abs(v.mean() - 2.5) < 0.01
        for part in (r.real, r.imag):
            v = part.numpy()
            assert 0.0 <= v.min() and v.max() < 1.0 and abs(v.mean() - 0.5) < 0.01
        assert abs(np.corrcoef(x.real.numpy(), x.imag.numpy())[0, 1]) < 0.05  # independent parts


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_uniform_of_integers_raises_like_torch(dtype):
    errors = []
    for m in (jtorch, torch):
        for call in (lambda: m.empty(3, dtype=getattr(m, dtype)).uniform_(), lambda: m.rand(3, dtype=getattr(m, dtype))):
            with pytest.raises(NotImplementedError) as e:
                call()
            errors.append(str(e.value))
    assert errors[0] == errors[2] and errors[1] == errors[3]


def test_randint_high_with_size_keyword_like_torch():
    import torch
    for m in (torch, jtorch):
        a = m.randint(5, size=(200,))
        assert a.dtype == m.int64 and tuple(a.shape) == (200,)
        assert int(a.min()) >= 0 and int(a.max()) <= 4 and int(a.max()) > 0
        b = m.randint(3, 7, size=(50,))
        assert int(b.min()) >= 3 and int(b.max()) <= 6
