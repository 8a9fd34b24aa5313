"""One rank of a 2-process world for point-to-point, stores across processes, DDP communication
hooks and the other rendezvous (file://, store=). Saves what it got to OUT/<mode>-rank<r>.pkl.
Usage: RANK=.. WORLD_SIZE=.. MASTER_ADDR=.. MASTER_PORT=.. python worker_extras.py OUT MODE
MODE: env (everything), file (init_method=file://OUT/rdzv), store (store=TCPStore(...))."""
import datetime
import os
import pickle
import sys
import time

import numpy as np

import jtorch as torch
import jtorch.distributed as dist
from jtorch import nn
from jtorch.distributed.algorithms.ddp_comm_hooks import default_hooks

out_dir, mode = sys.argv[1], sys.argv[2]
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
timeout = datetime.timedelta(seconds=60)
if mode == "file":
    dist.init_process_group("gloo", init_method=f"file://{out_dir}/rdzv", rank=rank, world_size=world,
                            timeout=timeout)
elif mode == "store":
    port = int(os.environ["MASTER_PORT"])
    store = dist.TCPStore("127.0.0.1", port, world, rank == 0, timeout=timeout)
    dist.init_process_group("gloo", store=dist.PrefixStore("pg", store), rank=rank, world_size=world,
                            timeout=timeout)
else:
    dist.init_process_group("gloo", timeout=timeout)
peer = 1 - rank
res = {"rank": dist.get_rank(), "world": dist.get_world_size(), "store": type(dist.distributed_c10d._get_default_store()).__name__}


def inputs(r, shape, seed=0):
    return np.random.default_rng(1000 * seed + r).standard_normal(shape).astype(np.float32)


t = torch.from_numpy(inputs(rank, (3, 4)))
dist.all_reduce(t)
res["all_reduce"] = t.numpy().copy()
got = torch.zeros(6)
dist.batch_isend_irecv([dist.P2POp(dist.isend, torch.arange(6.) + 100 * rank, peer),
                        dist.P2POp(dist.irecv, got, peer)])[1].wait()
res["p2p_pair"] = got.numpy().copy()
if mode != "env":
    with open(os.path.join(out_dir, f"{mode}-rank{rank}.pkl"), "wb") as f:
        pickle.dump(res, f)
    sys.exit(0)

# ---------------------------------------------------------------- point to point
a = torch.from_numpy(inputs(rank, (5,), seed=1))
b = torch.zeros(5)
send_work, recv_work = dist.isend(a, peer), dist.irecv(b, peer)  # both ranks send first: buffered
res["isend_completed"] = send_work.is_completed()
res["irecv_wait"] = recv_work.wait()
res["crossing"] = b.numpy().copy()

# a receive posted before its message is sent is not complete until it arrives
if rank == 0:
    late = torch.zeros(2, 3, dtype=torch.int64)
    w = dist.irecv(late, src=1, tag=5)
    res["posted_early_completed"] = w.is_completed()
dist.barrier()
if rank == 1:
    dist.send(torch.arange(6).reshape(2, 3) * 7, dst=0, tag=5)
else:
    w.wait()
    res["posted_early"] = (w.is_completed(), late.numpy().copy())

# tags pair up independently of the call order across tags
if rank == 0:
    dist.send(torch.full((2,), 1.0), 1, tag=1)
    dist.send(torch.full((2,), 2.0), 1, tag=2)
    dist.send(torch.full((2,), 3.0), 1, tag=1)
else:
    x2, x1, x3 = torch.zeros(2), torch.zeros(2), torch.zeros(2)
    dist.recv(x2, 0, tag=2)
    dist.recv(x1, 0, tag=1)
    dist.recv(x3, 0, tag=1)
    res["tags"] = [x1.numpy().copy(), x2.numpy().copy(), x3.numpy().copy()]

# batch of several dtypes, a big tensor, any-source receive
big = torch.from_numpy(inputs(rank, (300, 1000), seed=2))
ops_in = [torch.zeros(4, dtype=torch.int64), torch.zeros(3, dtype=torch.bfloat16), torch.zeros(300, 1000)]
ops = [dist.P2POp(dist.irecv, ops_in[0], peer, tag=3), dist.P2POp(dist.irecv, ops_in[1], peer),
       dist.P2POp(dist.isend, torch.tensor([1, 2, 3, 4]) * (rank + 2), peer, tag=3),
       dist.P2POp(dist.isend, torch.tensor([0.5, 1.5, -2.0], dtype=torch.bfloat16) * (rank + 1), peer),
       dist.P2POp(dist.irecv, ops_in[2], peer, tag=9), dist.P2POp(dist.isend, big, peer, tag=9)]
works = dist.batch_isend_irecv(ops)
res["batch_works"] = [w.wait() for w in works]
res["batch"] = [ops_in[0].numpy().copy(), ops_in[1].float().numpy().copy(), ops_in[2].numpy().copy()]
if rank == 1:
    dist.send(torch.tensor([9.0, 8.0]), 0)
