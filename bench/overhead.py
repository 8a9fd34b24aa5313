"""Per-call overhead of a compiled training step: jtorch's Python work around the XLA program.

    python -m bench.overhead [--device cuda] [--model mlp|cnn|transformer|tiny] [--profile] [--dump DIR]

Times, interleaved in rounds (minimum of each), the compiled step ``step(x, y)``; the very same
XLA program called directly on the same arrays (state kept in a list, donated and replaced, as
bare JAX would); and the hand-written JAX + optax step (bench/jax_ref.py) from the same weights and
batch. compiled - direct is what the guards, state gathering and write-back cost per call;
direct - jax+optax is the program itself (its work, and the dispatch of its inputs and outputs).
``--dump DIR`` writes both programs' optimized HLO there, to compare what XLA made of them.
"""
import argparse
import importlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn", "transformer", "tiny"])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--calls", type=int, default=0)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--donate-escaped", choices=["auto", "yes", "no"], default="auto",
                   help="jtorch.compile.DONATE_ESCAPED: the .grads' last buffers donated (auto: on the CPU)")
    p.add_argument("--dump", help="write the optimized HLO of the jtorch and JAX programs into this folder")
    a = p.parse_args(argv)
    import jax

    import jtorch as torch
    from bench.models import SPECS, train_step
    C = importlib.import_module("jtorch.compile")
    nn = torch.nn
    C.DONATE_ESCAPED = {"auto": None, "yes": True, "no": False}[a.donate_escaped]
    torch.manual_seed(0)
    if a.model == "tiny":  # small enough that the overhead is most of the step
        net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x, y = torch.randn(4, 8), torch.randint(0, 4, (4,))
    else:  # as bench.run's training rows: the same weights and batch as the JAX reference below
        build, make_opt, make_input, batch = SPECS[a.model]
        net = build(torch)
        opt = make_opt(torch, net.parameters())
        x, y = make_input(torch, batch)
    net = net.to(a.device)
    x, y = x.to(a.device), y.to(a.device)
    if a.model != "tiny":  # the optimizer was made on the CPU parameters: remake it on the moved ones
        opt = SPECS[a.model][1](torch, net.parameters())
    step = train_step(torch, net, opt)
    cs = torch.compile(step)
    for _ in range(5):
        cs(x, y)
    entry = next(iter(cs.entries.values()))
    states = [st for st, _ in cs.state]
    hyper = [C._scalar_array(g[k], cs._device) for g, k in cs._hyper()]
    prog = entry.donating or entry.jitted
    nw = len(entry.written)
    xa, ya = x._value, y._value
    held = {}

    ne = len(entry.escaped) if entry.esc_avals is not None else 0  # donated back into the program

    def direct():
        arrs = held["a"]
        out = prog(*arrs, xa, ya, *hyper, *held["e"])
        for i, v in zip(entry.written, out[:nw]):
            arrs[i] = v
        held["e"] = list(out[nw:nw + ne])
        return out[-1]

    # the same program without the donated buffers for the tensors it creates (the .grads): XLA
    # allocates fresh output buffers each call, as the step did before (docs/internals.md)
    fresh = None
    if ne:
        fresh_prog = jax.jit(lambda *xs: entry.fallback.__wrapped__(*xs, *([None] * ne)),
                             donate_argnums=tuple(entry.written))
        held_f = {}

        def fresh():
            arrs = held_f["a"]
            out = fresh_prog(*arrs, xa, ya, *hyper)
            for i, v in zip(entry.written, out[:nw]):
                arrs[i] = v
            return out[-1]

    ref = None
    if a.model != "tiny":
        import jax.numpy as jnp

        from bench.jax_ref import REF, make_step, split_state
        from jtorch._device import jax_device
        apply, opt_f, layout = REF[a.model]
        torch.manual_seed(0)
        params, bufs = jax.device_put(split_state(SPECS[a.model][0](torch)), jax_device(torch.device(a.device)))
        if layout is not None:
            params = layout(params)
        o = opt_f()
        rs = {"p": params, "b": bufs, "s": o.init(params), "k": jax.random.PRNGKey(0)}
        del params, bufs
        rstep = make_step(apply, o)
        xr = jax.device_put(jnp.asarray(x.cpu().numpy()), xa.devices().pop())
        yr = jax.device_put(jnp.asarray(y.cpu().numpy()), xa.devices().pop())
        if a.dump:
            _dump(a.dump, a.model, prog, [st.array for st in states], (xa, ya), hyper,
                  [st.array for st in entry.escaped[:ne]], rstep, (rs["p"], rs["b"], rs["s"], xr, yr, rs["k"]))

        def ref():
            rs["p"], rs["b"], rs["s"], loss, rs["k"] = rstep(rs["p"], rs["b"], rs["s"], xr, yr, rs["k"])
            return loss

    def timed(f, n):
        r = f()
        jax.block_until_ready(r._value if hasattr(r, "_value") else r)
        t = time.perf_counter()
        for _ in range(n):
            r = f()
        jax.block_until_ready(r._value if hasattr(r, "_value") else r)
        return (time.perf_counter() - t) / n * 1e6

    n = a.calls or (400 if a.model == "tiny" or a.device != "cpu" else 40 if a.model == "mlp" else 5)
    res = {"compiled": [], "direct": [], "jax+optax": []}
    for _ in range(a.rounds):
        res["compiled"].append(timed(lambda: cs(x, y), n))
        held["a"] = [st.array for st in states]
        held["e"] = [st.array for st in entry.escaped[:ne]]
        for st in states + entry.escaped[:ne]:
            st.array = None  # the list alone holds the state, so the program donates as bare JAX would
        res["direct"].append(timed(direct, n))
        for st, v in zip(states + entry.escaped[:ne], held.pop("a") + held.pop("e")):
            st.array = v
        if fresh is not None:
            held_f["a"] = [jax.numpy.array(st.array, copy=True) for st in states]
            res.setdefault("fresh grads", []).append(timed(fresh, n))
            del held_f["a"]
        if ref is not None:
            res["jax+optax"].append(timed(ref, n))
    best = {k: min(v) for k, v in res.items() if v}
    dev = jax.devices()[0] if a.device != "cpu" else jax.devices("cpu")[0]
    print(f"{a.model} step on {dev.device_kind} ({len(states)} state tensors, .grad buffers "
          f"{'donated' if ne else 'fresh'}), us per call, min of {a.rounds} rounds of {n}:")
    for k, v in best.items():
        print(f"  {k:10s} {v:9.1f}")
    print(f"  overhead   {best['compiled'] - best['direct']:9.1f}  (compiled - direct)")
    if "jax+optax" in best:
        print(f"  compiled / jax+optax {best['compiled'] / best['jax+optax']:.3f}" + (
            f", fresh grads / jax+optax {best['fresh grads'] / best['jax+optax']:.3f}" if "fresh grads" in best else ""))
    # which path the calls took: the cheap guard (_call_fast) and the donating program are the fast ones
    seen = {"calls": 0, "fast": 0, "donating": 0}
    fast0, don0 = C._call_fast, entry.donating

    def fast(f, args):
        out = fast0(f, args)
        seen["fast"] += out is not C._MISS
        return out

    def donating(*xs):
        seen["donating"] += 1
        return don0(*xs)
    C._call_fast, entry.donating = fast, (donating if don0 is not None else None)
    for _ in range(20):
        seen["calls"] += 1
        cs(x, y)
    C._call_fast, entry.donating = fast0, don0
    print(f"  of {seen['calls']} calls: {seen['fast']} took the cheap guard, {seen['donating']} donated the state")
    if a.profile:
        import cProfile
        import pstats
        cProfile.runctx("for _ in range(n): cs(x, y)", globals(), {"cs": cs, "x": x, "y": y, "n": n}, "/tmp/ovh.prof")
        pstats.Stats("/tmp/ovh.prof").sort_stats("tottime").print_stats(25)
        pstats.Stats("/tmp/ovh.prof").sort_stats("cumulative").print_stats(25)


def _dump(folder, model, prog, states, args, hyper, escaped, rstep, rargs):
    """Both programs' optimized HLO, and a one-line count of their parameters, results and kernels."""
    os.makedirs(folder, exist_ok=True)
    texts = {}
    if hasattr(prog, "as_text"):  # the entry's ahead-of-time executable
        texts["jtorch"] = prog.as_text()
    else:
        texts["jtorch"] = prog.lower(*states, *args, *hyper, *escaped).compile().as_text()
    texts["jax"] = rstep.lower(*rargs).compile().as_text()
    for who, text in texts.items():
        with open(os.path.join(folder, f"{model}_{who}.hlo"), "w") as f:
            f.write(text)
        entry = text[text.find("ENTRY"):]
        print(f"  {who:7s} HLO: {entry.count(' parameter(')} parameters, {text.count(' fusion(')} fusions, "
              f"{text.count('custom-call(')} custom calls, {len(text)} chars")


if __name__ == "__main__":
    main()
