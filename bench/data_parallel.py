"""Data-parallel scaling: a compiled nn.DataParallel train step on 1, 2 and 4 devices.

    python -m bench --only dp                # virtual CPU devices (or: python -m bench.data_parallel)
    python -m bench --only dp --device cuda  # the GPUs (as many of 1, 2, 4 as there are)

Weak scaling: every device gets the same per-device batch, so n devices do n times the work
of one. Scaling efficiency = n * t1 / tn (t1, tn: step times on 1 and n devices): 1.00 means
n devices finish n times the work in the time one device takes for its share; 1/n means no
gain at all. Each device count runs in its own subprocess because the number of virtual CPU
devices (XLA_FLAGS=--xla_force_host_platform_device_count) is fixed when JAX starts. Virtual
CPU devices share the machine's cores: on a CPU they show the SPMD program's overhead, not
more hardware.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PER_DEVICE_BATCH = {"mlp": 128, "cnn": 32}
STEPS = {"mlp": 60, "cnn": 20}
COUNTS = (1, 2, 4)
CONFIGS = ("jtorch", "jax")  # jtorch: compiled nn.DataParallel step; jax: the same step in JAX + optax


def _run_one(model, n, steps, warm, device):
    """In a subprocess with ``n`` devices: ms per compiled DataParallel step."""
    sys.path.insert(0, ROOT)
    import jtorch as torch
    from bench.models import SPECS
    build, make_opt, make_input, _ = SPECS[model]
    torch.manual_seed(0)
    net = build(torch).to(device)
    dp = torch.nn.DataParallel(net, device_ids=list(range(n)))
    opt = make_opt(torch, net.parameters())
    crit = torch.nn.CrossEntropyLoss()
    data = [tuple(t.to(device) for t in make_input(torch, PER_DEVICE_BATCH[model] * n)) for _ in range(4)]

    @torch.compile
    def step(x, y):
        opt.zero_grad()
        loss = crit(dp(x), y)
        loss.backward()
        opt.step()
        return loss
    t0 = time.perf_counter()
    for i in range(warm):
        loss = step(*data[i % 4])
    loss.item()
    t1 = time.perf_counter()
    for i in range(steps):
        loss = step(*data[i % 4])
    final = loss.item()
    t2 = time.perf_counter()
    return {"ms": (t2 - t1) / steps * 1e3, "warmup_s": t1 - t0, "loss": final}


def _run_jax(model, n, steps, warm, device):
    """The same step hand-written in JAX + optax, data sharded and state replicated over n devices."""
    sys.path.insert(0, ROOT)
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jtorch as torch
    from bench.jax_ref import REF, make_step, split_state
    from bench.models import SPECS
    apply, opt_f, layout = REF[model]
    torch.manual_seed(0)
    params, bufs = split_state(SPECS[model][0](torch))  # the jtorch model's initial weights
    if layout is not None:
        params = layout(params)
    devs = jax.devices("gpu" if device == "cuda" else "cpu")[:n]
    mesh = Mesh(np.array(devs), ("dp",))
    rep, split = NamedSharding(mesh, P()), NamedSharding(mesh, P("dp"))
    opt = opt_f()
    params, bufs = jax.device_put(params, rep), jax.device_put(bufs, rep)
    state = jax.device_put(opt.init(params), rep)
    key = jax.device_put(jax.random.PRNGKey(1), rep)
    b = PER_DEVICE_BATCH[model] * n
    shape = (b, 784) if model == "mlp" else (b, 1, 28, 28)
    rng = np.random.default_rng(0)
    data = [(jax.device_put(rng.standard_normal(shape).astype(np.float32), split),
             jax.device_put(rng.integers(0, 10, b), split)) for _ in range(4)]
    step = make_step(apply, opt)
    t0 = time.perf_counter()
    for i in range(warm + steps):
        if i == warm:
            t1 = time.perf_counter()
        # one step at a time: XLA's CPU collectives can deadlock when virtual devices run steps out of phase
        params, bufs, state, loss, key = jax.block_until_ready(step(params, bufs, state, *data[i % 4], key))
    t2 = time.perf_counter()
    return {"ms": (t2 - t1) / steps * 1e3, "warmup_s": t1 - t0, "loss": float(loss)}


def _available(device):
    if device == "cpu":
        return COUNTS
    import jax
    k = len(jax.devices("gpu"))
    return tuple(n for n in COUNTS if n <= k)


def bench_dp(quick=False, device="cpu", models=("mlp", "cnn")):
    counts = _available(device)
    results = {}
    for model in models:
        steps = max(STEPS[model] // 4, 5) if quick else STEPS[model]
        for n in counts:
            env = dict(os.environ)
            env.pop("XLA_FLAGS", None)
            if device == "cpu":
                env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n}"
                env["JAX_PLATFORMS"] = "cpu"
            for config in CONFIGS:
                cmd = [sys.executable, "-m", "bench.data_parallel", "--one", model, str(n), str(steps), "3", device,
                       config]
                try:
                    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
                    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
                    results[model, n, config] = json.loads(line[-1][7:]) if line else {
                        "error": (out.stderr.strip().splitlines() or ["failed"])[-1][:120]}
                except subprocess.TimeoutExpired:
                    results[model, n, config] = {"error": "timed out"}
    kind = "virtual CPU devices" if device == "cpu" else "GPUs"
    print(f"\n## Data parallel: compiled nn.DataParallel step on 1, 2, 4 {kind} (JAX + optax alongside)\n")
    print("Weak scaling: each device gets the same batch (mlp 128, cnn 32 per device), so n devices do "
          "n times the work. Efficiency = n * t1 / tn: 1.00 is perfect, 1/n is no gain."
          + (" Virtual CPU devices share this machine's cores." if device == "cpu" else "") + "\n")
    print("| model | devices | global batch | jtorch ms/step | samples/s | efficiency | JAX ms/step | JAX efficiency |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model in models:
        cells = {}
        for config in CONFIGS:
            t1 = results.get((model, 1, config), {}).get("ms")
            for n in counts:
                r = results[model, n, config]
                if "error" in r:
                    cells[n, config] = (f"n/a ({r['error']})", "", "")
                    continue
                b = PER_DEVICE_BATCH[model] * n
                cells[n, config] = (f"{r['ms']:.2f}", f"{b / r['ms'] * 1e3:.0f}",
                                    f"{n * t1 / r['ms']:.2f}" if t1 else "")
        for n in counts:
            j, x = cells[n, "jtorch"], cells[n, "jax"]
            print(f"| {model} | {n} | {PER_DEVICE_BATCH[model] * n} | {j[0]} | {j[1]} | {j[2]} | {x[0]} | {x[2]} |")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description="data-parallel scaling benchmark")
    p.add_argument("--one", nargs=6, help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.one:
        model, n, steps, warm, device, config = args.one
        run = _run_one if config == "jtorch" else _run_jax
        print("RESULT " + json.dumps(run(model, int(n), int(steps), int(warm), device)))
        return
    bench_dp(args.quick, args.device)


if __name__ == "__main__":
    main()
