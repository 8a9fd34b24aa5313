"""Checks run in a subprocess with 8 virtual CPU devices (the flag must be set before JAX starts).

Each check compares nn.DataParallel (or a compiled step on it) over several devices with the
same module on one device, in this process: the single-device result is the oracle. Prints
one JSON line {check name: "ok" or the failure}; tests/distributed/test_data_parallel.py and
test_spmd_compile.py turn each entry into a test.

Usage: python dp_worker.py [group]   (group: "dp" or "compile"; default both)
"""
import copy
import importlib
import json
import sys
import time
import traceback

import jax
import numpy as np

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

RNG = np.random.default_rng(1234)
CHECKS = {}


def check(group):
    def deco(fn):
        CHECKS[fn.__name__] = (group, fn)
        return fn
    return deco


def randn(*shape):
    return torch.tensor(RNG.standard_normal(shape).astype(np.float32))


def close(a, b, tol=1e-5, what=""):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)


def same_state(m1, m2, tol=1e-5):
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert list(s1) == list(s2)
    for k in s1:
        close(s1[k], s2[k], tol, k)


def n_shards(t):
    return len(t._value.devices())


def mlp():
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 5))


def cnn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(8 * 4 * 4, 6))


def twins(make):
    """The same freshly initialised module twice."""
    torch.manual_seed(7)
    a = make()
    return a, copy.deepcopy(a)


# ------------------------------------------------------------------ nn.DataParallel, eager
@check("dp")
def forward_backward_mlp():
    ref, m = twins(mlp)
    dp = nn.DataParallel(m)
    assert dp.module is m and dp.device_ids == list(range(8)) and dp.output_device == 0
    x = randn(16, 12)
    xr, xd = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = dp(xd)
    assert n_shards(out) == 1 and out.device == torch.device("cpu")  # gathered like torch
    exp = ref(xr)
    close(out, exp)
    w = randn(16, 5)
    (out * w).sum().backward()
    (exp * w).sum().backward()
    close(xd.grad, xr.grad, what="input grad")
    for (n, a), b in zip(m.named_parameters(), ref.parameters()):
        close(a.grad, b.grad, what=n)
        assert n_shards(a.grad) == 1  # reduced onto the parameter's device


@check("dp")
def train_mlp_adam():
    ref, m = twins(mlp)
    dp = nn.DataParallel(m)
    o1, o2 = torch.optim.Adam(ref.parameters(), lr=1e-2), torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(8):
        x, y = randn(32, 12), torch.tensor(RNG.integers(0, 5, 32))
        for model, opt, mod in ((ref, o1, ref), (dp, o2, m)):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        close(m[0].weight, ref[0].weight, 1e-5)
    same_state(m, ref)
    assert all(n_shards(p) == 1 for p in m.parameters())


@check("dp")
def train_cnn_batchnorm_dropout():
    # BatchNorm sees the whole batch (global statistics); dropout draws the same mask as on one device
    ref, m = twins(cnn)
    dp = nn.DataParallel(m)
    o1 = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    o2 = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    for step in range(4):
        x, y = randn(16, 3, 8, 8), torch.tensor(RNG.integers(0, 6, 16))
        for model, opt in ((ref, o1), (dp, o2)):
            torch.manual_seed(100 + step)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    same_state(m, ref, 1e-4)
    assert m[1].num_batches_tracked.item() == 4
    dp.eval()
    ref.eval()
    x = randn(8, 3, 8, 8)
    close(dp(x), ref(x), 1e-4)


@check("dp")
def uneven_and_small_batches():
    ref, m = twins(mlp)
    dp = nn.DataParallel(m)
    for b in (10, 3, 1, 24):  # 10 -> 5 devices, 3 -> 3, 1 -> a plain call, 24 -> 8
        x = randn(b, 12)
        close(dp(x), ref(x), what=f"batch {b}")


