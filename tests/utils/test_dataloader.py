"""DataLoader against torch's DataLoader: same batches for the same index order, with and
without worker processes; shuffling, errors, lengths and worker behaviour."""
import gc
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import jtorch
import jtorch.utils.data as jdata
from helpers import both
from loader_datasets import Counting, Pairs, failing_init, record_seed
from tree_compare import assert_same_tree


def _tensor_datasets(rng, n=10):
    (tx, jx), (ty, jy) = both(rng.standard_normal((n, 3)).astype(np.float32)), both(rng.integers(0, 5, n))
    return tdata.TensorDataset(tx, ty), jdata.TensorDataset(jx, jy)


def _compare(j_loader, t_loader):
    j, t = list(j_loader), list(t_loader)
    assert len(j) == len(t) == len(j_loader) == len(t_loader)
    for a, b in zip(j, t):
        assert_same_tree(a, b)


@pytest.mark.parametrize("kw", [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None),
                                dict(batch_size=3, sampler=[7, 2, 9, 0, 4, 4, 1])])
def test_same_batches_as_torch(rng, kw):
    t, j = _tensor_datasets(rng)
    _compare(jdata.DataLoader(j, **kw), tdata.DataLoader(t, **kw))


def test_pin_memory_without_accelerator_warns_like_torch(rng):
    t, j = _tensor_datasets(rng)
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        tb = list(tdata.DataLoader(t, batch_size=4, pin_memory=True))
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        jb = list(jdata.DataLoader(j, batch_size=4, pin_memory=True))
    assert_same_tree(jb, tb)


def test_batch_sampler_and_custom_collate(rng):
    t, j = _tensor_datasets(rng)
    batches = [[3, 1], [0, 9, 8], [5]]
    _compare(jdata.DataLoader(j, batch_sampler=batches), tdata.DataLoader(t, batch_sampler=batches))
    data = [{"v": float(v), "tag": f"s{k}"} for k, v in enumerate(rng.standard_normal(5))]
    _compare(jdata.DataLoader(data, batch_size=2), tdata.DataLoader(data, batch_size=2))
    first = lambda batch: batch[0]  # noqa: E731
    _compare(jdata.DataLoader(data, batch_size=2, collate_fn=first), tdata.DataLoader(data, batch_size=2, collate_fn=first))


def test_shuffle_is_a_permutation_and_reproducible(rng):
    t, j = _tensor_datasets(rng, 11)
    jtorch.manual_seed(0)
    jb = list(jdata.DataLoader(j, batch_size=4, shuffle=True))
    tb = list(tdata.DataLoader(t, batch_size=4, shuffle=True))
    assert [tuple(b[0].shape) for b in jb] == [tuple(b[0].shape) for b in tb]
    rows = lambda bs: sorted(map(tuple, np.concatenate([np.asarray(b[0]) for b in bs]).tolist()))  # noqa: E731
    assert rows(jb) == rows(tb)
    order = np.concatenate([np.asarray(b[1]) for b in jb])
    assert not np.array_equal(np.concatenate([np.asarray(b[0]) for b in jb]), np.asarray(j.tensors[0]))
    jtorch.manual_seed(0)
    again = list(jdata.DataLoader(j, batch_size=4, shuffle=True))
    np.testing.assert_array_equal(np.concatenate([np.asarray(b[1]) for b in again]), order)
    g = jtorch.Generator().manual_seed(5)
    loader = jdata.DataLoader(j, batch_size=4, shuffle=True, generator=g)
    e1 = [np.asarray(b[0]) for b in loader]
    e2 = [np.asarray(b[0]) for b in loader]
    assert not all(np.array_equal(a, b) for a, b in zip(e1, e2))  # a new order each epoch


