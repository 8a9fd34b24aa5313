"""Map-style pipes: SequenceWrapper, Mapper, Batcher, Concater, Zipper, and Shuffler (which reads a
MapDataPipe in a random order of keys and is therefore iterable-style)."""
import copy
import random

from ..datapipe import DataChunk, IterDataPipe, MapDataPipe
from ..iter.combinatorics import _PicklesItsRandom, _draw_seed
from ..utils.common import _check_unpickable_fn


def _identity(data):
    return data


class SequenceWrapperMapDataPipe(MapDataPipe):
    """A sequence or mapping as a MapDataPipe (a deep copy of it with ``deepcopy``, the default)."""

    def __init__(self, sequence, deepcopy=True):
        if deepcopy:
            try:
                self.sequence = copy.deepcopy(sequence)
            except TypeError:
                import warnings
                warnings.warn("The input sequence can not be deepcopied, please be aware of in-place "
                              "modification would affect source data")
                self.sequence = sequence
        else:
            self.sequence = sequence

    def __getitem__(self, index):
        return self.sequence[index]

    def __len__(self):
        return len(self.sequence)


class MapperMapDataPipe(MapDataPipe):
    """``fn(datapipe[index])``."""

    def __init__(self, datapipe, fn=_identity):
        self.datapipe = datapipe
        _check_unpickable_fn(fn)
        self.fn = fn

    def __getitem__(self, index):
        return self.fn(self.datapipe[index])

    def __len__(self):
        return len(self.datapipe)


class BatcherMapDataPipe(MapDataPipe):
    """Batch ``i`` holds keys ``i*batch_size`` up to the next batch (the last may be shorter)."""

    def __init__(self, datapipe, batch_size, drop_last=False, wrapper_class=DataChunk):
        assert batch_size > 0, "Batch size is required to be larger than 0!"
        self.datapipe = datapipe
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.wrapper_class = wrapper_class

    def __getitem__(self, index):
        batch = []
        keys = range(index * self.batch_size, (index + 1) * self.batch_size)
        try:
            for k in keys:
                batch.append(self.datapipe[k])
        except IndexError:
            if self.drop_last or not batch:
                raise IndexError(f"Index {index} is out of bound.") from None
        return self.wrapper_class(batch)

    def __len__(self):
        n = len(self.datapipe)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _sized_map_pipes(datapipes):
    """Concater's and Zipper's inputs checked as torch does: at least one, all sized MapDataPipes."""
    if len(datapipes) == 0:
        raise ValueError("Expected at least one DataPipe, but got nothing")
    if not all(isinstance(dp, MapDataPipe) for dp in datapipes):
        raise TypeError("Expected all inputs to be `MapDataPipe`")
    if not all(hasattr(dp, "__len__") for dp in datapipes):
        raise TypeError("Expected all inputs to be `Sized`")
    return datapipes


class ConcaterMapDataPipe(MapDataPipe):
    """Keys ``0..len-1`` run through the pipes one after another."""

    def __init__(self, *datapipes):
        self.datapipes = _sized_map_pipes(datapipes)

    def __getitem__(self, index):
        offset = 0
        for dp in self.datapipes:
            if index - offset < len(dp):
                return dp[index - offset]
            offset += len(dp)
        raise IndexError(f"Index {index} is out of range.")

    def __len__(self):
        return sum(len(dp) for dp in self.datapipes)


class ZipperMapDataPipe(MapDataPipe):
    """``(dp0[i], dp1[i], ...)``; as long as the shortest pipe."""

    def __init__(self, *datapipes):
        self.datapipes = _sized_map_pipes(datapipes)

    def __getitem__(self, index):
        items = []
        for dp in self.datapipes:
            try:
                items.append(dp[index])
            except IndexError as e:
                raise IndexError(f"Index {index} is out of range for one of the input MapDataPipes {dp}.") from e
        return tuple(items)

    def __len__(self):
        return min(len(dp) for dp in self.datapipes)


class ShufflerIterDataPipe(_PicklesItsRandom, IterDataPipe):
    """``datapipe[k]`` for the keys ``indices`` (default ``range(len(datapipe))``) in a random
    order: ``random.Random(seed).shuffle`` of them, seeded like the iterable Shuffler."""

    def __init__(self, datapipe, *, indices=None):
        self.datapipe = datapipe
        self.indices = list(range(len(datapipe))) if indices is None else indices
        self._enabled = True
        self._seed = None
        self._rng = random.Random()
        self._shuffled_indices = self.indices

    def set_shuffle(self, shuffle=True):
        self._enabled = shuffle
        return self

    def set_seed(self, seed):
        self._seed = seed
        return self

    def __iter__(self):
        for k in self._shuffled_indices:
            yield self.datapipe[k]

    def reset(self):
        if self._enabled:
            if self._seed is None:
                self._seed = _draw_seed()
            self._rng.seed(self._seed)
            self._seed = None
            self._shuffled_indices = list(self.indices)
            self._rng.shuffle(self._shuffled_indices)
        else:
            self._shuffled_indices = self.indices

    def __len__(self):
        # torch's length is the source's even when ``indices`` picks fewer keys
        return len(self.datapipe)
