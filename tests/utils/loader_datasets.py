"""Datasets for the DataLoader worker tests. Workers are spawned processes that import this
module by name, so it stays small and imports jtorch only (not torch)."""
import math
import time

import numpy as np

import jtorch
from jtorch.utils.data import Dataset, IterableDataset, get_worker_info


class Pairs(Dataset):
    """Item i: (jtorch float tensor row i, int label i, worker id or -1 in the main process)."""

    def __init__(self, x, y, fail_at=None, sleep=0.0):
        self.x, self.y, self.fail_at, self.sleep = jtorch.tensor(x), [int(v) for v in y], fail_at, sleep

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"no sample {i}")
        if self.sleep:
            time.sleep(self.sleep)
        info = get_worker_info()
        return self.x[i], self.y[i], -1 if info is None else info.id


class Counting(IterableDataset):
    """0..n-1, split between workers by get_worker_info(); each item is (value, worker id)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            lo, hi = 0, self.n
        else:
            per = math.ceil(self.n / info.num_workers)
            lo, hi = info.id * per, min(self.n, (info.id + 1) * per)
        for v in range(lo, hi):
            yield np.int64(v), -1 if info is None else info.id


def record_seed(worker_id):
    """worker_init_fn: checks the worker info it sees (a failed check fails the loader)."""
    info = get_worker_info()
    assert info.id == worker_id and info.num_workers == 2 and isinstance(info.dataset, Pairs)
    assert jtorch.initial_seed() == info.seed  # each worker's generator is seeded with its own seed
    try:
        info.id = 5
    except RuntimeError as e:
        assert "Cannot assign attributes to WorkerInfo objects" in str(e)
    else:
        raise AssertionError("WorkerInfo is read-only")


def failing_init(worker_id):
    raise ValueError(f"cannot set up worker {worker_id}")
