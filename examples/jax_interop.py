"""Mixing jtorch and JAX: a jtorch model as a pure JAX function of its parameters,
trained with jax.jit, jax.grad and optax, then written back into the model."""
import jax
import jax.numpy as jnp
import optax

import jtorch as torch
import jtorch.nn as nn
from jtorch.func import functional_call


def main(steps=200):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1))
    params = {k: v.jax() for k, v in model.named_parameters()}  # jax arrays, no copies

    xs = jnp.linspace(-3, 3, 128)[:, None].astype(jnp.float32)
    ys = jnp.sin(xs)

    def loss_fn(p, x, y):
        # functional_call runs the jtorch module with these parameters; inside jax
        # transformations tensors wrap tracers, so this is an ordinary JAX function
        out = functional_call(model, {k: torch.from_jax(v) for k, v in p.items()}, (torch.from_jax(x),))
        return jnp.mean((out.jax() - y) ** 2)

    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(p, s):
        loss, g = jax.value_and_grad(loss_fn)(p, xs, ys)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss

    for i in range(steps):
        params, state, loss = step(params, state)
        if i % 50 == 0:
            print(f"step {i:4d} loss {float(loss):.5f}")
    # write the trained values back into the jtorch model
    model.load_state_dict({k: torch.from_jax(v) for k, v in params.items()})
    final = float(((model(torch.from_jax(xs)) - torch.from_jax(ys)) ** 2).mean())
    print(f"final loss (jtorch forward) {final:.5f}")
    return final


if __name__ == "__main__":
    main()