@check("dp")
def scatter_dim_kwargs_and_nested_outputs():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(6, 4)

        def forward(self, x, scale, *, bias=None, tag="t"):
            h = self.lin(x) * scale
            if bias is not None:
                h = h + bias
            return {"h": h, "pair": (h.sum(-1), tag), "n": 3}

    ref, m = twins(M)
    dp = nn.DataParallel(m, dim=1)
    x, bias = randn(3, 16, 6), randn(4)
    a = dp(x, 0.5, bias=bias, tag="z")
    b = ref(x, 0.5, bias=bias, tag="z")
    assert a["pair"][1] == "z" and a["n"] == 3
    close(a["h"], b["h"])
    close(a["pair"][0], b["pair"][0])
    a["h"].pow(2).sum().backward()
    b["h"].pow(2).sum().backward()
    close(m.lin.weight.grad, ref.lin.weight.grad)


@check("dp")
def device_ids_subset_and_functional():
    ref, m = twins(mlp)
    dp = nn.DataParallel(m, device_ids=[0, 2, 5], output_device=2)
    x = randn(9, 12)
    out = dp(x)
    close(out, ref(x))
    assert out.device == torch.device("cpu")  # on CPU every device is torch's "cpu" (device 0)
    y = nn.parallel.data_parallel(m, x, device_ids=[1, 3])
    close(y, ref(x))
    z = nn.parallel.data_parallel(m, (x,), module_kwargs={})
    close(z, ref(x))


@check("dp")
def state_dict_and_frozen_parameters():
    ref, m = twins(mlp)
    m[0].weight.requires_grad_(False)
    ref[0].weight.requires_grad_(False)
    dp = nn.DataParallel(m)
    sd = dp.state_dict()
    assert list(sd) == ["module." + k for k in m.state_dict()]
    x = randn(16, 12)
    dp(x).sum().backward()
    ref(x).sum().backward()
    assert m[0].weight.grad is None
    close(m[2].weight.grad, ref[2].weight.grad)
    fresh = nn.DataParallel(mlp())
    fresh.load_state_dict(sd)
    close(fresh(x), ref(x))


@check("dp")
def mesh_tensors_are_sane():
    # arrays spread over the mesh (a compiled data-parallel step leaves the state replicated)
    from jtorch import _spmd
    mesh = _spmd.mesh_of(_spmd.local_devices())
    v = RNG.standard_normal((8, 3)).astype(np.float32)
    rep = torch.from_jax(jax.device_put(v, _spmd.replicated(mesh)))
    split = torch.from_jax(jax.device_put(v, _spmd.split(mesh, 0)))
    for t in (rep, split):
        assert t.device == torch.device("cpu") and t.is_cpu and t.get_device() == -1
        np.testing.assert_array_equal(t.numpy(), v)
        np.testing.assert_array_equal(np.asarray(t), v)
        assert t.tolist() == v.tolist()
        assert t[1, 2].item() == float(v[1, 2])
        assert "tensor([[" in repr(t)
        c = t.cpu()
        assert n_shards(c) == 1
        np.testing.assert_array_equal(c.numpy(), v)
    # a tensor committed to the CPU device meets one spread over the mesh: both are torch's "cpu"
    one = torch.from_numpy(v.copy())
    assert n_shards(one) == 1
    close(one + split, 2 * v)
    close(one @ rep.T, v @ v.T)
    lin = nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.from_jax(jax.device_put(lin.weight.jax(), _spmd.replicated(mesh))))
    close(lin(one), v @ lin.weight.detach().numpy().T + lin.bias.detach().numpy())


# ------------------------------------------------------------------ jtorch.compile: one SPMD program
def compiled_program(step):
    """The one traced entry of a compiled step."""
    assert len(step.entries) == 1, len(step.entries)
    return next(iter(step.entries.values()))


def flat_inputs(step, args):
    """The arrays a compiled step's program takes: state, tensor arguments, learning rates."""
    jc = importlib.import_module("jtorch.compile")
    return ([st.array for st, _ in step.state] + [a._value for a in args]
            + [jc._scalar_array(g[k], step._device) for g, k in step._hyper()])


