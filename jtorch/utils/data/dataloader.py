"""DataLoader: batches from a dataset, in the main process or in worker processes."""
import itertools
import multiprocessing
import os
import pickle
import queue
import warnings

import jtorch as torch

from . import _worker
from ._collate import default_collate, default_convert
from .dataset import IterableDataset
from .datapipes.datapipe import (IterDataPipe, MapDataPipe, _IterDataPipeSerializationWrapper,
                                 _MapDataPipeSerializationWrapper)
from .graph_settings import apply_random_seed, apply_sharding, apply_shuffle_settings
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

# the start method used when none is given: fork is unsafe once JAX runs threads (see _worker)
DEFAULT_START_METHOD = "spawn"


class _InfiniteConstantSampler(Sampler):
    """Index source for iterable datasets: None forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _check_context(ctx):
    if ctx is None:
        return None
    if isinstance(ctx, str):
        methods = multiprocessing.get_all_start_methods()
        if ctx not in methods:
            raise ValueError("multiprocessing_context option should specify a valid start method in "
                             f"{methods!r}, but got multiprocessing_context={ctx!r}")
        return multiprocessing.get_context(ctx)
    if not isinstance(ctx, multiprocessing.context.BaseContext):
        raise TypeError("multiprocessing_context option should be a valid context object or a string "
                        f"specifying the start method, but got multiprocessing_context={ctx}")
    return ctx


class DataLoader:
    """Combines a dataset and a sampler and iterates over batches (see torch.utils.data.DataLoader).

    ``num_workers > 0`` loads in spawned worker processes (never forked: JAX's threads make a
    forked child liable to deadlock). The dataset, collate_fn and worker_init_fn are sent to
    them by value with cloudpickle, so lambdas, notebook classes and scripts without an
    ``if __name__ == "__main__":`` guard work as with torch's fork-based workers on Linux.
    Batches come back as numpy and become tensors in the main process.
    """

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        # pipes travel to workers wrapped (pickled with dill where installed and plain pickle fails)
        if isinstance(dataset, IterDataPipe):
            dataset = _IterDataPipeSerializationWrapper(dataset)
        elif isinstance(dataset, MapDataPipe):
            dataset = _MapDataPipeSerializationWrapper(dataset)
        self._iterable = isinstance(dataset, IterableDataset)
        if isinstance(dataset, IterDataPipe):
            # shuffle turns the pipeline's Shufflers on or off (None leaves them). As in torch, a
            # Shuffler added for a pipeline without one is not kept: such a pipeline stays in order.
            apply_shuffle_settings(dataset, shuffle=shuffle)
            shuffle = None
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value}")
        else:
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self.__initialized = True

    # torch forbids changing these once built: the samplers were derived from them
    def __setattr__(self, name, value):
        if self.__dict__.get("_DataLoader__initialized") and name in self._FROZEN:
            raise ValueError(f"{name} attribute should not be set after {self.__class__.__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        return self.__mp_ctx

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if ctx is not None and self.num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={self.num_workers}")
        self.__mp_ctx = _check_context(ctx)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        return _MultiProcessIter(self)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self):
        if self._iterable:
            length = len(self.dataset)  # TypeError when the dataset has no length, like torch
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __class_getitem__(cls, item):
        return cls


def _draw_seed(generator):
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


def _shared_seed(generator):
    """The epoch's seed for a pipeline's random pipes: drawn here, and rank 0's across ranks (every
    rank shuffles alike before its ShardingFilters keep its share)."""
    seed = _draw_seed(generator)
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        t = torch.tensor([seed], dtype=torch.int64)
        dist.broadcast(t, src=0)
        seed = int(t.item())
    return seed


def _world():
    """(world size, rank) of torch.distributed, or (1, 0)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class _BaseIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._generator = loader.generator
        accel = getattr(torch, "accelerator", None)
        if loader.pin_memory and not (accel is not None and accel.is_available()):
            # like torch: pinning needs an accelerator; batches are used as they are
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", stacklevel=3)
        _BaseIter._reset(self, loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._shared_seed = None
        if isinstance(self._dataset, IterDataPipe):
            # a pipeline's random pipes get one seed per epoch, the same in every worker, so that
            # sharded workers split one shuffled order
            self._shared_seed = _shared_seed(self._generator)
            if self._num_workers == 0:
                apply_random_seed(self._dataset, torch.Generator().manual_seed(self._shared_seed))
        # one draw per epoch seeds the workers (torch draws it even without workers)
        self._base_seed = _draw_seed(self._generator)

    def _next_index(self):
        return next(self._sampler_iter)

    def __iter__(self):
        return self

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        return data

    def __len__(self):
        return len(self._index_sampler)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        if isinstance(self._dataset, (IterDataPipe, MapDataPipe)):
            # a pipeline's ShardingFilters give this rank its share (all of it without distributed),
            # replacing any DEFAULT sharding applied before, as torch does
            apply_sharding(self._dataset, *_world())
        self._fetcher = _worker.make_fetcher(self._iterable, self._dataset, self._auto_collation,
                                             self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(self._next_index())


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader):
        self._shutdown = True  # until workers exist, __del__ has nothing to do
        super().__init__(loader)  # also draws the workers' base seed
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        ctx = loader.multiprocessing_context or multiprocessing.get_context(DEFAULT_START_METHOD)
        n = self._num_workers
        payload = _worker.dumps((self._iterable, self._dataset, self._auto_collation, self._collate_fn,
                                 self._drop_last, loader.worker_init_fn), by_value=True)
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues, self._workers = [], []
        self._ready = 0  # workers that finished starting up
        self._shutdown = False
        world_size, rank = _world()
        with _worker.main_not_reimported(_worker.payload_by_value()):
            for wid in range(n):
                iq = ctx.Queue()
                iq.cancel_join_thread()  # never block our exit on unsent indices
                w = ctx.Process(target=_worker.worker_loop,
                                args=(payload, iq, self._result_queue, self._done_event, wid, n,
                                      self._base_seed + wid, os.getpid(), self._shared_seed, world_size, rank),
                                daemon=True)
                w.start()
                self._index_queues.append(iq)
                self._workers.append(w)
        self._start_epoch(first_iter=True)

    def _reset(self, loader, first_iter=False):
        _BaseIter._reset(self, loader, first_iter)
        self._start_epoch(first_iter)

    def _start_epoch(self, first_iter):
        self._send_idx = 0  # next task id to hand out
        self._rcvd_idx = 0  # next task id to yield
        self._task_info = {}  # task id -> [worker id] or [worker id, result]
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:  # persistent workers: start a new epoch and wait until all are ready
            for q in self._index_queues:
                q.put(_worker.ResumeIteration(self._shared_seed))
            waiting = self._num_workers
            while waiting:
                idx, _ = self._get_data()
                if isinstance(idx, _worker.ResumeIteration):
                    waiting -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        if self._tasks_outstanding >= self._prefetch_factor * self._num_workers:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next worker still producing
            wid = next(self._worker_cycle)
            if self._workers_status[wid]:
                break
        else:
            return
        self._index_queues[wid].put((self._send_idx, index))
        self._task_info[self._send_idx] = [wid]
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _get_data(self):
        """The next (task id, result) from any worker; raises if workers die or time runs out."""
        while True:
            starting = self._ready < self._num_workers
            wait = self._timeout if self._timeout > 0 and not starting else _worker.STATUS_CHECK_INTERVAL
            try:
                msg = pickle.loads(self._result_queue.get(timeout=wait))
            except queue.Empty:
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead and not self._shutdown:
                    self._shutdown_workers()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                                       "unexpectedly") from None
                if self._timeout > 0 and not starting:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
                continue
            if isinstance(msg[0], _worker.WorkerReady):
                self._ready += 1
                continue
            return msg

    def _next_data(self):
        while True:
            # skip tasks of workers whose iterable dataset ran out
            # (and, when not in order, tasks already yielded)
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._workers_status[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived earlier, out of order
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process(data)
            if self._shutdown:
                raise StopIteration
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _worker.IterableDatasetStopIteration):
                wid = data.worker_id
                self._workers_status[wid] = False
                # its other queued tasks will never be answered: free their prefetch slots
                for k in [k for k, info in self._task_info.items() if info[0] == wid and len(info) == 1]:
                    del self._task_info[k]
                    self._tasks_outstanding -= k != idx
                self._try_put_index()
                continue
            if idx != self._rcvd_idx and self._in_order:
                self._task_info[idx].append(data)
                continue
            del self._task_info[idx]
            if idx == self._rcvd_idx:
                self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _shutdown_workers(self):
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for q in self._index_queues:
                try:
                    q.put(None)
                except Exception:
                    pass
            for w in self._workers:
                w.join(timeout=_worker.STATUS_CHECK_INTERVAL)
                if w.is_alive():
                    w.terminate()
            for q in self._index_queues:
                q.close()
            self._result_queue.cancel_join_thread()
            self._result_queue.close()
        except Exception:  # interpreter shutdown: modules may be half torn down
            pass

    def __del__(self):
        self._shutdown_workers()

