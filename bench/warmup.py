"""Where the first training steps' time goes: wall time and XLA compilations per call.

    python -m bench.warmup [--device cuda] [--model mlp|cnn|transformer] [--calls 4]

jtorch's first eager call compiles each distinct op once (many small XLA programs); a compiled
step's first call is that eager call (it finds the state), the second traces and compiles the
whole step. On a GPU every XLA compilation costs far more than on a CPU, so the warm-up there is
mostly compilation; this shows how much, per call, for eager and compiled steps.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="mlp")
    p.add_argument("--calls", type=int, default=4)
    p.add_argument("--mode", choices=["eager", "compiled"], help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.mode is None:  # each mode in a fresh process: no op compiled by the other
        import subprocess
        print(f"{a.model} on {a.device}: per call, wall seconds / XLA compilations (their seconds)", flush=True)
        for mode in ("eager", "compiled"):
            subprocess.run([sys.executable, "-m", "bench.warmup", "--device", a.device, "--model", a.model,
                            "--calls", str(a.calls), "--mode", mode], check=True,
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return
    from jax._src import monitoring

    import jtorch as torch
    from bench.models import SPECS, build_on
    seen = {"n": 0, "s": 0.0}

    def listen(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            seen["n"] += 1
            seen["s"] += duration
    monitoring.register_event_duration_secs_listener(listen)
    make_input, batch = SPECS[a.model][2:]
    compiled = a.mode == "compiled"
    net, opt, step = build_on(torch, a.model, a.device)
    data = [tuple(t.to(a.device) for t in make_input(torch, batch)) for _ in range(2)]
    fn = torch.compile(step) if compiled else step
    cells = []
    for i in range(a.calls):
        n0, s0, t0 = seen["n"], seen["s"], time.perf_counter()
        fn(*data[i % 2]).item()
        cells.append(f"{time.perf_counter() - t0:6.2f}s / {seen['n'] - n0:3d} ({seen['s'] - s0:5.2f}s)")
    print(f"  {a.mode:9s}", " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
