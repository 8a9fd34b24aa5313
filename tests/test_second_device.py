"""Code paths that only a GPU machine takes, checked here with a second virtual CPU device standing in
for cuda:0 (in a subprocess: the device count is fixed when XLA starts). Found on an H100: copy_ /
load_state_dict from CPU tensors moved a GPU parameter to the CPU; a compiled step whose RNG key was
still on the CPU beside GPU parameters failed with JAX's incompatible-devices error."""
import os
import subprocess
import sys
import textwrap

FAKE_GPU = '''
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import jax
import jtorch as torch
import jtorch._device as D
import jtorch.cuda
cpu = jax.devices("cpu")
D.gpu_devices = lambda: (cpu[1],)
_from = D.from_jax_device
D.from_jax_device = lambda jd: D.device("cuda", 0) if jd == cpu[1] else _from(jd)
import sys
for m in list(sys.modules.values()):
    if getattr(m, "__name__", "").startswith("jtorch") and getattr(m, "from_jax_device", None) is _from:
        m.from_jax_device = D.from_jax_device
jtorch.cuda.is_available = lambda: True
def on_gpu(t):
    return t._value.devices() == {cpu[1]}
'''


def run(body):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", FAKE_GPU + textwrap.dedent(body)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_copy_and_load_state_dict_keep_the_parameters_device():
    run('''
    import numpy as np
    conv = torch.nn.Conv2d(3, 8, 4).to("cuda")
    assert on_gpu(conv.weight)
    w = np.random.default_rng(0).standard_normal((8, 3, 4, 4)).astype(np.float32)
    conv.load_state_dict({"weight": torch.from_numpy(w), "bias": torch.zeros(8)})
    assert on_gpu(conv.weight) and on_gpu(conv.bias)
    assert np.array_equal(conv.weight.detach().cpu().numpy(), w)
    p = torch.zeros(3, requires_grad=True)
    q = torch.zeros(3).to("cuda")
    q.copy_(p * 2)
    assert on_gpu(q)
    conv(torch.randn(2, 3, 8, 8).to("cuda")).sum().backward()
    ''')


def test_compiled_step_with_the_rng_key_on_the_cpu_and_parameters_on_the_gpu():
    run('''
    import jtorch.nn as nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2)).to("cuda")
    opt = torch.optim.Adam(m.parameters(), lr=0.01)

    @torch.compile
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss
    for i in range(5):
        loss = step(torch.randn(6, 4).to("cuda"), torch.randint(0, 2, (6,)).to("cuda"))
        assert on_gpu(loss)
    assert all(on_gpu(p) for p in m.parameters())
    ''')


def test_python_numbers_reach_gpu_ops_as_cached_buffers_on_that_device():
    # jit would send each Python number to the device at every call (~90 us each on an H100
    # machine): eager ops and optimizer steps pass buffers committed to their tensors' device instead
    run('''
    import numpy as np
    from jtorch import _dispatch
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    g, c = torch.from_numpy(x).to("cuda"), torch.from_numpy(x)
    for f in (lambda t: t * 0.5 + 2, lambda t: t.clamp(min=-0.25), lambda t: (t - 0.0) / 3, lambda t: t * -0.0):
        a, b = f(g), f(c)
        assert on_gpu(a) and np.array_equal(a.cpu().numpy(), b.numpy())
    assert _dispatch._SCALAR_CACHE_ON[0] == "device"
    assert any(k[2] == cpu[1] and v.committed and v.devices() == {cpu[1]} for k, v in _dispatch._SCALARS.items())
    assert np.signbit((g.abs() * -0.0).cpu().numpy()).all() and not np.signbit((g.abs() * 0.0).cpu().numpy()).any()
    m = torch.nn.Linear(4, 2).to("cuda")
    ref = torch.nn.Linear(4, 2)
    ref.load_state_dict(m.state_dict())
    for net in (m, ref):
        opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=0.0)
        for _ in range(3):
            opt.zero_grad()
            net(torch.from_numpy(x).to(net.weight.device)).pow(2).sum().backward()
            opt.step()
    assert on_gpu(m.weight)
    assert np.allclose(m.weight.detach().cpu().numpy(), ref.weight.detach().numpy(), rtol=1e-6, atol=1e-7)
    ''')
