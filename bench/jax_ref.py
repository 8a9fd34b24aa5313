"""Hand-written JAX + optax versions of the benchmark models: the ceiling for a compiled step."""
import functools

import jax
import jax.numpy as jnp
import optax


def _dense(key, n_in, n_out):
    k1, k2 = jax.random.split(key)
    b = 1 / jnp.sqrt(n_in)
    return {"w": jax.random.uniform(k1, (n_in, n_out), jnp.float32, -b, b),
            "b": jax.random.uniform(k2, (n_out,), jnp.float32, -b, b)}


def mlp_init(key):
    ks = jax.random.split(key, 3)
    return [_dense(ks[0], 784, 512), _dense(ks[1], 512, 256), _dense(ks[2], 256, 10)]


def mlp_apply(params, x, key, train):
    for i, layer in enumerate(params):
        x = x @ layer["w"] + layer["b"]
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x, None


def _conv(key, cin, cout, k=3):
    b = 1 / jnp.sqrt(cin * k * k)
    k1, k2 = jax.random.split(key)
    return {"w": jax.random.uniform(k1, (k, k, cin, cout), jnp.float32, -b, b),
            "b": jax.random.uniform(k2, (cout,), jnp.float32, -b, b),
            "g": jnp.ones(cout), "beta": jnp.zeros(cout)}


def cnn_init(key):
    ks = jax.random.split(key, 3)
    return {"c1": _conv(ks[0], 1, 32), "c2": _conv(ks[1], 32, 64), "fc": _dense(ks[2], 64 * 7 * 7, 10)}


def _block(p, x, train):
    x = jax.lax.conv_general_dilated(x, p["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["b"]
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    x = (x - mean) / jnp.sqrt(var + 1e-5) * p["g"] + p["beta"]
    x = jax.nn.relu(x)
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def cnn_apply(params, x, key, train):
    x = jnp.transpose(x, (0, 2, 3, 1))
    x = _block(params["c2"], _block(params["c1"], x, train), train)
    keep = jax.random.bernoulli(key, 0.75, x.shape)
    x = jnp.where(keep, x / 0.75, 0)
    x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)
    return x @ params["fc"]["w"] + params["fc"]["b"], None


def make_step(apply, opt):
    def loss_fn(params, x, y, key):
        logits, _ = apply(params, x, key, True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))  # params and optimizer state updated in place
    def step(params, state, x, y, key):
        key, sub = jax.random.split(key)
        loss, g = jax.value_and_grad(loss_fn)(params, x, y, sub)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state, loss, key
    return step


REF = {
    "mlp": (mlp_init, mlp_apply, lambda: optax.adam(1e-3)),
    "cnn": (cnn_init, cnn_apply, lambda: optax.sgd(0.01, momentum=0.9)),
}