class _Stream(jdata.IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


class _TStream(tdata.IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


def test_iterable_dataset_single_process(rng):
    items = [(rng.standard_normal(2).astype(np.float32), int(k)) for k in range(7)]
    for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        j = list(jdata.DataLoader(_Stream(items), **kw))
        t = list(tdata.DataLoader(_TStream(items), **kw))
        assert len(j) == len(t)
        for a, b in zip(j, t):
            assert_same_tree(a, b)
    assert len(jdata.DataLoader(Counting(7), batch_size=3)) == len(tdata.DataLoader(range(7), batch_size=3)) == 3
    with pytest.raises(TypeError):
        len(jdata.DataLoader(_Stream(items)))


def test_argument_errors_like_torch():
    ds = list(range(6))
    cases = [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
             dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
             dict(batch_size=None, drop_last=True), dict(num_workers=1, multiprocessing_context="nope")]
    for kw in cases:
        with pytest.raises(ValueError) as te:
            tdata.DataLoader(ds, **kw)
        with pytest.raises(ValueError, match=str(te.value)[:30]):
            jdata.DataLoader(ds, **kw)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        jdata.DataLoader(_Stream([1]), shuffle=True)
    loader = jdata.DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3


# ---------------------------------------------------------------- worker processes (kept few: each spawns 2)

def test_workers_give_torchs_batches(rng):
    x = rng.standard_normal((9, 3)).astype(np.float32)
    y = rng.integers(0, 5, 9)
    order = [int(i) for i in rng.permutation(9)]
    t = tdata.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = jdata.DataLoader(Pairs(x, y), batch_size=2, sampler=order, num_workers=2, worker_init_fn=record_seed)
    batches = list(loader)
    expected = list(tdata.DataLoader(t, batch_size=2, sampler=order))
    assert len(batches) == len(expected) == len(loader)
    for (jx, jy, wid), (tx, ty) in zip(batches, expected):
        assert_same_tree([jx, jy], [tx, ty])
    # batches are handed to the workers round-robin and come back in order
    assert [int(b[2][0]) for b in batches] == [0, 1, 0, 1, 0]


def test_worker_error_surfaces_with_its_traceback(rng):
    x = rng.standard_normal((6, 2))
    it = iter(jdata.DataLoader(Pairs(x, range(6), fail_at=3), batch_size=2, num_workers=2))
    assert next(it)[1].tolist() == [0, 1]
    with pytest.raises(KeyError) as e:
        next(it)
    msg = str(e.value)
    assert "Caught KeyError in DataLoader worker process 1" in msg
    assert "Traceback" in msg and "no sample 3" in msg and "loader_datasets.py" in msg
    # like torch, the iterator goes on with the next batch
    assert next(it)[1].tolist() == [4, 5]
    with pytest.raises(StopIteration):
        next(it)


def test_worker_init_fn_error_surfaces():
    loader = jdata.DataLoader(list(range(4)), batch_size=2, num_workers=1, worker_init_fn=failing_init)
    it = iter(loader)
    for _ in range(2):  # every batch reports the failed startup
        with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process 0") as e:
            next(it)
        assert "cannot set up worker 0" in str(e.value)


def test_iterable_dataset_in_persistent_workers():
    loader = jdata.DataLoader(Counting(7), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):  # the same two workers serve both epochs
        batches = list(loader)
        values = sorted(int(v) for b in batches for v in b[0])
        assert values == list(range(7))  # each worker yielded its own share
        assert {int(w) for b in batches for w in b[1]} == {0, 1}
        assert all(b[0].dtype == jtorch.int64 for b in batches)
    pids = [w.pid for w in loader._iterator._workers]
    it = iter(loader)
    next(it)  # an epoch abandoned early: its stale results must not leak into the next one
    values = sorted(int(v) for b in loader for v in b[0])
    assert values == list(range(7))
    assert [w.pid for w in loader._iterator._workers] == pids


def test_worker_timeout_raises(rng):
    # the timeout counts from when the workers are up (spawning them takes longer than this); the sleep is
    # long enough that a worker that came up late on a loaded machine cannot deliver within the timeout
    loader = jdata.DataLoader(Pairs(rng.standard_normal((4, 2)), range(4), sleep=3.0), batch_size=1, num_workers=2,
                              timeout=0.3)
    it = iter(loader)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.3 seconds"):
        next(it)
    workers = list(it._workers)
    del it  # dropping the iterator shuts its workers down
    gc.collect()
    assert not any(w.is_alive() for w in workers)


def test_no_hang_at_exit(tmp_path):
    """A script that stops reading mid-epoch exits promptly and leaves no worker behind. Like
    torch's fork-based workers on Linux, it needs no ``__main__`` guard, and its own Dataset
    class reaches the workers (the script is not re-run in them)."""
    script = tmp_path / "stop_early.py"
    script.write_text(textwrap.dedent("""
        import jtorch
        from jtorch.utils.data import DataLoader, Dataset
        print("body", flush=True)

        class Doubles(Dataset):
            def __len__(self):
                return 100

            def __getitem__(self, i):
                return jtorch.tensor(2 * i)

        it = iter(DataLoader(Doubles(), batch_size=2, num_workers=2))
        print(next(it).tolist(), next(it).tolist(), [w.pid for w in it._workers], flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(jtorch.__file__)),
                                                      os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    body, batches = out.stdout.strip().split("\n")
    assert body == "body"
    assert batches.startswith("[0, 2] [4, 6] [")
    for pid in eval(batches[len("[0, 2] [4, 6] "):]):
        assert not _alive(pid)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_tensors_cross_processes_by_value(rng):
    """What workers send and receive: tensors travel as numpy and come back equal (0-d too)."""
    from jtorch.utils.data import _worker
    items = [jtorch.tensor(rng.standard_normal((2, 3)).astype(np.float32)), jtorch.tensor(int(rng.integers(9))),
             jtorch.tensor(rng.standard_normal(()).astype(np.float64)), jtorch.tensor(rng.integers(0, 2, 4) > 0),
             jtorch.tensor(rng.standard_normal(3).astype(np.float32)).requires_grad_()]
    for by_value in (False, True):
        back = pickle.loads(_worker.dumps(items, by_value=by_value))
        for a, b in zip(back, items):
            assert type(a) is jtorch.Tensor and a.requires_grad == b.requires_grad
            j = a.detach()
            assert j.dtype == b.dtype and tuple(j.shape) == tuple(b.shape)
            np.testing.assert_array_equal(np.asarray(j), np.asarray(b.detach()))
