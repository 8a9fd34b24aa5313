"""One rank of the 2-process world: runs every collective, DDP training and the sampler on
seeded inputs and saves what it got to OUT/rank<r>.pkl (the test compares in the parent).
Usage: RANK=.. WORLD_SIZE=.. MASTER_ADDR=.. MASTER_PORT=.. python worker_main.py OUT"""
import datetime
import os
import pickle
import sys

import numpy as np

import jtorch as torch
import jtorch.distributed as dist
from jtorch import nn

out_dir = sys.argv[1]
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
rank, world = dist.get_rank(), dist.get_world_size()
res = {"rank": rank, "world": world, "backend": dist.get_backend(), "initialized": dist.is_initialized()}


def inputs(dtype, shape=(3, 4)):
    """This rank's seeded random input (the parent regenerates every rank's)."""
    g = np.random.default_rng(100 + rank)
    if dtype == "bool":
        return g.random(shape) > 0.5
    if dtype.startswith("int"):
        return g.integers(-5, 6, shape).astype(dtype)
    return g.standard_normal(shape).astype(dtype)


# every op on float32 and int64, a few on the other dtypes (each (op, dtype) is a program to compile)
OPS = {"float32": ["SUM", "AVG", "MAX", "MIN", "PRODUCT"], "int64": ["SUM", "MAX", "MIN", "PRODUCT"],
       "float64": ["SUM", "AVG"], "int32": ["SUM", "MIN"], "bool": ["SUM", "MIN"]}
for dt, names in OPS.items():
    for name in names:
        op = getattr(dist.ReduceOp, name)
        t = torch.from_numpy(inputs(dt).copy())
        assert dist.all_reduce(t, op=op) is None
        res[f"all_reduce/{dt}/{name}"] = t.numpy().copy()
    t = torch.from_numpy(inputs(dt).copy())
    dist.broadcast(t, src=1)
    res[f"broadcast/{dt}"] = t.numpy().copy()
    outs = [torch.zeros(3, 4, dtype=t.dtype) for _ in range(world)]
    dist.all_gather(outs, torch.from_numpy(inputs(dt).copy()))
    res[f"all_gather/{dt}"] = [o.numpy().copy() for o in outs]

# async_op, views (in place through a view), tensors with requires_grad (not differentiable)
t = torch.from_numpy(inputs("float32").copy())
work = dist.all_reduce(t[1], async_op=True)
res["async"] = (work.wait(), work.is_completed(), t.numpy().copy())
w = torch.from_numpy(inputs("float32").copy()).requires_grad_()
dist.all_reduce(w)
res["leaf_requires_grad"] = (w.detach().numpy().copy(), w.grad_fn is None)

x = torch.from_numpy(inputs("float32", (6, 2)).copy())
o = torch.zeros(2 * 6, 2)
dist.all_gather_into_tensor(o, x)
res["all_gather_into_tensor"] = o.numpy().copy()
o = torch.zeros(2, 6, 2)
dist.all_gather_into_tensor(o, x)
res["all_gather_into_tensor_stacked"] = o.numpy().copy()
for name, op in (("SUM", dist.ReduceOp.SUM), ("MAX", dist.ReduceOp.MAX), ("AVG", dist.ReduceOp.AVG)):
    o = torch.zeros(3, 2)
    dist.reduce_scatter_tensor(o, x, op=op)
    res[f"reduce_scatter_tensor/{name}"] = o.numpy().copy()
o = torch.zeros(3, 2)
dist.reduce_scatter(o, [x[:3].clone(), x[3:].clone()])
res["reduce_scatter"] = o.numpy().copy()
t = torch.from_numpy(inputs("float64").copy())
dist.reduce(t, dst=1)
res["reduce"] = t.numpy().copy()
t = torch.from_numpy(inputs("int64").copy())
gl = [torch.zeros(3, 4, dtype=torch.int64) for _ in range(world)] if rank == 0 else None
dist.gather(t, gl, dst=0)
res["gather"] = [g.numpy().copy() for g in gl] if gl else None
t = torch.zeros(3, 4)
sl = [torch.full((3, 4), 7.0 + i) for i in range(world)] if rank == 1 else None
dist.scatter(t, sl, src=1)
res["scatter"] = t.numpy().copy()
o = torch.zeros(4, 2)
dist.all_to_all_single(o, torch.from_numpy(inputs("float32", (4, 2)).copy()))
res["all_to_all_single"] = o.numpy().copy()

objs = [None] * world
dist.all_gather_object(objs, {"rank": rank, "data": list(range(rank + 2)), "s": "x" * (10 * rank)})
res["all_gather_object"] = objs
lst = [f"from {rank}", rank, {"k": (rank, 1.5)}]
dist.broadcast_object_list(lst, src=1)
res["broadcast_object_list"] = lst
gathered = [None] * world if rank == 0 else None
dist.gather_object(("obj", rank), gathered, dst=0)
res["gather_object"] = gathered
outl = [None]
dist.scatter_object_list(outl, [f"for {i}" for i in range(world)] if rank == 0 else None, src=0)
res["scatter_object_list"] = outl[0]
dist.barrier()

