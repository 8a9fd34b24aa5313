"""bench/jax_ref.py, the hand-written JAX ceiling, computes what the bench models compute."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jtorch as torch

pytest.importorskip("optax")
from bench.jax_ref import REF, make_step, split_state  # noqa: E402
from bench.models import SPECS  # noqa: E402


def _setup(name, batch):
    build, make_opt, make_input, _ = SPECS[name]
    torch.manual_seed(0)
    net = build(torch)
    x, y = make_input(torch, batch)
    apply, opt_f, layout = REF[name]
    params, bufs = split_state(net)
    if layout is not None:
        params = layout(params)
    return net, make_opt, x, y, apply, opt_f, params, bufs


@pytest.mark.parametrize("name", ["mlp", "cnn", "transformer"])
def test_reference_forward_and_step_match_jtorch(name):
    """Same initial weights and batch, no dropout: the same losses over two steps (one optimizer update
    between them) and the same BatchNorm statistics."""
    net, make_opt, x, y, apply, opt_f, params, bufs = _setup(name, 4)
    for m in net.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        if isinstance(getattr(m, "dropout", None), float):  # MultiheadAttention's attention dropout
            m.dropout = 0.0
    opt = make_opt(torch, net.parameters())
    crit = torch.nn.CrossEntropyLoss()
    losses = []
    for _ in range(2):
        opt.zero_grad()
        out = net(x)
        loss = crit(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    ref_apply = functools.partial(apply, rate=0.0)
    xj, yj = jnp.asarray(x.numpy()), jnp.asarray(y.numpy())
    logits, _ = ref_apply(params, bufs, xj, jax.random.PRNGKey(0), True)
    assert logits.dtype == jnp.float32  # jtorch turns on x64: the reference must not drift to float64
    step = make_step(ref_apply, opt_f())
    state = opt_f().init(params)
    ref_losses = []
    key = jax.random.PRNGKey(0)
    for _ in range(2):
        params, bufs, state, loss, key = step(params, bufs, state, xj, yj, key)
        ref_losses.append(float(loss))
    np.testing.assert_allclose(ref_losses, losses, rtol=2e-5, atol=2e-5)
    if name == "cnn":  # BatchNorm running statistics are updated like torch's
        for k, v in net.named_buffers():
            np.testing.assert_allclose(np.asarray(bufs[k]), v.numpy(), rtol=1e-4, atol=1e-5)

