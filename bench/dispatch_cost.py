"""What one jitted call costs on a device, by the kind of arguments it takes (us per call, async
dispatch, minimum of rounds): the floor under every eager op and every compiled step.

    python -m bench.dispatch_cost [--device cuda]

Cases: a 2-input add; 24 array inputs; the same with 5 Python floats (converted and sent at every
call) or 5 cached device scalars; 24 inputs donated, each produced by the call before (a chain, as
an optimizer step or a compiled step's state); the same, not donated.
"""
import argparse
import time


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--calls", type=int, default=300)
    a = p.parse_args(argv)
    import jax
    import jax.numpy as jnp
    dev = jax.devices("gpu" if a.device == "cuda" else "cpu")[0]
    put = lambda x: jax.device_put(x, dev)  # noqa: E731
    small = [put(jnp.full((128, 512), float(i))) for i in range(24)]

    def add(x, y):
        return x + y

    def upd(*xs):  # 24 arrays, optional scalars after them
        arrs, hs = xs[:24], xs[24:]
        s = sum(hs) if hs else 1.0
        return tuple(x * 0.999 + s * 1e-6 for x in arrs)

    j_add, j_upd = jax.jit(add), jax.jit(upd)
    j_don = jax.jit(upd, donate_argnums=tuple(range(24)))
    floats = (1e-3, 0.9, 0.999, 1e-8, 0.0)
    scalars = tuple(put(jnp.asarray(f)) for f in floats)
    state = {"a": [put(jnp.array(x)) for x in small]}

    def chain(fn, extra=()):
        def go():
            state["a"] = list(fn(*state["a"], *extra))
            return state["a"][0]
        return go
    cases = {
        "add (2 inputs)": lambda: j_add(small[0], small[1]),
        "24 inputs": lambda: j_upd(*small)[0],
        "24 inputs + 5 Python floats": lambda: j_upd(*small, *floats)[0],
        "24 inputs + 5 device scalars": lambda: j_upd(*small, *scalars)[0],
        "24 chained, not donated": chain(j_upd),
        "24 chained, donated": chain(j_don),
        "24 chained, donated + 5 floats": chain(j_don, floats),
        "24 chained, donated + 5 scalars": chain(j_don, scalars),
    }
    print(f"jitted call cost on {dev.device_kind}, us per call (min of 5 rounds of {a.calls}):")
    for name, f in cases.items():
        for _ in range(20):
            r = f()
        jax.block_until_ready(r)
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(a.calls):
                r = f()
            jax.block_until_ready(r)
            best = min(best, (time.perf_counter() - t) / a.calls * 1e6)
        print(f"  {name:34s} {best:8.1f}", flush=True)


if __name__ == "__main__":
    main()