# groups: the subgroup of rank 1 alone, and the whole world as a new group
solo = dist.new_group([1])
pair = dist.new_group([1, 0])
res["groups"] = (solo is dist.GroupMember.NON_GROUP_MEMBER, dist.get_rank(solo), dist.get_world_size(solo),
                 dist.get_process_group_ranks(pair), dist.get_rank(pair), dist.get_world_size(pair))
if rank == 1:
    t = torch.from_numpy(inputs("float32").copy())
    dist.all_reduce(t, group=solo)
    res["solo_all_reduce"] = t.numpy().copy()
else:
    assert dist.all_reduce(torch.ones(2), group=solo) is None  # not a member: returns quietly
t = torch.from_numpy(inputs("float32").copy())
dist.all_reduce(t, group=pair)
res["pair_all_reduce"] = t.numpy().copy()
dist.barrier(group=pair)

# point to point: 0 -> 1, then 1 -> 0 (blocking, matched in order)
t = torch.from_numpy(inputs("float64", (5,)).copy()) if rank == 0 else torch.zeros(5, dtype=torch.float64)
if rank == 0:
    dist.send(t, dst=1)
    back = torch.zeros(2, dtype=torch.int64)
    res["recv_from"] = dist.recv(back, src=1)
    res["p2p"] = back.numpy().copy()
else:
    dist.recv(t, src=0)
    res["p2p"] = t.numpy().copy()
    dist.send(torch.tensor([4, 2]), dst=0)

# ---- DDP: 20 steps on half batches == one process on the full batch
torch.manual_seed(rank)  # different initial weights per rank: DDP's broadcast must make them rank 0's
model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0002)  # tiny buckets: several collectives
res["ddp_buckets"] = [len(b) for b in ddp._buckets]
res["ddp_init"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
g = np.random.default_rng(7)
X, Y = g.standard_normal((20, 8, 5)).astype("float32"), g.standard_normal((20, 8, 3)).astype("float32")
half = slice(4 * rank, 4 * rank + 4)
for step in range(20):
    opt.zero_grad()
    loss = nn.functional.mse_loss(ddp(torch.from_numpy(X[step, half])), torch.from_numpy(Y[step, half]))
    loss.backward()
    opt.step()
res["ddp_final"] = {k: v.detach().numpy().copy() for k, v in ddp.state_dict().items()}
# no_sync: accumulate a local backward, then one synced backward averages the sum
opt.zero_grad()
with ddp.no_sync():
    nn.functional.mse_loss(ddp(torch.from_numpy(X[0, half])), torch.from_numpy(Y[0, half])).backward()
res["ddp_no_sync_local"] = [p.grad.numpy().copy() for p in model.parameters()]
nn.functional.mse_loss(ddp(torch.from_numpy(X[1, half])), torch.from_numpy(Y[1, half])).backward()
res["ddp_no_sync_grads"] = [p.grad.numpy().copy() for p in model.parameters()]

# a parameter used only on rank 1 still gets the same averaged gradient on both ranks
torch.manual_seed(0)
two = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Linear(3, 2)})
ddp2 = nn.parallel.DistributedDataParallel(two, find_unused_parameters=True)
inp = torch.from_numpy(inputs("float32", (4, 3)).copy())
out = two["a"](inp).sum() + (two["b"](inp).sum() if rank == 1 else 0)
out.backward()
res["ddp_unused"] = {k: (None if p.grad is None else p.grad.numpy().copy()) for k, p in two.named_parameters()}

# ---- DistributedSampler picks rank/world from the group
from jtorch.utils.data.distributed import DistributedSampler  # noqa: E402
samp = {}
for shuffle in (False, True):
    for drop_last in (False, True):
        s = DistributedSampler(list(range(11)), shuffle=shuffle, drop_last=drop_last, seed=3)
        s.set_epoch(2)
        samp[(shuffle, drop_last)] = (s.num_replicas, s.rank, list(s), len(s))
res["sampler"] = samp

# ---- a DataPipe through the DataLoader: each rank its shard of one order, shuffled with rank 0's seed
from jtorch.utils.data import DataLoader  # noqa: E402
from jtorch.utils.data.datapipes.iter import IterableWrapper  # noqa: E402
torch.manual_seed(rank)  # the ranks' streams differ; the broadcast seed makes their order common
res["datapipe"] = [int(x) for x in DataLoader(IterableWrapper(range(10)).shuffle().sharding_filter(), batch_size=None)]

with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
    pickle.dump(res, f)
dist.destroy_process_group()
res_after = dist.is_initialized()
assert res_after is False
