"""Hand-written JAX + optax versions of the benchmark models: the ceiling for a compiled step.

Each takes its initial weights from the PyTorch-API model of bench/models.py (built with
jtorch under the same seed), so it starts from the same state as the jtorch runs and does the
same work: the same layers, BatchNorm running statistics, dropout sites and optimizer. One
``jax.jit`` train step, parameters and optimizer state donated. tests/test_bench.py checks
each forward against the jtorch model.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax


def _linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def _dropout(key, x, rate, train):
    if not train or rate == 0:
        return x
    # a float32 probability: jtorch turns on jax_enable_x64, and a Python float would draw in float64
    keep = jax.random.bernoulli(key, jnp.float32(1 - rate), x.shape)
    return jnp.where(keep, x / (1 - rate), 0)


# ------------------------------------------------------------------ MLP 784-512-256-10
def mlp_apply(p, bufs, x, key, train, rate=0.0):  # no dropout in this model
    x = jax.nn.relu(_linear(p, "0", x))
    x = jax.nn.relu(_linear(p, "2", x))
    return _linear(p, "4", x), bufs


# ------------------------------------------------------------------ CNN (conv-bn-relu-pool) x2, dropout, linear
def _block(p, bufs, conv, bn, x, train):
    # weights are kept in HWIO and activations in NHWC: XLA's fastest CPU layout (see DESIGN.md)
    x = jax.lax.conv_general_dilated(x, p[conv + ".weight"], (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC")) + p[conv + ".bias"]
    if train:
        mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
        n = x.size // x.shape[-1]
        bufs = dict(bufs)
        bufs[bn + ".running_mean"] = 0.9 * bufs[bn + ".running_mean"] + 0.1 * mean
        bufs[bn + ".running_var"] = 0.9 * bufs[bn + ".running_var"] + 0.1 * var * n / (n - 1)
        bufs[bn + ".num_batches_tracked"] = bufs[bn + ".num_batches_tracked"] + 1
    else:
        mean, var = bufs[bn + ".running_mean"], bufs[bn + ".running_var"]
    x = (x - mean) * jax.lax.rsqrt(var + 1e-5) * p[bn + ".weight"] + p[bn + ".bias"]
    x = jax.nn.relu(x)
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"), bufs


def cnn_apply(p, bufs, x, key, train, rate=0.25):
    x = jnp.transpose(x, (0, 2, 3, 1))
    x, bufs = _block(p, bufs, "0", "1", x, train)
    x, bufs = _block(p, bufs, "4", "5", x, train)
    x = _dropout(key, x, rate, train)
    x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)  # torch's Flatten order (C, H, W)
    return _linear(p, "10", x), bufs


def cnn_layout(p):
    """OIHW conv weights to HWIO, once at start (the layout the ceiling runs fastest in)."""
    return {k: (jnp.transpose(v, (2, 3, 1, 0)) if v.ndim == 4 else v) for k, v in p.items()}


# ------------------------------------------------------------------ Transformer encoder LM (post-norm, ReLU)
def _layer_norm(p, name, x):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + 1e-5) * p[name + ".weight"] + p[name + ".bias"]


def transformer_apply(p, bufs, x, key, train, heads=4, layers=2, rate=0.1):
    b, s = x.shape
    h = p["emb.weight"][x] + p["pos"][:, :s]
    d = h.shape[-1]
    dh = d // heads
    mask = np.where(np.tril(np.ones((s, s), bool)), 0, -np.inf).astype(np.float32)  # the causal mask
    keys = jax.random.split(key, 4 * layers)
    for i in range(layers):
        n = f"enc.layers.{i}."
        qkv = h @ p[n + "self_attn.in_proj_weight"].T + p[n + "self_attn.in_proj_bias"]
        q, k, v = (t.reshape(b, s, heads, dh).transpose(0, 2, 1, 3) for t in jnp.split(qkv, 3, -1))
        att = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) * dh ** -0.5 + mask, -1)
        att = _dropout(keys[4 * i], att, rate, train)
        a = (att @ v).transpose(0, 2, 1, 3).reshape(b, s, d)
        a = _linear(p, n + "self_attn.out_proj", a)
        h = _layer_norm(p, n + "norm1", h + _dropout(keys[4 * i + 1], a, rate, train))
        f = _dropout(keys[4 * i + 2], jax.nn.relu(_linear(p, n + "linear1", h)), rate, train)
        f = _linear(p, n + "linear2", f)
        h = _layer_norm(p, n + "norm2", h + _dropout(keys[4 * i + 3], f, rate, train))
    return _linear(p, "head", h), bufs


# ------------------------------------------------------------------ one jitted train step
def make_step(apply, opt):
    def loss_fn(params, bufs, x, y, key):
        logits, bufs = apply(params, bufs, x, key, True)
        logits = logits.reshape(-1, logits.shape[-1])
        return optax.softmax_cross_entropy_with_integer_labels(logits, y.reshape(-1)).mean(), bufs

    @functools.partial(jax.jit, donate_argnums=(0, 1, 2))  # params, buffers, optimizer state in place
    def step(params, bufs, state, x, y, key):
        key, sub = jax.random.split(key)
        (loss, bufs), g = jax.value_and_grad(loss_fn, has_aux=True)(params, bufs, x, y, sub)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), bufs, state, loss, key
    return step


def split_state(model):
    """A jtorch model's parameters and buffers as two dicts of jax arrays (torch's names)."""
    params = {k: jnp.asarray(v.detach().numpy()) for k, v in model.named_parameters()}
    bufs = {k: jnp.asarray(v.numpy()) for k, v in model.named_buffers() if k != "mask"}
    return params, bufs


REF = {
    # name: (apply, optimizer, weight layout); optimizers as in bench/models.py (torch's defaults)
    "mlp": (mlp_apply, lambda: optax.adam(1e-3), None),
    "cnn": (cnn_apply, lambda: optax.sgd(0.01, momentum=0.9), cnn_layout),
    "transformer": (transformer_apply, lambda: optax.adamw(3e-4, weight_decay=0.01), None),
}
