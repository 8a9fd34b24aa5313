"""The seed's network-components and manual-gradient snippets, verbatim, on jtorch;
results compared with the same snippets on torch."""
import contextlib
import io

import numpy as np

import jtorch
from tests.helpers import assert_close
from tests.seed import section

# /work/shared/seed/000_c233f3dd23c206ae.txt, "Basic neural network components" (its
# `import torch.nn as nn` line is the namespace we run it in)
NETWORK = section("main components", start="class MyNetwork")

# "How do you handle gradients manually?" (the clipping and named_parameters part)
MANUAL_GRADS = section("gradients manually", until="# Custom autograd function")


def _namespace(torch_mod):
    ns = {"torch": torch_mod, "nn": torch_mod.nn}
    exec(NETWORK, ns)
    return ns


def test_seed_network_components_and_manual_gradients(rng):
    import torch
    tns, jns = _namespace(torch), _namespace(jtorch)
    tmodel, jmodel = tns["MyNetwork"](), jns["MyNetwork"]()
    assert repr(jmodel) == repr(tmodel)
    assert list(jmodel.state_dict()) == list(tmodel.state_dict())
    jmodel.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    # fc1 acts on the last dimension: width 204 -> conv 200 -> pool 100
    x = rng.standard_normal((2, 1, 12, 204)).astype(np.float32)
    tout, jout = tmodel(torch.from_numpy(x)), jmodel(jtorch.tensor(x))
    assert tuple(jout.shape) == (2, 20, 4, 50)
    assert_close(jout, tout, rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(tuple(tout.shape)).astype(np.float32)
    (tout * torch.from_numpy(g)).sum().backward()
    (jout * jtorch.tensor(g)).sum().backward()
    outputs = {}
    for name, mod, model in (("t", torch, tmodel), ("j", jtorch, jmodel)):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(MANUAL_GRADS, {"torch": mod, "model": model})
        outputs[name] = buf.getvalue()
    tparams = dict(tmodel.named_parameters())
    for name, p in jmodel.named_parameters():
        if tparams[name].grad is None:
            assert p.grad is None
        else:
            assert_close(p.grad, tparams[name].grad, rtol=1e-4, atol=1e-5)
    # the printed names (and None grads of unused layers) are the same
    tlines = [ln.split(" ")[0] for ln in outputs["t"].splitlines() if ln and not ln.startswith(" ")]
    jlines = [ln.split(" ")[0] for ln in outputs["j"].splitlines() if ln and not ln.startswith(" ")]
    assert jlines == tlines
    assert "batchnorm.weight None" in outputs["j"]
    # every component of the network also runs on its own
    y = jmodel.tanh(jmodel.sigmoid(jmodel.avgpool(jmodel.batchnorm(jmodel.dropout(jtorch.randn(2, 20, 8, 8))))))
    assert tuple(y.shape) == (2, 20, 4, 4)


def test_small_cnn_training_trajectory_matches_torch(rng):
    """A LeNet-style model trained a few SGD steps from the same weights gives torch's losses."""
    import torch

    def make(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                             nn.Linear(24, 10), nn.LogSoftmax(dim=1))

    tm, jm = make(torch.nn), make(jtorch.nn)
    jm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    jopt = jtorch.optim.SGD(jm.parameters(), lr=0.1, momentum=0.9)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    for _ in range(4):
        for m, opt, lib in ((tm, topt, torch), (jm, jopt, jtorch)):
            opt.zero_grad()
            out = m(lib.tensor(x))
            loss = -out[lib.arange(8), lib.tensor(y)].mean()
            loss.backward()
            opt.step()
            if lib is torch:
                tl = loss.item()
            else:
                jl = loss.item()
        assert abs(jl - tl) < 1e-4 * max(1.0, abs(tl))
    for (n, tp), (jn, jp) in zip(tm.state_dict().items(), jm.state_dict().items()):
        assert n == jn
        assert_close(jp, tp, rtol=1e-3, atol=1e-4)
