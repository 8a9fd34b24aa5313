"""Batcher, UnBatcher, Grouper: samples into DataChunks and back."""
from collections import defaultdict

from ..datapipe import DataChunk, IterDataPipe
from ..utils.common import _check_unpickable_fn


def _no_length(dp):
    return TypeError(f"{type(dp).__name__} instance doesn't have valid length")


class BatcherIterDataPipe(IterDataPipe):
    """Consecutive samples in batches of ``batch_size`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, datapipe, batch_size, drop_last=False, wrapper_class=DataChunk):
        assert batch_size > 0, "Batch size is required to be larger than 0!"
        self.datapipe = datapipe
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.wrapper_class = wrapper_class

    def __iter__(self):
        batch = []
        for x in self.datapipe:
            batch.append(x)
            if len(batch) == self.batch_size:
                yield self.wrapper_class(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.wrapper_class(batch)

    def __len__(self):
        if not hasattr(self.datapipe, "__len__"):
            raise _no_length(self)
        n = len(self.datapipe)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class UnBatcherIterDataPipe(IterDataPipe):
    """Undoes batching ``unbatch_level`` levels deep (-1: all the way down)."""

    def __init__(self, datapipe, unbatch_level=1):
        self.datapipe = datapipe
        self.unbatch_level = unbatch_level

    def __iter__(self):
        for element in self.datapipe:
            yield from self._dive(element, self.unbatch_level)

    def _dive(self, element, level):
        if level < -1:
            raise ValueError("unbatch_level must be -1 or >= 0")
        if level == -1:
            if isinstance(element, list):
                for item in element:
                    yield from self._dive(item, -1)
            else:
                yield element
        elif level == 0:
            yield element
        elif isinstance(element, list):
            for item in element:
                yield from self._dive(item, level - 1)
        else:
            raise IndexError(f"unbatch_level {self.unbatch_level} exceeds the depth of the DataPipe")


class GrouperIterDataPipe(IterDataPipe):
    """Groups samples by ``group_key_fn``. A group is yielded when it reaches ``group_size``; when
    ``buffer_size`` samples are held the largest group is yielded early (an error, or dropped with
    ``drop_remaining``, if smaller than ``guaranteed_group_size``); the rest come at the end."""

    def __init__(self, datapipe, group_key_fn, *, keep_key=False, buffer_size=10000, group_size=None,
                 guaranteed_group_size=None, drop_remaining=False):
        _check_unpickable_fn(group_key_fn)
        self.datapipe = datapipe
        self.group_key_fn = group_key_fn
        self.keep_key = keep_key
        self.max_buffer_size = buffer_size
        self.buffer_elements = defaultdict(list)
        self.curr_buffer_size = 0
        self.group_size = group_size
        self.guaranteed_group_size = None
        if group_size is not None and buffer_size is not None:
            assert 0 < group_size <= buffer_size, "group_size must be > 0 and <= buffer_size"
            self.guaranteed_group_size = group_size
        if guaranteed_group_size is not None:
            assert group_size is not None and 0 < guaranteed_group_size <= group_size, (
                "guaranteed_group_size must be > 0 and <= group_size and group_size must be set")
            self.guaranteed_group_size = guaranteed_group_size
        self.drop_remaining = drop_remaining
        self.wrapper_class = DataChunk

    def _emit(self, key, group):
        chunk = self.wrapper_class(group)
        return (key, chunk) if self.keep_key else chunk

    def _evict_largest(self):
        key = max(self.buffer_elements, key=lambda k: len(self.buffer_elements[k]))  # first of equals
        group = self.buffer_elements.pop(key)
        self.curr_buffer_size -= len(group)
        if self.guaranteed_group_size is not None and len(group) < self.guaranteed_group_size:
            if not self.drop_remaining:
                raise RuntimeError("Failed to group items", str(group))
            return None
        return key, group

    def __iter__(self):
        for x in self.datapipe:
            key = self.group_key_fn(x)
            self.buffer_elements[key].append(x)
            self.curr_buffer_size += 1
            if self.group_size is not None and len(self.buffer_elements[key]) == self.group_size:
                group = self.buffer_elements.pop(key)
                self.curr_buffer_size -= len(group)
                yield self._emit(key, group)
            if self.curr_buffer_size == self.max_buffer_size:
                evicted = self._evict_largest()
                if evicted is not None:
                    yield self._emit(*evicted)
        for key in tuple(self.buffer_elements):
            group = self.buffer_elements.pop(key)
            self.curr_buffer_size -= len(group)
            yield self._emit(key, group)

    def reset(self):
        self.curr_buffer_size = 0
        self.buffer_elements = defaultdict(list)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["buffer_elements"] = defaultdict(list)
        state["curr_buffer_size"] = 0
        return state
