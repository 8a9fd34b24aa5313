"""torch.multiprocessing: the standard library's multiprocessing API plus ``spawn``.

jtorch tensors pickle by value (JAX arrays are immutable; there is no shared-memory storage),
so sharing strategies are accepted and ignored. Start processes with 'spawn' (the default
here): forking a process after JAX started its threads can deadlock the child.
"""
import multiprocessing
from multiprocessing import *  # noqa: F401,F403  (Process, Queue, Pool, get_context, ...)
from multiprocessing import (Array, Barrier, BoundedSemaphore, Condition, Event, JoinableQueue, Lock, Manager,  # noqa
                             Pipe, Pool, Process, Queue, RLock, RawArray, RawValue, Semaphore, SimpleQueue, Value,
                             active_children, cpu_count, current_process, freeze_support, get_all_start_methods,
                             get_context, get_logger, get_start_method, log_to_stderr, parent_process,
                             set_executable, set_forkserver_preload, set_start_method, AuthenticationError,
                             BufferTooShort, ProcessError, TimeoutError)

from .spawn import (spawn, start_processes, ProcessContext, SpawnContext, ProcessException,  # noqa: F401
                    ProcessRaisedException, ProcessExitedException)

_strategy = ["file_system"]


def get_all_sharing_strategies():
    return {"file_descriptor", "file_system"}


def get_sharing_strategy():
    return _strategy[0]


def set_sharing_strategy(new_strategy):
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"invalid sharing strategy {new_strategy!r}")
    _strategy[0] = new_strategy


def init_reductions():
    pass