else:
    anyt = torch.zeros(2)
    res["any_source"] = (dist.recv(anyt), anyt.numpy().copy())
# odd shapes and dtypes over the direct connection: 0-dim, empty, bool, int64 (a 3 MB one)
if rank == 1:
    for t in (torch.tensor(2.5), torch.zeros(0, 3), torch.tensor([True, False, True]),
              torch.arange(400000) * 3):
        dist.send(t, 0, tag=21)
else:
    outs = [torch.zeros(()), torch.ones(0, 3), torch.zeros(3, dtype=torch.bool), torch.zeros(400000, dtype=torch.long)]
    for t in outs:
        dist.recv(t, 1, tag=21)
    res["odd_p2p"] = [(t.numpy().copy(), str(t.dtype), tuple(t.shape)) for t in outs]
try:
    dist.send(torch.ones(1), rank)
except ValueError as e:
    res["self_send"] = str(e)
if rank == 0:
    dist.send(torch.ones(3), 1, tag=11)
else:
    try:
        dist.recv(torch.zeros(4), 0, tag=11)
    except RuntimeError as e:
        res["size_mismatch"] = str(e)

# ---------------------------------------------------------------- stores across the processes
store = dist.distributed_c10d._get_default_store()
if rank == 0:
    store.set("from0", "hello")
    master = dist.TCPStore("127.0.0.1", 0, 2, True, timeout=timeout, wait_for_workers=False)
    store.set("port", str(master.port))
    master.wait(["from1"])
    res["tcp"] = (master.get("from1"), master.add("count", 5))
    time.sleep(0.3)
    master.set("late", b"\x00late")
else:
    res["default_store_get"] = store.get("from0")
    client = dist.TCPStore("127.0.0.1", int(store.get("port")), 2, False, timeout=timeout)
    client.set("from1", "bye")
    client.wait(["late"])
    res["tcp"] = (client.get("late"), client.add("count", 1),
                  client.compare_set("cas", "", "first"), client.compare_set("cas", "nope", "x"))
fs = dist.FileStore(os.path.join(out_dir, "filestore"), 2)
res["file_add"] = fs.add("n", rank + 1)
dist.barrier()
res["file_total"] = int(fs.get("n"))
res["counter"] = store.add("shared", 1)
dist.barrier()
res["counter_final"] = int(store.get("shared"))
pre = dist.PrefixStore("job", store)
if rank == 0:
    pre.set("k", "v0")
dist.barrier()
res["prefix"] = (store.get("job/k"), pre.get("k"))

# ---------------------------------------------------------------- DDP communication hooks
def model():
    torch.manual_seed(rank)  # DDP broadcasts rank 0's weights
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))


x = torch.from_numpy(inputs(rank, (6, 5), seed=3))
for name, hook, state in (("allreduce", default_hooks.allreduce_hook, None),
                          ("fp16", default_hooks.fp16_compress_hook, None),
                          ("bf16", default_hooks.bf16_compress_hook, None)):
    m = model()
    ddp = nn.parallel.DistributedDataParallel(m, bucket_cap_mb=0.00005)  # several buckets
    ddp.register_comm_hook(state, hook)
    res[f"hook_init/{name}"] = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    ddp(x).pow(2).sum().backward()
    res[f"hook/{name}"] = [p.grad.numpy().copy() for p in m.parameters()]

# a user hook: state, GradBucket contents, a Future made by hand, MAX instead of the mean
seen = {"calls": 0, "buckets": []}


def user_hook(state, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    state["calls"] += 1
    buf = bucket.buffer()
    state["buckets"].append((bucket.index(), bucket.is_last(), buf.numel(),
                             [tuple(p.shape) for p in bucket.parameters()],
                             [tuple(g.shape) for g in bucket.gradients()]))
    dist.all_reduce(buf, op=dist.ReduceOp.MAX)
    fut = torch.futures.Future()
    fut.set_result(buf * 0.5)
    return fut


m = model()
ddp = nn.parallel.DistributedDataParallel(m, bucket_cap_mb=0.00005)
ddp.register_comm_hook(seen, user_hook)
ddp(x).pow(2).sum().backward()
res["hook/user"] = [p.grad.numpy().copy() for p in m.parameters()]
res["hook/user_seen"] = seen

# unused parameters: b is used on rank 1 only, c nowhere
torch.manual_seed(0)
three = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Linear(3, 2), "c": nn.Linear(3, 2)})
ddp3 = nn.parallel.DistributedDataParallel(three, find_unused_parameters=True)
ddp3.register_comm_hook(None, default_hooks.allreduce_hook)
inp = torch.from_numpy(inputs(rank, (4, 3), seed=4))
out = three["a"](inp).sum() + (three["b"](inp).sum() if rank == 1 else 0)
out.backward()
res["hook/unused"] = {k: (None if p.grad is None else p.grad.numpy().copy()) for k, p in three.named_parameters()}

with open(os.path.join(out_dir, f"{mode}-rank{rank}.pkl"), "wb") as f:
    pickle.dump(res, f)
dist.barrier()
