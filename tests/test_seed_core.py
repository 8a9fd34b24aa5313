"""The seed brief's tensor, operation, device and custom-Function snippets, verbatim,
run under `import jtorch as torch` and under real torch with the same outcome."""
import sys
import textwrap
import types

import numpy as np
import pytest
import torch as real_torch

import jtorch
from helpers import assert_close
from seed import section

CREATION = section("create them")

# glue: square float tensors so every line (elementwise, matmul, view(3, 4) on 12 elements) applies
OPS_GLUE = "x = torch.arange(16.).reshape(4, 4) / 7 + 1\ny = torch.arange(16.).reshape(4, 4).t() / 5 + 2\n"
OPS_ARITH = section("basic tensor operations", until="# Reshaping")
OPS_SHAPE_GLUE = "x = torch.arange(12.).reshape(3, 4) * 1.5\ny = torch.arange(12.).reshape(3, 4) - 4\n"
OPS_SHAPE = section("basic tensor operations", start="# Reshaping")
DEVICE = section("move tensors", until="# Move model to device")
CUSTOM_FN = section("gradients manually", start="# Custom autograd function")


def run(code, module, **env):
    """exec ``code`` with ``import torch`` resolving to ``module``."""
    saved = sys.modules.get("torch")
    sys.modules["torch"] = module
    try:
        ns = {"torch": module, **env}
        exec(textwrap.dedent(code), ns)
        return ns
    finally:
        sys.modules["torch"] = saved


def test_creation_section():
    j, t = run(CREATION, jtorch), run(CREATION, real_torch)
    for k in ["x", "zeros", "ones", "arange", "linspace", "tensor"]:
        assert_close(j[k], t[k])
    for k in ["rand", "randn", "randint"]:
        assert tuple(j[k].shape) == tuple(t[k].shape) and str(j[k].dtype) == str(t[k].dtype)


def _exprs(code):
    return [ln.split("#")[0].strip() for ln in code.splitlines() if ln.split("#")[0].strip()]


@pytest.mark.parametrize("glue,code", [(OPS_GLUE, OPS_ARITH), (OPS_SHAPE_GLUE, OPS_SHAPE)])
def test_operations_section(glue, code):
    j, t = run(glue, jtorch), run(glue, real_torch)
    for expr in _exprs(code):  # each line evaluated in order, results compared
        assert_close(eval(expr, j), eval(expr, t), rtol=1e-5, atol=1e-5)
    run(code, jtorch, **{k: v for k, v in run(glue, jtorch).items() if k in ("x", "y")})


def test_device_section():
    if jtorch.cuda.is_available():
        ns = run(DEVICE, jtorch)
        assert ns["x"].device.type == "cpu"
        return
    # without a GPU, x.cuda() raises torch's AssertionError in both
    for m in (jtorch, real_torch):
        if m is real_torch and real_torch.cuda.is_available():
            continue
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            run(DEVICE, m)
    code = DEVICE.replace("x = x.cuda()  # Move to GPU\n", "")
    j, t = run(code, jtorch), run(code, real_torch)
    assert_close(j["x"], t["x"])
    assert str(j["device"]) == str(t["device"]) == "cpu" and str(j["x"].device) == "cpu"


def test_custom_function_section(rng):
    a = rng.standard_normal(8).astype(np.float32)
    grads = []
    for m in (jtorch, real_torch):
        ns = run(CUSTOM_FN, m)
        x = m.tensor(a, requires_grad=True)
        y = ns["CustomFunction"].apply(x)
        (y * y).sum().backward()
        grads.append((y, x.grad))
    assert_close(grads[0], grads[1])
