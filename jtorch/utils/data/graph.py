"""The graph of a DataPipe pipeline: each pipe with the pipes it reads from."""
import warnings

from .datapipes.datapipe import IterDataPipe, MapDataPipe

DataPipe = IterDataPipe | MapDataPipe
DataPipeGraph = dict  # id(pipe) -> (pipe, DataPipeGraph of its sources)

__all__ = ["traverse", "traverse_dps"]


def _sources(obj, found, depth=0):
    """The DataPipes directly referenced by ``obj``'s containers (not looking inside pipes)."""
    if depth > 10:
        return
    if isinstance(obj, (IterDataPipe, MapDataPipe)):
        if id(obj) not in found:
            found[id(obj)] = obj
        return
    if isinstance(obj, dict):
        for v in obj.values():
            _sources(v, found, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            _sources(v, found, depth + 1)


def _list_connected_datapipes(dp):
    state = dp.__getstate__() if type(dp).__getstate__ is not object.__getstate__ else vars(dp)
    if not isinstance(state, dict):
        state = vars(dp)
    found = {}
    for v in state.values():
        _sources(v, found)
    found.pop(id(dp), None)
    return list(found.values())


def _traverse_helper(dp, cache):
    dp_id = id(dp)
    if dp_id in cache:  # a cycle: stop here
        return {dp_id: (dp, {})}
    cache = cache | {dp_id}
    children = {}
    for source in _list_connected_datapipes(dp):
        children.update(_traverse_helper(source, cache))
    return {dp_id: (dp, children)}


def traverse_dps(datapipe):
    """``{id(datapipe): (datapipe, {id(source): (source, {...}), ...})}``: the pipeline as nested dicts."""
    return _traverse_helper(datapipe, set())


def traverse(datapipe, only_datapipe=None):
    """Deprecated spelling of ``traverse_dps``."""
    warnings.warn("`traverse` function and will be removed after 1.13. Please use `traverse_dps` instead.",
                  FutureWarning)
    if only_datapipe is False:
        warnings.warn("`only_datapipe` is deprecated; only DataPipes are traversed.", FutureWarning)
    return traverse_dps(datapipe)
