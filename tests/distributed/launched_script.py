"""A torchrun-style script (it says ``import torch``): started by the launcher tests.
Usage: launched_script.py OUT MODE   (MODE: ok | fail (rank 1 raises) | kill0 (rank 0 is killed))"""
import os
import signal
import sys
import time

import torch
import torch.distributed as dist

out, mode = sys.argv[1], sys.argv[2]
rank = int(os.environ["RANK"])
x = torch.arange(3.0) * (rank + 1)  # a tensor before init_process_group: the launcher made this work
dist.init_process_group(backend="gloo")
if mode == "fail":
    if rank == 1:
        raise RuntimeError("worker 1 gives up")
    time.sleep(600)  # rank 0 would wait forever: the launcher must stop it
if mode == "kill0":
    if rank == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(600)
dist.all_reduce(x)
keys = ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT",
        "TORCHELASTIC_RUN_ID"]
with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:
    f.write(repr({"env": {k: os.environ.get(k) for k in keys}, "x": x.tolist(), "torch": torch.__name__,
                  "rank": dist.get_rank(), "world": dist.get_world_size(), "argv": sys.argv[1:],
                  "elastic": dist.is_torchelastic_launched(),
                  # children of this worker (DataLoader workers) must not try to join the world again
                  "autoinit_for_children": os.environ.get("JTORCH_DIST_AUTOINIT")}))
dist.destroy_process_group()
