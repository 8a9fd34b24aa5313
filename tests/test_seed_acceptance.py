"""Seed acceptance: the seed brief's snippets, verbatim, assembled into one program with the
minimal glue a user would add (a dataset, a model input shape, a few epochs), run as a plain
PyTorch script twice — under `python -m jtorch run` and under real torch — with the same
outcome: no exception, the loss goes down, accuracy is computed, checkpoints round-trip."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from seed import section

GLUE_HEAD = '''
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
np.random.seed(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
results = {}
'''

# ---- the seed's sections, verbatim (tests/seed.py), with glue between them
SEED_NETWORK = section("main components")

# ---- verbatim: data loading
SEED_DATASET = section("data loading", until="# Create data loader")

# glue: inputs of shape (1, 6, 204) give conv1 -> (20, 2, 200), maxpool -> (20, 1, 100), fc1 -> (20, 1, 50):
# a K-dimensional classification output (classes along dim 1) for CrossEntropyLoss
GLUE_DATA = '''
g = np.random.RandomState(0)
data = torch.tensor(g.randn(96, 1, 6, 204).astype(np.float32))
labels = torch.tensor(g.randint(0, 20, (96, 1, 50)))
'''

SEED_LOADER = section("data loading", start="# Create data loader", until="# Built-in datasets")

GLUE_MODEL = '''
model = MyNetwork()
MyModel = MyNetwork
train_loader = test_loader = loader
num_epochs = 3
'''

# ---- verbatim: device management (model part), loss functions and optimizers
SEED_DEVICE_MODEL = section("move tensors", start="# Move model to device")

SEED_LOSS_OPT = section("loss functions and optimizers")

GLUE_CRITERION = '''
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)
'''

# ---- verbatim: training loop and evaluation
SEED_TRAIN = section("training loop")

SEED_EVAL = section("model evaluation")

GLUE_RUN = '''
before, _ = evaluate_model(model, test_loader, criterion)
train_model(model, train_loader, criterion, optimizer, num_epochs)
after, accuracy = evaluate_model(model, test_loader, criterion)
results.update(before=before, after=after, accuracy=accuracy)
epoch, loss = num_epochs, after
os.chdir(sys.argv[1])
'''

# ---- verbatim: saving and loading
SEED_SAVE_LOAD = section("save and load")

# ---- verbatim: custom loss, early stopping, manual gradients
SEED_CUSTOM_LOSS = section("custom loss")

SEED_EARLY = section("early stopping")

GLUE_TAIL = '''
after_load, acc_load = evaluate_model(model, test_loader, nn.CrossEntropyLoss())
results.update(after_load=after_load, epoch=epoch, loss=float(loss))
pred = torch.ones(4, 3) * 0.5
target = torch.zeros(4, 3)
results.update(custom=float(CustomLoss()(pred, target)), custom_fn=float(custom_loss(pred, target)))
stopper = EarlyStopping(patience=2)
for v in [1.0, 0.9, 0.95, 0.97]:
    stopper(v)
results.update(early_stop=stopper.early_stop)
optimizer.zero_grad()
criterion(model(data[:8]), labels[:8]).backward()
'''

SEED_GRADS = section("gradients manually", until="# Custom autograd function")

GLUE_END = '''
results.update(names=[n for n, _ in model.named_parameters()],
               grad_norm=float(sum(p.grad.norm() ** 2 for p in model.parameters() if p.grad is not None) ** 0.5))
print("RESULTS " + json.dumps(results))
'''

PROGRAM = "\n".join(textwrap.dedent(p) for p in [
    GLUE_HEAD, SEED_NETWORK, SEED_DATASET, GLUE_DATA, SEED_LOADER, GLUE_MODEL, SEED_DEVICE_MODEL, SEED_LOSS_OPT,
    GLUE_CRITERION, SEED_TRAIN, SEED_EVAL, GLUE_RUN, SEED_SAVE_LOAD, SEED_CUSTOM_LOSS, SEED_EARLY, GLUE_TAIL,
    SEED_GRADS, GLUE_END])


def _run(cmd, cwd):
    env = dict(os.environ)
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert line, out.stdout[-2000:]
    return json.loads(line[-1][8:]), out.stdout


def test_seed_program_runs_under_jtorch_and_torch(tmp_path):
    script = tmp_path / "seed_program.py"
    script.write_text(PROGRAM)
    jdir, tdir = tmp_path / "j", tmp_path / "t"
    jdir.mkdir()
    tdir.mkdir()
    rj, outj = _run([sys.executable, "-m", "jtorch", "run", str(script), str(jdir)], tmp_path)
    rt, outt = _run([sys.executable, str(script), str(tdir)], tmp_path)
    for r in (rj, rt):
        assert r["after"] < r["before"]  # training lowered the loss
        assert 0 <= r["accuracy"] and r["epoch"] == 3
        assert abs(r["after_load"] - r["after"]) < 1e-4  # the checkpoint round-tripped
        assert r["custom"] == pytest.approx(0.25) and r["custom_fn"] == pytest.approx(0.25)
        assert r["early_stop"] is True
        assert r["grad_norm"] <= 1.0 + 1e-4  # clip_grad_norm_ clipped
    assert rj["names"] == rt["names"]
    assert outj.count("Epoch ") == outt.count("Epoch ") == 3
    assert (jdir / "model.pth").exists() and (jdir / "checkpoint.pth").exists()
