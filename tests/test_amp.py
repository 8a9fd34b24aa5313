"""torch.autocast on the CPU casts like torch's: listed matmul-like ops run in bfloat16/float16,
losses in float32, the rest in their inputs' dtype; gradients reach float32 parameters."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _program(m, a, w, y, dtype):
    F = m.nn.functional
    x = m.tensor(a)
    lin = m.nn.Linear(6, 4)
    conv = m.nn.Conv1d(1, 2, 3)
    with m.no_grad():
        lin.weight.copy_(m.tensor(w))
        lin.bias.fill_(0.25)
        conv.weight.copy_(m.tensor(w[:2, :3].reshape(2, 1, 3)))
        conv.bias.zero_()
    out = {}
    with m.autocast(device_type="cpu", dtype=dtype):
        h = lin(x)
        out["linear"] = h
        out["softmax"] = F.softmax(h, dim=-1)
        out["relu"] = F.relu(h)
        out["matmul"] = x @ x.t()
        out["bmm"] = m.bmm(x[None], x.t()[None])
        out["addmm"] = m.addmm(m.zeros(5, 5), x, x.t())
        out["conv"] = conv(x[:, None, :])
        out["add_mixed"] = h + x[:, :4]
        out["f64"] = m.tensor(a, dtype=m.float64) @ m.tensor(a, dtype=m.float64).t()
        loss = F.cross_entropy(h, m.tensor(y))
        out["loss"] = loss
        out["mse"] = F.mse_loss(h, m.zeros(5, 4))
        out["enabled"] = m.is_autocast_enabled("cpu")
        out["autocast_dtype"] = str(m.get_autocast_dtype("cpu"))
        with m.autocast(device_type="cpu", enabled=False):
            out["inner_disabled"] = lin(x)
            out["inner_flag"] = m.is_autocast_enabled("cpu")
        out["after_inner"] = lin(x)
    loss.backward()
    out["weight_grad"] = lin.weight.grad
    out["bias_grad"] = lin.bias.grad
    out["outside"] = lin(x)
    out["enabled_after"] = m.is_autocast_enabled("cpu")
    return out


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_cpu_autocast_matches_torch(dtype, rng):
    a = rng.standard_normal((5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    y = rng.integers(0, 4, 5)
    t = _program(torch, a, w, y, getattr(torch, dtype))
    j = _program(jtorch, a, w, y, getattr(jtorch, dtype))
    assert list(j) == list(t)
    for k in t:
        if isinstance(t[k], torch.Tensor):
            # both round the same products to the narrow dtype; accumulation order may differ by an ulp
            assert_close(j[k], t[k], rtol=2e-2, atol=2e-2)
        else:
            assert j[k] == t[k], k


def test_autocast_as_decorator_and_cuda_without_gpu():
    @jtorch.autocast("cpu")
    def f(x):
        return jtorch.nn.functional.linear(x, x)
    assert f(jtorch.ones(2, 2)).dtype == jtorch.bfloat16
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ctx = jtorch.autocast("cuda")
    with ctx:
        assert not jtorch.is_autocast_enabled("cuda")
        assert (jtorch.ones(2, 2) @ jtorch.ones(2, 2)).dtype == jtorch.float32


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("in_dtype", ["float32", "bfloat16"])
def test_cpu_autocast_recurrent_modules(cls, in_dtype, rng):
    """nn.RNN and nn.LSTM are in torch's CPU lower-precision list (weights, input and states in bfloat16); GRU
    is not: it runs in its input's dtype."""
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    results = []
    for lib in (torch, jtorch):
        lib.manual_seed(0)
        m = getattr(lib.nn, cls)(4, 6, num_layers=2, batch_first=True)
        if lib is jtorch:
            m.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in results[0][0].items()})
        inp = lib.tensor(x).to(getattr(lib, in_dtype)).requires_grad_()
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out, state = m(inp)
        h = state[0] if cls == "LSTM" else state
        out.float().sum().backward()
        results.append((m.state_dict(), out, h, inp.grad, m.weight_ih_l0.grad))
    (_, t_out, t_h, t_gx, t_gw), (_, j_out, j_h, j_gx, j_gw) = results
    for j, t in ((j_out, t_out), (j_h, t_h), (j_gx, t_gx), (j_gw, t_gw)):
        assert str(j.dtype) == str(t.dtype)
        assert_close(j.float(), t.float(), rtol=0.05, atol=0.05)
