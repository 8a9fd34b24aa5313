"""GPU checks for jtorch (run on a machine with a GPU; prints a report).

    PYTHONPATH=. python scripts/gpu_check.py [--bench]

1. torch.cuda queries; .cuda()/.to('cuda') place data on the GPU; ops stay there; gradients
   flow back across devices.
2. An eager and a compiled training step on the GPU equal the same steps on the CPU.
3. --bench: training-step times on the GPU (MLP, CNN): jtorch eager/compiled, hand-written
   JAX+optax, and real torch (eager) when it is installed there.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import jtorch as torch  # noqa: E402
import jtorch.nn as nn  # noqa: E402


def check(name, cond):
    print(f"[{'ok' if cond else 'FAIL'}] {name}")
    return bool(cond)


def placement():
    ok = check("cuda.is_available", torch.cuda.is_available())
    print("   devices:", torch.cuda.device_count(), torch.cuda.get_device_name(0))
    x = torch.randn(4, 4)
    ok &= check("default tensors live on the CPU", x.device.type == "cpu")
    g = x.cuda()
    ok &= check("x.cuda() is on cuda:0", str(g.device) == "cuda:0" and g.is_cuda)
    y = (g @ g).relu().sum(1)
    ok &= check("ops on GPU tensors stay on the GPU", y.device.type == "cuda")
    ok &= check("GPU result equals CPU result", np.allclose(y.cpu().numpy(), (x @ x).relu().sum(1).numpy(),
                                                             rtol=1e-5, atol=1e-5))
    z = torch.ones(3, device="cuda")
    ok &= check("factory with device='cuda'", z.device.type == "cuda")
    r = torch.rand_like(z)
    ok &= check("rand_like follows the device", r.device.type == "cuda")
    w = torch.randn(5, requires_grad=True)
    (w.to("cuda") * 2).sum().backward()
    ok &= check("gradient flows back across devices", w.grad is not None and w.grad.device.type == "cpu"
                and np.allclose(w.grad.numpy(), 2))
    m = nn.Linear(3, 2).to("cuda")
    ok &= check("module.to('cuda') moves parameters", all(p.device.type == "cuda" for p in m.parameters()))
    return ok


def training_equal():
    def run(device, compiled):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(8 * 4 * 4, 10)).to(device)
        # SGD: Adam's normalised steps would amplify rounding differences (cuDNN may use TF32 for
        # convolutions, as torch does by default) into visible parameter differences
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        crit = nn.CrossEntropyLoss()

        def step(x, y):
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()
            return loss
        if compiled:
            step = torch.compile(step)
        torch.manual_seed(1)
        data = [(torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))) for _ in range(5)]
        losses = [step(x.to(device), y.to(device)).item() for x, y in data]
        return losses, [p.detach().cpu().numpy() for p in model.parameters()], model
    lc, pc, _ = run("cpu", False)
    ok = True
    for compiled in (False, True):
        lg, pg, model = run("cuda", compiled)
        ok &= check(f"{'compiled' if compiled else 'eager'} GPU training equals CPU "
                    f"(max param diff {max(np.abs(a - b).max() for a, b in zip(pg, pc)):.2e})",
                    np.allclose(lg, lc, rtol=1e-4, atol=1e-5)
                    and all(np.allclose(a, b, rtol=1e-3, atol=1e-4) for a, b in zip(pg, pc)))
        ok &= check("parameters stayed on the GPU", all(p.device.type == "cuda" for p in model.parameters()))
    return ok


def bench():
    import subprocess
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    # this process already holds most of the GPU's memory (XLA preallocates 75%): the children
    # allocate as they go, else cuDNN finds no workspace for the convolutions
    child_env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    for model in ("mlp", "cnn"):
        for config in ("jtorch-compile", "jax", "torch-eager"):
            out = subprocess.run([sys.executable, "-m", "bench.run", "--one", model, config, "50", "5", "--device",
                                  "cuda"], cwd=root, capture_output=True, text=True, timeout=300,
                                 env=child_env)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
            print(f"   {model:5s} {config:15s}", line[-1][7:] if line else (out.stderr.strip().splitlines() or
                                                                         ["failed"])[-1][:150])


if __name__ == "__main__":
    t = time.time()
    ok = placement() and training_equal()
    if "--bench" in sys.argv:
        bench()
    print("ALL OK" if ok else "SOME CHECKS FAILED", f"({time.time() - t:.0f}s)")
