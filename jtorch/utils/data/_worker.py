"""DataLoader worker processes.

Workers are started with ``spawn`` (not ``fork``): the parent runs JAX, whose threads make a
forked child liable to deadlock. Everything crossing a process boundary is pickled here
with a reducer that turns jtorch tensors into numpy arrays, rebuilt as tensors on arrival:
datasets holding tensors reach the workers that way, and batches come back as numpy that the
main process turns into tensors. Results are pickled inside the worker's own thread, so an
unpicklable batch becomes an error in the main process rather than a lost message and a hang.
"""
import contextlib
import copyreg
import io
import os
import pickle
import queue
import random
import sys
import traceback
from multiprocessing.reduction import ForkingPickler

import numpy as np

import jtorch as torch

from . import _collate

# how often a blocked worker / main process wakes up to check that its peer is alive
STATUS_CHECK_INTERVAL = 5.0

_WORKER_INFO = None


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: id, num_workers, seed, dataset."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info():
    """Inside a DataLoader worker: its WorkerInfo (its copy of the dataset included). Else None."""
    return _WORKER_INFO


# ---------------------------------------------------------------- errors across processes

class KeyErrorMessage(str):
    """KeyError quotes its message with repr(); this keeps a multi-line traceback readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in a worker: its type and formatted traceback, re-raised in the main process."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception type that cannot be built from a message
            raise RuntimeError(msg) from None
        raise exc


# ---------------------------------------------------------------- pickling tensors as numpy

def _rebuild_tensor(array, requires_grad):
    t = torch.tensor(array)  # a plain copy: a non-aliased from_numpy buffer is re-read on every use
    if requires_grad:
        t.requires_grad_(True)
    return t


def _reduce_tensor(t):
    return _rebuild_tensor, (np.asarray(t.detach()), bool(t.requires_grad))


ForkingPickler.register(torch.Tensor, _reduce_tensor)


def _cloudpickle():
    try:
        import cloudpickle
        return cloudpickle
    except ImportError:
        return None


def _cloud_dumps(cloudpickle, obj):
    buf = io.BytesIO()
    p = cloudpickle.CloudPickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    base = getattr(cloudpickle.CloudPickler, "dispatch_table", copyreg.dispatch_table)
    p.dispatch_table = {**dict(base), torch.Tensor: _reduce_tensor}
    p.dump(obj)
    return buf.getvalue()


def payload_by_value():
    """Whether worker payloads go by value (cloudpickle installed): then a worker needs nothing
    from the main script and need not re-import it (see ``main_not_reimported``)."""
    return _cloudpickle() is not None


@contextlib.contextmanager
def main_not_reimported(enabled):
    """While starting spawned workers: keep multiprocessing from re-running the main script in
    them. It records ``__main__.__file__`` for the child to import as ``__mp_main__``; scripts
    without an ``if __name__ == "__main__":`` guard would then build loaders in the child."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not enabled or main is None or getattr(main, "__spec__", None) is not None or path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def dumps(obj, by_value=False):
    """Pickle for another process. With ``by_value`` (the dataset / collate_fn / worker_init_fn
    sent to new workers) cloudpickle is used when installed: it sends lambdas, local classes and
    classes of ``__main__`` by value, which a spawned worker could not import otherwise (notebooks,
    ``python -c``). Without cloudpickle, or for results, plain pickle (with cloudpickle as the
    fallback for what plain pickle refuses)."""
    cp = _cloudpickle()
    if by_value and cp is not None:
        return _cloud_dumps(cp, obj)
    buf = io.BytesIO()
    try:
        ForkingPickler(buf, pickle.HIGHEST_PROTOCOL).dump(obj)
        return buf.getvalue()
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        if cp is None:
            raise type(e)(f"{e}\n(DataLoader workers are spawned processes: the dataset, collate_fn and "
                          "worker_init_fn must be picklable, i.e. defined at module level; installing "
                          "cloudpickle lifts this)") from e
        return _cloud_dumps(cp, obj)


# ---------------------------------------------------------------- fetching samples

