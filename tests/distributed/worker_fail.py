"""Failure modes of a 2-process world; prints one RESULT line the test reads.
Usage: python worker_fail.py MODE  (env: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)"""
import datetime
import os
import sys
import time

import jtorch as torch
import jtorch.distributed as dist

mode = sys.argv[1]
rank = int(os.environ["RANK"])
timeout = datetime.timedelta(seconds=float(os.environ.get("DIST_TIMEOUT", 60)))
t0 = time.monotonic()
try:
    dist.init_process_group("gloo", timeout=timeout)
except Exception as e:  # noqa: BLE001
    print(f"RESULT init-raised {type(e).__name__} {time.monotonic() - t0:.1f}s: {e}", flush=True)
    raise SystemExit(3)
print("RESULT joined", flush=True)
if mode in ("early_exit", "barrier_after_exit"):
    dist.all_reduce(torch.ones(4))  # the ranks have talked once (as in a training loop)
    if rank == 1:
        os._exit(7)  # dies without a word to anyone
    time.sleep(1)
    t0 = time.monotonic()
    try:
        for _ in range(100):
            if mode == "barrier_after_exit":
                dist.barrier()
            else:
                dist.all_reduce(torch.ones(4))
            time.sleep(0.1)
        print("RESULT no error", flush=True)
    except Exception as e:  # noqa: BLE001
        print(f"RESULT raised {type(e).__name__} {time.monotonic() - t0:.1f}s: {e}", flush=True)
        raise SystemExit(5)
