"""nn.DataParallel: over 8 virtual CPU devices (in a subprocess, see dp_worker.py) its results
equal the same module's on one device; here (one device) a plain call and torch's errors."""
import copy
import io

import numpy as np
import pytest

import jtorch as torch
import jtorch.nn as nn
from spmd_run import run_group


def test_eight_devices():
    """Every "dp" check of dp_worker.py: forward/backward, MLP + Adam and CNN (BatchNorm, dropout)
    training, uneven batches, dim=1 with kwargs and nested outputs, device_ids, state_dict, frozen
    parameters, and tensors spread over the mesh (device, printing, numpy, cpu, mixing)."""
    run_group("dp")


def _pair(rng):
    torch.manual_seed(3)
    m = nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 2))
    x = torch.tensor(rng.standard_normal((6, 5)).astype(np.float32))
    return m, x


def test_one_device_is_a_plain_call(rng):
    m, x = _pair(rng)
    dp = nn.DataParallel(m)
    assert dp.module is m and dp.device_ids == [0] and dp.output_device == 0 and dp.dim == 0
    assert isinstance(dp, nn.parallel.DataParallel)
    out = dp(x)
    np.testing.assert_array_equal(out.detach().numpy(), m(x).detach().numpy())
    out.sum().backward()
    g = m[0].weight.grad.clone()
    m.zero_grad()
    m(x).sum().backward()
    np.testing.assert_array_equal(g.numpy(), m[0].weight.grad.numpy())
    assert list(dp.state_dict()) == ["module." + k for k in m.state_dict()]
    np.testing.assert_array_equal(nn.parallel.data_parallel(m, x).detach().numpy(), m(x).detach().numpy())
    twin = copy.deepcopy(dp)  # DataParallel deep-copies and pickles like any module
    np.testing.assert_array_equal(twin(x).detach().numpy(), m(x).detach().numpy())
    buf = io.BytesIO()
    torch.save(dp, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=False)
    assert isinstance(back, nn.DataParallel) and back.device_ids == [0]
    np.testing.assert_array_equal(back(x).detach().numpy(), m(x).detach().numpy())


def test_bad_arguments(rng):
    m, x = _pair(rng)
    with pytest.raises(RuntimeError, match="Invalid device id 3"):
        nn.DataParallel(m, device_ids=[0, 3])
    with pytest.raises(RuntimeError, match="Invalid device id 1"):
        nn.DataParallel(m, output_device=1)
    with pytest.raises(RuntimeError, match="no available devices"):
        nn.DataParallel(m, device_ids=[])
    with pytest.raises(TypeError, match="dim must be an int"):
        nn.DataParallel(m, dim="0")
    with pytest.raises(TypeError, match="device_ids must hold integers"):
        nn.DataParallel(m, device_ids=[0.5])
    with pytest.raises(RuntimeError, match="Invalid device id 2"):
        nn.parallel.data_parallel(m, x, device_ids=[2])
