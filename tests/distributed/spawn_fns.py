"""Functions for jtorch.multiprocessing.spawn tests (spawned children import this module)."""
import datetime
import os
import sys
import time


def all_reduce_pair(rank, out, port):
    import jtorch as torch
    import jtorch.distributed as dist
    os.environ["MASTER_ADDR"] = "localhost"  # as PyTorch's DDP tutorial does
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=120))
    t = torch.tensor([float(rank), 1.0 + rank])
    dist.all_reduce(t)
    with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:
        f.write(repr(t.tolist()))
    dist.destroy_process_group()


def raise_on_one(rank):
    if rank == 1:
        raise ValueError("rank 1 fails")
    time.sleep(300)  # the parent must terminate this one


def exit_on_zero(rank, code=3):
    if rank == 0:
        sys.stdout.flush()
        os._exit(code)
    time.sleep(300)