def run_training(model_fn, make_opt, wrap, compiled, batches, seed=None):
    torch.manual_seed(7)
    m = model_fn()
    model = nn.DataParallel(m) if wrap else m
    opt = make_opt(m.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    if compiled:
        step = torch.compile(step)
    losses = []
    for i, (x, y) in enumerate(batches):
        if seed is not None:
            torch.manual_seed(seed + i)
        losses.append(step(x, y).item())
    return m, np.array(losses), step


def batches_for(shape, classes, n):
    return [(randn(*shape), torch.tensor(RNG.integers(0, classes, shape[0]))) for _ in range(n)]


@check("compile")
def compiled_mlp_adam_equals_one_device():
    data = batches_for((32, 12), 5, 20)
    adam = lambda ps: torch.optim.Adam(ps, lr=1e-2)  # noqa: E731
    ref, l_ref, _ = run_training(mlp, adam, False, False, data)
    one, l_one, _ = run_training(mlp, adam, False, True, data)
    dp, l_dp, step = run_training(mlp, adam, True, True, data)
    assert all(n_shards(p) == 8 for p in dp.parameters())  # the state stays replicated between steps
    np.testing.assert_allclose(l_dp, l_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l_one, l_ref, rtol=1e-5, atol=1e-6)
    same_state(dp, ref, 1e-5)
    # one SPMD program: the batch enters sharded over the 8 devices, the state replicated, and the
    # gradient reduction (an all-reduce over the devices) is inside the program
    jitted = compiled_program(step).jitted.jitted  # under the CPU wait (see _spmd.cpu_safe)
    exe = jitted.lower(*flat_inputs(step, data[0])).compile()
    specs = [str(s.spec) for s in exe.input_shardings[0]]
    assert specs.count("P('dp',)") == 1, specs  # x; y meets the loss outside DataParallel
    assert all(len(s.device_set) == 8 for s in exe.input_shardings[0])
    assert "all-reduce" in exe.as_text()


@check("compile")
def compiled_cnn_batchnorm_equals_one_device():
    data = batches_for((16, 3, 8, 8), 6, 6)
    sgd = lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)  # noqa: E731
    ref, l_ref, _ = run_training(cnn, sgd, False, True, data, seed=50)
    dp, l_dp, step = run_training(cnn, sgd, True, True, data, seed=50)
    assert dp[1].running_var._value.devices() == set(jax.devices())  # state left on the mesh
    np.testing.assert_allclose(l_dp, l_ref, rtol=1e-4, atol=1e-5)
    same_state(dp, ref, 1e-4)


@check("compile")
def eager_after_compiled_and_new_batch_size():
    data = batches_for((16, 12), 5, 4) + batches_for((8, 12), 5, 2)
    sgd = lambda ps: torch.optim.SGD(ps, lr=0.1)  # noqa: E731
    ref, l_ref, _ = run_training(mlp, sgd, False, False, data)
    torch.manual_seed(7)
    m = mlp()
    dp = nn.DataParallel(m)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(dp(x), y)
        loss.backward()
        opt.step()
        return loss
    cstep = torch.compile(step)
    losses = [cstep(*data[i]).item() for i in range(3)]
    losses.append(step(*data[3]).item())  # eager, on the replicated state
    losses += [cstep(*b).item() for b in data[4:]]  # a new batch size: a new program
    np.testing.assert_allclose(losses, l_ref, rtol=1e-5, atol=1e-6)
    same_state(m, ref)
    x = randn(5, 12)
    close(m(x), ref(x))  # the plain module on a single-device input, state on the mesh


def main():
    group = sys.argv[1] if len(sys.argv) > 1 else None
    assert len(jax.devices()) == 8, jax.devices()
    results = {}
    for name, (g, fn) in CHECKS.items():
        if group and g != group:
            continue
        try:
            t0 = time.time()
            fn()
            results[name] = "ok"
            print(name, round(time.time() - t0, 1), file=sys.stderr)
        except Exception:  # noqa: BLE001  (reported per check)
            results[name] = traceback.format_exc()
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main()
