"""The CNN training step's CPU time: jtorch compiled and JAX + optax (and with --eager, jtorch eager),
interleaved in one process, minimum of rounds. CPU time (process_time) is steadier than wall time on
a machine shared with other jobs; run it pinned to one core for the steadiest numbers:

    taskset -c 1 python -m bench.cnn_cpu_time [--eager] [--nolayout]

--nolayout adds the compiled step built without transpose sinking (jtorch/_layout.py) to the rounds.
"""
import os
import sys
import time

import jax
import jax.numpy as jnp

import jtorch as torch
from bench.jax_ref import REF, make_step, split_state
from bench.models import SPECS


def main():
    build, make_opt, make_input, batch = SPECS["cnn"]
    torch.manual_seed(0)
    net = build(torch)
    opt = make_opt(torch, net.parameters())
    crit = torch.nn.CrossEntropyLoss()
    data = [make_input(torch, batch) for _ in range(4)]

    def step(x, y):
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
        return loss
    cstep = torch.compile(step)
    if "--nolayout" in sys.argv:
        from jtorch import _layout
        for i in range(3):  # discovery, then the trace: the program is built here
            cstep(*data[i % 4])
        _layout.ENABLED = False
        cstep_plain = torch.compile(step)
        for i in range(3):
            cstep_plain(*data[i % 4])
        _layout.ENABLED = True
    apply, opt_f, layout = REF["cnn"]
    params, bufs = split_state(build(torch))
    params = layout(params)
    o = opt_f()
    state = [params, bufs, o.init(params), jax.random.PRNGKey(1)]
    jstep = make_step(apply, o)
    jdata = [tuple(jnp.asarray(t.numpy()) for t in d) for d in data]

    def jrun(i):
        state[0], state[1], state[2], loss, state[3] = jstep(state[0], state[1], state[2], *jdata[i % 4], state[3])
        return loss
    runs = {"jtorch-compile": lambda i: cstep(*data[i % 4])._value, "jax": jrun}
    if "--nolayout" in sys.argv:
        runs["compile-nolayout"] = lambda i: cstep_plain(*data[i % 4])._value
    if "--eager" in sys.argv:
        runs["jtorch-eager"] = lambda i: step(*data[i % 4])._value
    for f in runs.values():
        for i in range(10):
            r = f(i)
        r.block_until_ready()
    wall, cpu = dict.fromkeys(runs, 1e9), dict.fromkeys(runs, 1e9)
    n = 5
    for _ in range(int(os.environ.get("ROUNDS", 8))):
        for k, f in runs.items():
            t, c = time.perf_counter(), time.process_time()
            for i in range(n):
                r = f(i)
            r.block_until_ready()
            wall[k] = min(wall[k], (time.perf_counter() - t) / n * 1e3)
            cpu[k] = min(cpu[k], (time.process_time() - c) / n * 1e3)
    for k in runs:
        print(f"{k:15s} wall {wall[k]:7.2f} ms   cpu {cpu[k]:7.2f} ms   cpu vs jax {cpu[k] / cpu['jax']:.2f}x")


if __name__ == "__main__":
    main()
