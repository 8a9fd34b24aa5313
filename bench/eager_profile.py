"""Where an eager training step's time goes: ms per step, ops dispatched per step, and a profile.

    python -m bench.eager_profile [--device cuda] [--model mlp|cnn] [--steps 50] [--lazy] [--torch]

Times eager steps of bench/models.py's model (minimum of rounds, each ended by reading the loss),
counts the ops jtorch dispatches per step (``_dispatch.apply`` calls), and prints the top of a
cProfile of 20 steps. ``--lazy`` turns lazy batching on even where jtorch keeps it off (a GPU: an
experiment, see jtorch/_lazy.py); ``--torch`` times real torch's eager step alongside when it is
installed.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _steps(torch, model, device):
    from bench.models import SPECS, build_on
    _, _, step = build_on(torch, model, device)
    make_input, batch = SPECS[model][2:]
    data = [tuple(t.to(device) for t in make_input(torch, batch)) for _ in range(2)]
    return lambda i: step(*data[i % 2])


def _time(step, n, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for i in range(n):
            loss = step(i)
        loss.item()
        best = min(best, (time.perf_counter() - t) / n * 1e3)
    return best


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--lazy", action="store_true")
    p.add_argument("--torch", action="store_true")
    a = p.parse_args(argv)
    import jtorch as torch
    from jtorch import _dispatch, _lazy
    if a.lazy:
        _lazy._backend_ok = lambda: True
        print("lazy batching:", _lazy.set_enabled(True), "max size", _lazy.MAX_SIZE)
    step = _steps(torch, a.model, a.device)
    t0 = time.perf_counter()
    for i in range(3):
        step(i).item()
    warm = time.perf_counter() - t0
    if a.lazy:  # until the segments repeat and compile
        for i in range(3 * _lazy.COMPILE_AFTER):
            step(i).item()
        _lazy.wait_background()
    calls = {"n": 0}
    apply0 = _dispatch.apply

    def counted(*xs, **kw):
        calls["n"] += 1
        return apply0(*xs, **kw)
    _dispatch.apply = counted
    step(0).item()
    _dispatch.apply = apply0
    ms = _time(step, a.steps)
    print(f"jtorch eager {a.model} on {a.device}{' (lazy)' if a.lazy else ''}: {ms:.3f} ms/step "
          f"(warm-up 3 steps {warm:.1f} s), {calls['n']} ops dispatched per step", flush=True)
    if a.lazy:
        print("  lazy stats:", _lazy.STATS)
    if a.torch:
        try:
            import importlib
            sys.modules.pop("torch", None)
            real = importlib.import_module("torch")
            if not hasattr(real, "cuda") or real.__name__ != "torch":
                raise ImportError
            tstep = _steps(real, a.model, a.device)
            for i in range(5):
                tstep(i)
            tms = _time(tstep, a.steps)
            print(f"torch {real.__version__} eager: {tms:.3f} ms/step; jtorch / torch {ms / tms:.2f}x", flush=True)
        except Exception as e:  # noqa: BLE001 - the oracle is optional here
            print("torch eager: not measured:", type(e).__name__, e)
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    for i in range(20):
        loss = step(i)
    loss.item()
    prof.disable()
    st = pstats.Stats(prof)
    st.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
