"""Concater, Zipper, Multiplexer (several pipes into one); Forker, Demultiplexer (one into several)."""
import copy as copymodule
from collections import deque

from ..datapipe import IterDataPipe
from ..utils.common import _check_unpickable_fn


def _no_length(dp):
    return TypeError(f"{type(dp).__name__} instance doesn't have valid length")


class ConcaterIterDataPipe(IterDataPipe):
    """The pipes' samples one pipe after another."""

    def __init__(self, *datapipes):
        if len(datapipes) == 0:
            raise ValueError("Expected at least one DataPipe, but got nothing")
        if not all(isinstance(dp, IterDataPipe) for dp in datapipes):
            raise TypeError("Expected all inputs to be `IterDataPipe`")
        self.datapipes = datapipes

    def __iter__(self):
        for dp in self.datapipes:
            yield from dp

    def __len__(self):
        if all(hasattr(dp, "__len__") for dp in self.datapipes):
            return sum(len(dp) for dp in self.datapipes)
        raise _no_length(self)


class ZipperIterDataPipe(IterDataPipe):
    """Tuples of one sample from each pipe, until the shortest ends."""

    def __init__(self, *datapipes):
        if not all(isinstance(dp, IterDataPipe) for dp in datapipes):
            raise TypeError("All inputs are required to be `IterDataPipe` for `ZipIterDataPipe`.")
        self.datapipes = datapipes

    def __iter__(self):
        iterators = [iter(dp) for dp in self.datapipes]
        yield from zip(*iterators)

    def __len__(self):
        if all(hasattr(dp, "__len__") for dp in self.datapipes):
            return min(len(dp) for dp in self.datapipes)
        raise _no_length(self)


class MultiplexerIterDataPipe(IterDataPipe):
    """One sample from each pipe in turn; stops at the first round a pipe cannot complete."""

    def __init__(self, *datapipes):
        self.datapipes = datapipes
        self.buffer = []

    def __iter__(self):
        iterators = [iter(dp) for dp in self.datapipes]
        while iterators:
            for it in iterators:
                try:
                    self.buffer.append(next(it))
                except StopIteration:
                    self.buffer.clear()
                    return
            yield from self.buffer
            self.buffer.clear()

    def __len__(self):
        if all(hasattr(dp, "__len__") for dp in self.datapipes):
            return min(len(dp) for dp in self.datapipes) * len(self.datapipes)
        raise _no_length(self)

    def reset(self):
        self.buffer = []

    def __getstate__(self):
        state = dict(self.__dict__)
        state["buffer"] = []
        return state


# ---------------------------------------------------------------- one source, several children

class _ChildDataPipe(IterDataPipe):
    """Child ``instance_id`` of a Forker or Demultiplexer: its samples come through the parent."""

    def __init__(self, main_datapipe, instance_id):
        self.main_datapipe = main_datapipe
        self.instance_id = instance_id

    def __iter__(self):
        return self.main_datapipe._child_iter(self.instance_id)

    def __len__(self):
        return self.main_datapipe._child_len(self.instance_id)


class _SharedSource:
    """A source iterated once on behalf of several children; subclasses decide who gets what."""

    def _child_iter(self, instance_id):
        self._child_starts(instance_id)
        while True:
            try:
                value = self._next_for(instance_id)
            except StopIteration:
                self._done[instance_id] = True
                return
            yield value

    def _child_starts(self, instance_id):
        # a child that starts again, or a new pass after every child finished, restarts the source
        if self._source_iter is None or self._started[instance_id] or all(self._done):
            self._restart()
        self._started[instance_id] = True

    def _restart(self):
        self._source_iter = iter(self.main_datapipe)
        self._source_ended = False
        self._started = [False] * self.num_instances
        self._done = [False] * self.num_instances
        self._clear_buffers()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_source_iter"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._restart_state()


