"""jtorch.compile of a data-parallel train step runs as one SPMD program: over 8 virtual CPU devices
(nn.DataParallel, in a subprocess, see dp_worker.py) its results equal the 1-device step's."""
import pickle

import numpy as np

import jtorch as torch
from dist_procs import check_ok, run_workers
from ranks_worker import data, model
from spmd_run import run_group


def test_eight_devices():
    """Every "compile" check of dp_worker.py: compiled DataParallel steps (MLP + Adam, CNN with
    BatchNorm) equal the 1-device compiled and eager steps, take the batch sharded and the state
    replicated with the all-reduce inside the program, and mix with eager steps and new shapes."""
    run_group("compile")


def test_compiled_ddp_two_processes_equals_one_process(tmp_path):
    """2 processes over loopback (gloo): a DDP step compiled with jtorch.compile runs as one SPMD
    program (shard_map over the processes, DDP's gradient averaging a psum inside it); 20 steps on
    half batches give the parameters of 20 eager steps on the full batch in one process."""
    check_ok(run_workers("ranks_worker.py", [tmp_path], world=2, timeout=300))
    res = [pickle.load(open(tmp_path / f"rank{r}.pkl", "rb")) for r in range(2)]
    m = model()
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    X, Y = data()
    half_losses = []
    for x, y in zip(X, Y):
        xs, ys = torch.tensor(x), torch.tensor(y)
        with torch.no_grad():
            half_losses.append([((m(xs[r * 4:(r + 1) * 4]) - ys[r * 4:(r + 1) * 4]) ** 2).mean().item()
                                for r in range(2)])
        opt.zero_grad()
        ((m(xs) - ys) ** 2).mean().backward()
        opt.step()
    for r, got in enumerate(res):
        assert got["spmd"] and got["entries"] == 1, got
        assert "shard_map" in got["jaxpr"] and "psum" in got["jaxpr"]  # the averaging is in the program
        assert got["local"]  # parameters come back as this process's own arrays
        np.testing.assert_allclose(got["losses"], [h[r] for h in half_losses], rtol=1e-5, atol=1e-6)
        for a, b in zip(got["params"], m.parameters()):
            np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-5, atol=1e-6)
