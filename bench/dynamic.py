"""Per-call cost of Python numbers in a compiled step (jtorch.compile's dynamic scalars and replayed
Python writes), against the same step without them, in one process:

    python -m bench.dynamic [--model tiny|mlp] [--rounds 10] [--calls 200]

Rows (us per call, minimum over interleaved rounds): the plain compiled step; the step with a float
argument that changes every call (a traced input); with a counter it increments (``stats["n"] += 1``:
an input, and the new count recomputed in Python after the call); with ``g["lr"] = lr`` from an
argument (written back into the param group); and the plain step eagerly, for scale.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="tiny", choices=["mlp", "tiny"])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--calls", type=int, default=200)
    a = p.parse_args(argv)
    import jtorch as torch
    from bench.models import SPECS
    nn = torch.nn
    torch.manual_seed(0)
    if a.model == "tiny":  # small enough that the per-call work is most of the step
        net, batch, feat = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), 4, 8
    else:
        net, batch, feat = SPECS["mlp"][0](torch), 128, 784
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    stats = {"n": 0}

    def plain(x, y):
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
        return loss

    def scaled(x, y, scale):
        opt.zero_grad()
        loss = crit(net(x), y) * scale
        loss.backward()
        opt.step()
        return loss

    def counted(x, y):
        stats["n"] += 1
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
        return loss

    def with_lr(x, y, lr):
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
        return loss
    x = torch.randn(batch, feat)
    y = torch.randint(0, 4, (batch,))
    rows = {
        "compiled step": (torch.compile(plain), lambda f, i: f(x, y)),
        "+ float argument (new value each call)": (torch.compile(scaled), lambda f, i: f(x, y, 1.0 + i * 1e-6)),
        "+ counter stats['n'] += 1": (torch.compile(counted), lambda f, i: f(x, y)),
        "+ g['lr'] = lr argument": (torch.compile(with_lr), lambda f, i: f(x, y, 1e-3 * (1 + i * 1e-6))),
        "eager step": (plain, lambda f, i: f(x, y)),
    }
    for f, call in rows.values():  # warm up: discovery, traces, compiles
        for i in range(8):
            call(f, i)
        call(f, 0).item()
    best = {k: float("inf") for k in rows}
    n = 0
    for _ in range(a.rounds):
        for k, (f, call) in rows.items():
            t = time.perf_counter()
            for i in range(a.calls):
                out = call(f, n + i)
            out.item()
            best[k] = min(best[k], (time.perf_counter() - t) / a.calls * 1e6)
            n += a.calls
    for k, (f, _) in rows.items():
        extra = f" ({f.compiles} programs)" if hasattr(f, "compiles") else ""
        print(f"{k:42s} {best[k]:9.1f} us  {best[k] / best['compiled step']:5.2f}x{extra}")


if __name__ == "__main__":
    main()
