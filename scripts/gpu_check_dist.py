"""GPU checks for jtorch.distributed (run on a machine with a GPU; prints a report).

    PYTHONPATH=. python scripts/gpu_check_dist.py

1. (fresh process) import jtorch and manual_seed leave XLA's backend down; a one-process "nccl"
   group: all_reduce of a cuda tensor, object collectives, DDP(device_ids=[0]) training equals the
   plain model on the GPU.
2. The launcher on a GPU machine: 2 workers with gloo on CPU tensors (rank 0 gets GPU 0 as
   cuda:LOCAL_RANK; XLA_PYTHON_CLIENT_PREALLOCATE=false so both fit).
"""
import os
import subprocess
import sys

HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))


def single():
    import time, datetime
    t0 = time.time()
    import jax
    from jax._src import xla_bridge as xb
    import jtorch as torch
    import jtorch.distributed as dist
    print("A backend after import:", xb.backends_are_initialized(), flush=True)
    torch.manual_seed(0)
    print("A backend after manual_seed:", xb.backends_are_initialized(), flush=True)
    dist.init_process_group("nccl", init_method="tcp://127.0.0.1:29555", rank=0, world_size=1,
                            timeout=datetime.timedelta(seconds=60))
    print("A backend", dist.get_backend(), "cuda", torch.cuda.is_available(), torch.cuda.device_count(), flush=True)
    x = torch.randn(4, 3)
    print("A default device", x.device, flush=True)
    c = x.cuda()
    dist.all_reduce(c)
    print("A all_reduce cuda ok", c.device, float((c.cpu() - x).abs().max()), flush=True)
    objs = [None]; dist.all_gather_object(objs, {"a": 1}); print("A objects", objs, flush=True)
    from jtorch import nn
    def run(wrap):
        torch.manual_seed(1)
        m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2)).cuda()
        net = nn.parallel.DistributedDataParallel(m, device_ids=[0]) if wrap else m
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(3)
        for i in range(5):
            opt.zero_grad()
            xb = torch.randn(6, 3, generator=g)
            loss = net(xb if wrap else xb.cuda()).pow(2).mean()
            loss.backward(); opt.step()
        return [p.detach().cpu().numpy() for p in m.parameters()]
    import numpy as np
    a, b = run(False), run(True)
    print("A ddp cuda max diff", max(float(np.abs(p - q).max()) for p, q in zip(a, b)), flush=True)
    dist.destroy_process_group()
    print("A done", round(time.time() - t0, 1), flush=True)


def launched():
    import os, torch, torch.distributed as dist
    x = torch.ones(3) * (int(os.environ["RANK"]) + 1)
    dist.init_process_group("gloo")
    dist.all_reduce(x)
    import jax
    print("B rank", dist.get_rank(), x.tolist(), "local devices", jax.local_devices(), "cuda", torch.cuda.is_available(),
          torch.cuda.device_count(), flush=True)
    if torch.cuda.is_available() and dist.get_rank() == 0:
        y = torch.ones(2, device=f"cuda:{os.environ['LOCAL_RANK']}")
        print("B rank0 cuda tensor", y.device, flush=True)
    dist.destroy_process_group()


def main():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, HERE, "single"], env=env, timeout=300)
    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    subprocess.run([sys.executable, "-m", "jtorch.distributed.run", "--standalone", "--nproc_per_node", "2", HERE,
                    "launched"], env=env, timeout=300, cwd=ROOT)


if __name__ == "__main__":
    {"single": single, "launched": launched}.get(sys.argv[1] if len(sys.argv) > 1 else "", main)()
