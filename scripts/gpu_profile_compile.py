"""Where does a compiled step's time go on a GPU? (python scripts/gpu_profile_compile.py)"""
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import jax  # noqa: E402

import jtorch as torch  # noqa: E402
from bench.models import SPECS  # noqa: E402

dev = "cuda" if torch.cuda.is_available() else "cpu"
build, make_opt, make_input, batch = SPECS["mlp"]
torch.manual_seed(0)
net = build(torch).to(dev)
opt = make_opt(torch, net.parameters())
crit = torch.nn.CrossEntropyLoss()
x, y = (t.to(dev) for t in make_input(torch, batch))


def step(x, y):
    opt.zero_grad()
    loss = crit(net(x), y)
    loss.backward()
    opt.step()
    return loss


c = torch.compile(step)
for _ in range(10):
    r = c(x, y)
jax.block_until_ready(r._value)


def bench(f, n=300):
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            r = f()
        jax.block_until_ready(r._value if hasattr(r, "_value") else r)
        best = min(best, (time.perf_counter() - t) / n * 1e3)
    return best


e = c.entries[next(iter(c.entries))]
states = [st for st, _ in c.state]
hv = [torch.compile.__globals__["_scalar_array"](g[k], c._device) for g, k in c._hyper()]
print(f"compiled call      {bench(lambda: c(x, y)):.3f} ms")
print(f"raw program call   {bench(lambda: e.jitted(*[st.array for st in states], x._value, y._value, *hv)):.3f} ms")
leaves, tree = jax.tree_util.tree_flatten(((x, y), {}), is_leaf=lambda v: isinstance(v, torch.Tensor))
print(f"guard key          {bench(lambda: (c._guard_key(leaves, tree), x)[1]):.3f} ms")
cProfile.run("for _ in range(300): c(x, y)", "/tmp/gp.out")
pstats.Stats("/tmp/gp.out").sort_stats("tottime").print_stats(14)
