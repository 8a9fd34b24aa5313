"""jtorch._layout: the transpose-sinking re-evaluation of compiled programs gives the same values as
the program itself, and the transposes between channels-last blocks are gone."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jtorch
from jtorch import _layout
from tests.helpers import assert_close


def _both(f, *args):
    closed = jax.make_jaxpr(f)(*args)
    want = jax.jit(jax.extend.core.jaxpr_as_fun(closed))(*args)
    got = jax.jit(_layout.sink_transposes(closed))(*args)
    return got, want, closed


def _count(f, args, prim):
    closed = jax.make_jaxpr(f)(*args)
    return sum(e.primitive.name == prim for e in closed.jaxpr.eqns)


def _to_last(x):
    return jnp.moveaxis(x, 1, -1)


def _to_first(x):
    return jnp.moveaxis(x, -1, 1)


@jax.custom_jvp
def _twice(a):
    return a * 2


_twice.defjvp(lambda p, t: (_twice(p[0]), t[0] * 2))


def _block(x, w, b):
    # what the CNN ops do: channels-last math between NCHW moves, batch-norm-like statistics,
    # a relu, a strided-slice pool with interior-padded gradient-like scatter, a nested jit
    h = _to_first(_to_last(x) * w + b)
    mean = h.mean((0, 2, 3), keepdims=True)
    var = jnp.square(h - mean).mean((0, 2, 3), keepdims=True)
    h = jax.nn.relu((h - mean) * jax.lax.rsqrt(var + 1e-5))
    p = jnp.maximum(h[:, :, ::2, ::2], h[:, :, 1::2, 1::2])
    arg = jnp.argmax(jnp.stack([h[:, :, ::2, ::2], h[:, :, 1::2, 1::2]], -1), -1)
    up = jax.lax.pad(p, jnp.zeros((), p.dtype), [(0, 0, 0), (0, 0, 0), (0, 1, 1), (1, 0, 1)])
    s = jax.jit(lambda a: jnp.cumsum(a, 2) + jnp.flip(a, 3))(up)
    c = jnp.concatenate([_to_last(s), _to_last(up)], -1)
    q = jnp.squeeze(c[:1], 0).max(-1)
    y = jnp.clip(_to_first(_to_last(p) + b), -0.5, 0.7)
    return (_twice(_to_last(s)), q, arg, jnp.where(y > 0, y, _to_first(_to_last(p))).sum((1, 3)),
            _to_last(p).reshape(p.shape[0], -1), jnp.einsum("nchw,c->nhw", p, w))


def test_sunk_program_matches(rng):
    x = jnp.asarray(rng.standard_normal((3, 4, 6, 8)), jnp.float32)
    w = jnp.asarray(rng.standard_normal(4), jnp.float32)
    b = jnp.asarray(rng.standard_normal(4), jnp.float32)
    got, want, _ = _both(_block, x, w, b)
    assert len(got) == len(want)
    for g, r in zip(got, want):
        assert g.shape == r.shape and g.dtype == r.dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-5, atol=1e-5)


def test_grad_program_matches(rng):
    x = jnp.asarray(rng.standard_normal((2, 3, 4, 4)))
    w, b = (jnp.asarray(rng.standard_normal(3)) for _ in range(2))

    def loss(x, w, b):
        return sum(jnp.sum(jnp.sin(o.astype(x.dtype))) for o in _block(x, w, b))
    got, want, _ = _both(jax.grad(loss, (0, 1, 2)), x, w, b)
    for g, r in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-10, atol=1e-10)


def test_transposes_between_channels_last_blocks_cancel(rng):
    """conv-like channels-last block, NCHW elementwise and per-channel statistics, then channels-last
    again: the sunk program has no transpose left (the plain one has four)."""
    x = jnp.asarray(rng.standard_normal((2, 3, 5, 5)), jnp.float32)

    def f(x):
        h = _to_first(_to_last(x) * 2.0)
        h = jax.nn.relu(h - h.mean((0, 2, 3), keepdims=True))
        return _to_first(jnp.tanh(_to_last(h[:, :, 1:, ::2])))

    closed = jax.make_jaxpr(f)(x)
    sunk = jax.make_jaxpr(_layout.sink_transposes(closed))(x)
    names = [e.primitive.name for e in sunk.jaxpr.eqns]
    assert _count(f, (x,), "transpose") == 4
    assert "transpose" not in names
    np.testing.assert_allclose(np.asarray(jax.jit(_layout.sink_transposes(closed))(x)[0]), np.asarray(f(x)),
                               rtol=1e-6)


def test_elementwise_follows_the_bigger_operand(rng):
    """A small NCHW operand (a per-channel broadcast, a (1, C, 1, 1) array) is brought to the big
    channels-last one, not the other way round."""
    x = jnp.asarray(rng.standard_normal((2, 6, 6, 8)), jnp.float32)  # channels-last, as a conv returns
    s = jnp.asarray(rng.standard_normal((1, 8, 1, 1)), jnp.float32)

    def f(x, s):
        h = _to_first(x + 1.0)
        return _to_last(h * jnp.broadcast_to(s, h.shape) + s[0, 0, 0, 0] * h[:, :1])

    closed = jax.make_jaxpr(f)(x, s)
    sunk = jax.make_jaxpr(_layout.sink_transposes(closed))(x, s)
    names = [e.primitive.name for e in sunk.jaxpr.eqns]
    assert names.count("transpose") == 0, sunk
    np.testing.assert_allclose(np.asarray(jax.jit(_layout.sink_transposes(closed))(x, s)[0]),
                               np.asarray(f(x, s)), rtol=1e-6)


@pytest.mark.parametrize("enabled", [True, False])
def test_compiled_cnn_step_with_and_without_sinking(enabled, monkeypatch):
    """The compiled CNN step (batch norm, relu, pooling, dropout off) against torch, either way."""
    monkeypatch.setattr(_layout, "ENABLED", enabled)

    def build(m):
        nn = m.nn
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 3, 3), nn.BatchNorm2d(3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 2 * 2, 3))
    tnet, jnet = build(torch), build(jtorch)
    jnet.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    rng = np.random.default_rng(3)
    data = [(rng.standard_normal((5, 2, 8, 8)).astype(np.float32), rng.integers(0, 3, 5)) for _ in range(3)]
    losses = []
    for m, net, compile_ in ((torch, tnet, False), (jtorch, jnet, True)):
        opt = m.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

        def step(x, y, m=m, net=net, opt=opt):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss.detach()
        if compile_:
            step = m.compile(step)
        losses.append([float(step(m.tensor(x), m.tensor(y))) for x, y in data])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)
    for (k, t), j in zip(tnet.state_dict().items(), jnet.state_dict().values()):
        assert_close(j, t, rtol=1e-3, atol=1e-4)