class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if self.auto_collation and self.collate_fn is _collate.default_collate:
            fast = getattr(self.dataset, "_default_collated", None)  # TensorDataset and its Subsets
            batch = fast(index) if fast is not None else None
            if batch is not None:
                return batch
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if getitems else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.it = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.it))
        data = []
        for _ in index:
            try:
                data.append(next(self.it))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# ---------------------------------------------------------------- the worker process

class ResumeIteration:
    """Sent to persistent workers at the start of each epoch after the first (with the epoch's
    seed for a DataPipe's random pipes)."""

    def __init__(self, shared_seed=None):
        self.shared_seed = shared_seed


class WorkerReady:
    """Sent once a worker has loaded the dataset and run worker_init_fn: the loader's
    ``timeout`` counts from then, not from the (slow) spawn of the process."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class IterableDatasetStopIteration:
    def __init__(self, worker_id):
        self.worker_id = worker_id


def _seed_worker(seed, worker_id):
    random.seed(seed)
    torch.manual_seed(seed)
    np.random.seed([worker_id, seed & 0xFFFF_FFFF, (seed >> 32) & 0xFFFF_FFFF])


def _seed_datapipe(dataset, shared_seed):
    """Seed a DataPipe's random pipes alike in every worker (one shuffled order to shard)."""
    from .datapipes.datapipe import IterDataPipe
    from .graph_settings import apply_random_seed
    if shared_seed is not None and isinstance(dataset, IterDataPipe):
        apply_random_seed(dataset, torch.Generator().manual_seed(shared_seed))


def _shard_datapipe(dataset, worker_id, num_workers, world_size, rank):
    """Each worker of each rank keeps its own share of a DataPipe's samples (at its ShardingFilters)."""
    from .datapipes.datapipe import IterDataPipe
    from .graph_settings import apply_sharding
    if isinstance(dataset, IterDataPipe):
        apply_sharding(dataset, num_workers * world_size, worker_id * world_size + rank)


def worker_loop(payload, index_queue, result_queue, done_event, worker_id, num_workers, seed, parent_pid,
                shared_seed=None, world_size=1, rank=0):
    global _WORKER_INFO
    where = f"in DataLoader worker process {worker_id}"

    def send(idx, data):
        try:
            msg = dumps((idx, data))
        except Exception:  # an unpicklable batch: report it instead of losing it
            msg = dumps((idx, ExceptionWrapper(where=where)))
        result_queue.put(msg)

    init_error, fetcher, args = None, None, None
    try:
        _seed_worker(seed, worker_id)
        args = pickle.loads(payload)  # (iterable, dataset, auto_collation, collate_fn, drop_last, init_fn)
        _WORKER_INFO = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=args[1])
        _seed_datapipe(args[1], shared_seed)
        _shard_datapipe(args[1], worker_id, num_workers, world_size, rank)
        if args[5] is not None:
            args[5](worker_id)
        fetcher = make_fetcher(*args[:5])
    except Exception:
        init_error = ExceptionWrapper(where=where)
    send(WorkerReady(worker_id), None)

    iteration_end = False
    try:
        while True:
            try:
                task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process died: nobody will stop us
                    break
                continue
            if task is None:  # shutdown
                break
            if isinstance(task, ResumeIteration):
                iteration_end = False
                if init_error is None and args[0]:
                    try:
                        _seed_datapipe(args[1], task.shared_seed)
                        fetcher = make_fetcher(*args[:5])  # a fresh iterator over the dataset
                    except Exception:
                        init_error = ExceptionWrapper(where=where)
                send(task, None)
                continue
            if done_event.is_set() or iteration_end:
                continue
            idx, index = task
            if init_error is not None:  # startup failed: every batch reports why
                data = init_error
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not args[0]:
                        data = ExceptionWrapper(where=where)
                    else:
                        data, iteration_end = IterableDatasetStopIteration(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where=where)
            send(idx, data)
            del data
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        result_queue.cancel_join_thread()  # results nobody will read must not block our exit
        result_queue.close()
