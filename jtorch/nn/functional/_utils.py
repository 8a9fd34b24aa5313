"""Argument normalisation shared by the functional submodules."""
import collections.abc


def ntuple(x, n, name="argument"):
    """An int or a sequence -> a tuple of ``n`` ints (torch's _single/_pair/_triple)."""
    if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
        t = tuple(int(v) for v in x)
        if len(t) == 1 and n > 1:
            return t * n
        if len(t) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                               f"convolution dimensions, but got {name}={list(t)}")
        return t
    return (int(x),) * n

