"""nn.DataParallel on the GPUs of a GPU machine (prints a report; exit status 1 on a failure).

    PYTHONPATH=. python scripts/dp_gpu_check.py

Trains the same MLP with nn.DataParallel over every GPU (eager, then compiled) from CPU inputs,
as torch users do, and compares with the same steps on the CPU. With one GPU, DataParallel is a
plain call on cuda:0 (torch's behaviour); with several, one SPMD program over them.
"""
import copy
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import jtorch as torch  # noqa: E402
import jtorch.nn as nn  # noqa: E402
import jtorch.nn.functional as F  # noqa: E402


def train(model, params, compiled, data, on_gpu):
    opt = torch.optim.Adam(params, lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y.cuda() if on_gpu else y)
        loss.backward()
        opt.step()
        return loss
    if compiled:
        step = torch.compile(step)
    return [step(x, y).item() for x, y in data]


def main():
    n = torch.cuda.device_count()
    print(f"GPUs: {n} ({torch.cuda.get_device_name(0) if n else 'none'})")
    rng = np.random.default_rng(0)
    data = [(torch.tensor(rng.standard_normal((64, 20)).astype(np.float32)), torch.tensor(rng.integers(0, 4, 64)))
            for _ in range(6)]
    ok = True
    for compiled in (False, True):
        torch.manual_seed(0)
        ref = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
        m = copy.deepcopy(ref).cuda()
        dp = nn.DataParallel(m)
        l_ref = train(ref, ref.parameters(), compiled, data, False)
        l_dp = train(dp, m.parameters(), compiled, data, True)
        out = dp(data[0][0])
        good = (np.allclose(l_dp, l_ref, rtol=1e-4, atol=1e-5)
                and all(np.allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
                        for a, b in zip(m.parameters(), ref.parameters()))
                and out.device == torch.device("cuda", 0) and all(p.device.type == "cuda" for p in m.parameters()))
        print(f"[{'ok' if good else 'FAIL'}] DataParallel over {n} GPU(s), {'compiled' if compiled else 'eager'}: "
              f"losses and parameters equal the CPU run; output on {out.device}")
        ok &= good
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
