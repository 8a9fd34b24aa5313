"""IterableWrapper: any iterable as an IterDataPipe."""
import copy
import warnings

from ..datapipe import IterDataPipe


class IterableWrapperIterDataPipe(IterDataPipe):
    """Yields the items of ``iterable``; with ``deepcopy`` (default) each pass iterates a deep copy,
    so changes to the iterable after building the pipe show, and the pipe never mutates it."""

    def __init__(self, iterable, deepcopy=True):
        self.iterable = iterable
        self.deepcopy = deepcopy

    def __iter__(self):
        source = self.iterable
        if self.deepcopy:
            try:
                source = copy.deepcopy(self.iterable)
            except TypeError:  # e.g. a generator: iterate it as is
                warnings.warn("The input iterable can not be deepcopied, please be aware of in-place "
                              "modification would affect source data.")
        yield from source

    def __len__(self):
        if hasattr(self.iterable, "__len__"):
            return len(self.iterable)
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
