"""The seed's optimizer, scheduler, training-loop and early-stopping snippets, verbatim, run
with ``torch`` bound to jtorch and to real torch on the same model and data."""
import io
import textwrap

import numpy as np
import torch as real_torch

import jtorch
from tests.seed import section

SEED_OPTIMIZERS = section("loss functions and optimizers")

SEED_TRAIN = section("training loop")

SEED_EARLY_STOPPING = section("early stopping")


def _run(lib, weights, data, capsys):
    ns = {"torch": lib, "nn": lib.nn, "device": "cpu"}
    model = lib.nn.Linear(4, 3)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(weights[0]))
        model.bias.copy_(lib.tensor(weights[1]))
    ns["model"] = model
    # ``import torch.optim as optim`` inside the snippet must resolve to ``lib``'s optim
    exec_globals = dict(ns, __builtins__=__builtins__)
    src = SEED_OPTIMIZERS.replace("import torch.optim as optim", "optim = torch.optim")
    exec(textwrap.dedent(src), exec_globals)
    exec(SEED_TRAIN, exec_globals)
    exec(SEED_EARLY_STOPPING, exec_globals)
    optimizer, scheduler = exec_globals["optimizer"], exec_globals["scheduler"]
    assert type(optimizer).__name__ == "RMSprop" and type(scheduler).__name__ == "ReduceLROnPlateau"
    loader = [(lib.tensor(x), lib.tensor(y)) for x, y in data]
    criterion = lib.nn.MSELoss()
    stopper = exec_globals["EarlyStopping"](patience=3)
    lrs, losses = [], []
    capsys.readouterr()
    for epoch in range(12):
        exec_globals["train_model"](model, loader, criterion, optimizer, 1)
        val = float(sum(criterion(model(x), y).item() for x, y in loader) / len(loader))
        scheduler.step(val)
        stopper(val)
        lrs.append(optimizer.param_groups[0]["lr"])
        losses.append(val)
        if stopper.early_stop:
            break
    printed = capsys.readouterr().out
    return model.weight.detach().numpy(), lrs, losses, printed, optimizer


def test_seed_optimizer_scheduler_training_and_early_stopping(rng, capsys):
    weights = (rng.standard_normal((3, 4)).astype(np.float32) * 0.5, rng.standard_normal(3).astype(np.float32))
    data = [(rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32))
            for _ in range(4)]
    tw, tl, tloss, tout, topt = _run(real_torch, weights, data, capsys)
    jw, jl, jloss, jout, jopt = _run(jtorch, weights, data, capsys)
    np.testing.assert_allclose(jw, tw, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jloss, tloss, rtol=1e-4)
    assert jl == tl
    assert jout == tout and "Epoch 1, Loss:" in jout
    assert len(jopt.state_dict()["state"]) == 2


def test_seed_checkpoint_optimizer_state_dict(rng):
    # 'optimizer_state_dict': optimizer.state_dict() ... optimizer.load_state_dict(checkpoint[...])
    model = jtorch.nn.Linear(4, 2)
    optimizer = jtorch.optim.Adam(model.parameters(), lr=0.01)
    x = jtorch.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    for _ in range(3):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
    buf = io.BytesIO()
    jtorch.save({'epoch': 3, 'model_state_dict': model.state_dict(),
                 'optimizer_state_dict': optimizer.state_dict(), 'loss': 0.5}, buf)
    buf.seek(0)
    checkpoint = jtorch.load(buf)
    model2 = jtorch.nn.Linear(4, 2)
    model2.load_state_dict(checkpoint['model_state_dict'])
    optimizer2 = jtorch.optim.Adam(model2.parameters(), lr=0.01)
    optimizer2.load_state_dict(checkpoint['optimizer_state_dict'])
    for m, o in ((model, optimizer), (model2, optimizer2)):
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()
    np.testing.assert_allclose(model2.weight.detach().numpy(), model.weight.detach().numpy(), rtol=1e-6)
    # and the checkpoint is readable by real torch
    buf.seek(0)
    tck = real_torch.load(buf, weights_only=True)
    assert float(tck['optimizer_state_dict']['state'][0]['step']) == 3.0
