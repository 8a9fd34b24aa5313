"""Arrays lifted in and out (what jtorch.compile does) against JAX's mutable array refs
(``jax.new_ref``) as the carrier of a compiled step's state.

    python -m bench.state_carrier

24 small state arrays, each updated in place by one jitted step, as an optimizer would:
(1) arrays passed in (donated), results written back into Python storage objects;
(2) the refs passed as jit arguments; (3) the refs closed over by the jitted function. Only
(1) takes jit's C++ fast path. Conclusion in docs/internals.md ("jtorch.compile").
"""
import time

import jax
import jax.numpy as jnp


class _Storage:
    __slots__ = ("array", "version")


def main(n=24, calls=300, rounds=7):
    arrs = [jnp.ones((64,)) * i for i in range(n)]
    g = jnp.float32(0.1)
    stores = [_Storage() for _ in range(n)]
    for s, a in zip(stores, arrs):
        s.array, s.version = a, 0
    donating = jax.jit(lambda xs, g: [x * 0.9 + g for x in xs], donate_argnums=0)
    refs = [jax.new_ref(a) for a in arrs]
    closed_refs = [jax.new_ref(a) for a in arrs]

    @jax.jit
    def ref_args(rs, g):
        for r in rs:
            r[...] = r[...] * 0.9 + g

    @jax.jit
    def ref_closed(g):
        for r in closed_refs:
            r[...] = r[...] * 0.9 + g

    def arrays():
        out = donating([s.array for s in stores], g)
        for s, a in zip(stores, out):
            s.array = a
            s.version += 1
        return stores[0].array

    cases = {"arrays in/out, donated, written back": arrays,
             "refs as jit arguments": lambda: (ref_args(refs, g), refs[0])[1],
             "refs closed over": lambda: (ref_closed(g), closed_refs[0])[1]}
    best = {}
    for _ in range(rounds):
        for name, f in cases.items():
            f()
            t = time.perf_counter()
            for _ in range(calls):
                r = f()
            jax.block_until_ready(r[...] if not isinstance(r, jax.Array) else r)
            best[name] = min(best.get(name, 1e9), (time.perf_counter() - t) / calls * 1e6)
    print(f"jax {jax.__version__}, {n} state arrays, us per step (min of {rounds} rounds):")
    for name, v in best.items():
        print(f"  {name:40s} {v:8.1f}")


if __name__ == "__main__":
    main()