class _ForkerIterDataPipe(_SharedSource, IterDataPipe):
    """Every child sees every sample; samples the slowest child has not read yet are buffered."""

    def __init__(self, datapipe, num_instances, buffer_size=1000, copy=None):
        self.main_datapipe = datapipe
        self.num_instances = num_instances
        self.buffer_size = buffer_size
        if copy is None:
            self.copy_fn = None
        elif copy == "shallow":
            self.copy_fn = copymodule.copy
        elif copy == "deep":
            self.copy_fn = copymodule.deepcopy
        else:
            raise ValueError(f"Unknown copy method `{copy}` requested, choose one of None, `shallow` or `deep`.")
        self._restart_state()

    def _restart_state(self):
        self._source_iter = None
        self._source_ended = False
        self._started = [False] * self.num_instances
        self._done = [False] * self.num_instances
        self._clear_buffers()

    def _clear_buffers(self):
        self.buffer = deque()
        self.child_pointers = [0] * self.num_instances  # index of each child's next sample
        self.slowest_ptr = 0  # index of buffer[0]
        self.leading_ptr = 0  # samples read from the source so far

    def _next_for(self, i):
        ptr = self.child_pointers[i]
        if ptr < self.leading_ptr:
            value = self.buffer[ptr - self.slowest_ptr]
        else:
            if self._source_ended:
                raise StopIteration
            try:
                value = next(self._source_iter)
            except StopIteration:
                self._source_ended = True
                raise
            self.leading_ptr += 1
            self.buffer.append(value)
        self.child_pointers[i] = ptr + 1
        self._drop_read()
        if 0 <= self.buffer_size < len(self.buffer):
            raise BufferError(f"ForkerIterDataPipe buffer overflow,buffer size {self.buffer_size} is insufficient.")
        return self.copy_fn(value) if self.copy_fn is not None else value

    def _drop_read(self):
        slowest = min(self.child_pointers)
        while self.slowest_ptr < slowest:
            self.buffer.popleft()
            self.slowest_ptr += 1

    def _child_len(self, i):
        return len(self.main_datapipe)

    def __iter__(self):  # children iterate; the forker itself only passes its source through
        yield from self.main_datapipe

    def __len__(self):
        return len(self.main_datapipe)


class ForkerIterDataPipe(IterDataPipe):
    """``num_instances`` children that each yield all of ``datapipe``'s samples (with ``copy``
    'shallow' or 'deep' each child gets its own copies). At most ``buffer_size`` samples wait for
    the slowest child (-1: no limit). One instance is ``datapipe`` itself."""

    def __new__(cls, datapipe, num_instances, buffer_size=1000, copy=None):
        if num_instances < 1:
            raise ValueError(f"Expected `num_instances` larger than 0, but {num_instances} is found")
        if num_instances == 1:
            return datapipe
        forker = _ForkerIterDataPipe(datapipe, num_instances, buffer_size, copy)
        return [_ChildDataPipe(forker, i) for i in range(num_instances)]


class _DemultiplexerIterDataPipe(_SharedSource, IterDataPipe):
    """Sends each sample to the child ``classifier_fn`` names, buffering those others are due."""

    def __init__(self, datapipe, num_instances, classifier_fn, drop_none, buffer_size):
        self.main_datapipe = datapipe
        self.num_instances = num_instances
        self.buffer_size = buffer_size
        self.classifier_fn = classifier_fn
        self.drop_none = drop_none
        self._restart_state()

    _restart_state = _ForkerIterDataPipe._restart_state

    def _clear_buffers(self):
        self.child_buffers = [deque() for _ in range(self.num_instances)]
        self.current_buffer_usage = 0

    def _classify(self, value):
        target = self.classifier_fn(value)
        if target is None and self.drop_none:
            return None
        if not (isinstance(target, int) and 0 <= target < self.num_instances):
            raise ValueError(f"Output of the classification fn should be between 0 and {self.num_instances - 1}. "
                             f"{target} is returned.")
        return target

    def _next_for(self, i):
        if self.child_buffers[i]:
            self.current_buffer_usage -= 1
            return self.child_buffers[i].popleft()
        while not self._source_ended:
            try:
                value = next(self._source_iter)
            except StopIteration:
                self._source_ended = True
                break
            target = self._classify(value)
            if target is None:
                continue
            if target == i:
                return value
            self.child_buffers[target].append(value)
            self.current_buffer_usage += 1
            if 0 <= self.buffer_size < self.current_buffer_usage:
                raise BufferError(f"DemultiplexerIterDataPipe buffer overflow, buffer size {self.buffer_size} is "
                                  "insufficient.")
        raise StopIteration

    def _child_len(self, i):
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")

    def __iter__(self):
        yield from self.main_datapipe


class DemultiplexerIterDataPipe(IterDataPipe):
    """Splits ``datapipe`` into ``num_instances`` children by ``classifier_fn(sample)`` (an index;
    None drops the sample when ``drop_none``). At most ``buffer_size`` samples wait (-1: no limit)."""

    def __new__(cls, datapipe, num_instances, classifier_fn, drop_none=False, buffer_size=1000):
        if num_instances < 1:
            raise ValueError(f"Expected `num_instances` larger than 0, but {num_instances} is found")
        _check_unpickable_fn(classifier_fn)
        if num_instances == 1:
            return datapipe
        demux = _DemultiplexerIterDataPipe(datapipe, num_instances, classifier_fn, drop_none, buffer_size)
        return [_ChildDataPipe(demux, i) for i in range(num_instances)]
