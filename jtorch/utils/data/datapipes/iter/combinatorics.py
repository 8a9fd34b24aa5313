"""Sampler and Shuffler.

Shuffler keeps a buffer and yields a random element of it as each new sample arrives, drawing
from a Python ``random.Random`` seeded once per pass: with ``set_seed`` (what the DataLoader and
``apply_random_seed`` do) or else from jtorch's global generator. For a given seed the order is
torch's."""
import random

import jtorch as torch

from ...sampler import SequentialSampler
from ..datapipe import IterDataPipe
from .grouping import UnBatcherIterDataPipe


def _no_length(dp):
    return TypeError(f"{type(dp).__name__} instance doesn't have valid length")


def _draw_seed(generator=None):
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


class SamplerIterDataPipe(IterDataPipe):
    """Yields what ``sampler(datapipe, *sampler_args, **sampler_kwargs)`` yields."""

    def __init__(self, datapipe, sampler=SequentialSampler, sampler_args=None, sampler_kwargs=None):
        assert hasattr(datapipe, "__len__"), "Sampler class requires input datapipe implemented `__len__`"
        self.datapipe = datapipe
        self.sampler_args = () if sampler_args is None else sampler_args
        self.sampler_kwargs = {} if sampler_kwargs is None else sampler_kwargs
        self.sampler = sampler(self.datapipe, *self.sampler_args, **self.sampler_kwargs)

    def __iter__(self):
        return iter(self.sampler)

    def __len__(self):
        if hasattr(self.sampler, "__len__"):
            return len(self.sampler)
        raise _no_length(self)


class _PicklesItsRandom:
    """A pipe whose ``self._rng`` (a ``random.Random``) pickles as its state, as torch's Shufflers do."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_rng"] = self._rng.getstate()
        return state

    def __setstate__(self, state):
        rng_state = state.pop("_rng")
        self.__dict__.update(state)
        self._rng = random.Random()
        self._rng.setstate(rng_state)


class ShufflerIterDataPipe(_PicklesItsRandom, IterDataPipe):
    """Samples in random order, through a buffer of ``buffer_size`` (a full shuffle when it holds
    them all). ``unbatch_level`` unbatches first. ``set_shuffle(False)`` turns it off."""

    def __init__(self, datapipe, *, buffer_size=10000, unbatch_level=0):
        assert buffer_size > 0, "buffer_size should be larger than 0"
        self.datapipe = datapipe if unbatch_level == 0 else UnBatcherIterDataPipe(datapipe, unbatch_level)
        self.buffer_size = buffer_size
        self._buffer = []
        self._enabled = True
        self._seed = None
        self._rng = random.Random()

    def set_shuffle(self, shuffle=True):
        self._enabled = shuffle
        return self

    def set_seed(self, seed):
        self._seed = seed
        return self

    def __iter__(self):
        if not self._enabled:
            yield from self.datapipe
            return
        for x in self.datapipe:
            if len(self._buffer) == self.buffer_size:
                idx = self._rng.randint(0, len(self._buffer) - 1)
                value, self._buffer[idx] = self._buffer[idx], x
                yield value
            else:
                self._buffer.append(x)
        while self._buffer:
            idx = self._rng.randint(0, len(self._buffer) - 1)
            yield self._buffer.pop(idx)

    def __len__(self):
        if hasattr(self.datapipe, "__len__"):
            return len(self.datapipe)
        raise _no_length(self)

    def reset(self):
        self._buffer = []
        if self._enabled:
            if self._seed is None:
                self._seed = _draw_seed()
            self._rng.seed(self._seed)
            self._seed = None  # the next pass draws a new seed unless one is set again
