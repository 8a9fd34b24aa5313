"""One rank of a 2-process world: a DistributedDataParallel train step compiled with jtorch.compile
(one SPMD program over the processes) for 20 steps on this rank's half of each batch. Saves
losses, parameters and what the compiled program looked like to OUT/rank<r>.pkl.
Usage: RANK=.. WORLD_SIZE=.. MASTER_ADDR=.. MASTER_PORT=.. python ranks_worker.py OUT"""
import datetime
import os
import pickle
import sys

import numpy as np

import jtorch as torch
import jtorch.distributed as dist
from jtorch import nn

STEPS, BATCH = 20, 8  # BATCH is split over 2 ranks


def data():
    g = np.random.default_rng(42)
    return (g.standard_normal((STEPS, BATCH, 6)).astype(np.float32),
            g.standard_normal((STEPS, BATCH, 3)).astype(np.float32))


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def main(out_dir):
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(rank)  # different initial values per rank: DDP broadcasts rank 0's
    m = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    ddp = nn.parallel.DistributedDataParallel(m)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-2)

    @torch.compile
    def step(x, y):
        opt.zero_grad()
        loss = ((ddp(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    X, Y = data()
    h = BATCH // world
    losses = []
    for i in range(STEPS):
        losses.append(step(torch.tensor(X[i, rank * h:(rank + 1) * h]),
                           torch.tensor(Y[i, rank * h:(rank + 1) * h])).item())
    ranks = step._ranks
    res = {"losses": losses, "params": [p.detach().numpy().copy() for p in m.parameters()],
           "spmd": ranks is not None, "entries": len(step.entries),
           "jaxpr": str(ranks.traced.jaxpr) if ranks is not None else "",
           "local": all(len(p._value.devices()) == 1 for p in m.parameters())}
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(res, f)


if __name__ == "__main__":
    main(sys.argv[1])
