"""Settings applied to a whole pipeline: sharding, shuffling on/off, and seeds for random pipes."""
import warnings

import jtorch as torch

from .datapipes.datapipe import IterDataPipe, MapDataPipe  # noqa: F401
from .datapipes.iter.sharding import SHARDING_PRIORITIES, _ShardingIterDataPipe
from .graph import DataPipe, DataPipeGraph, traverse_dps  # noqa: F401

__all__ = ["apply_random_seed", "apply_sharding", "apply_shuffle_seed", "apply_shuffle_settings",
           "get_all_graph_pipes"]


def get_all_graph_pipes(graph):
    """Every pipe of a ``traverse_dps`` graph once, top first (depth first)."""
    out, seen = [], set()

    def walk(g):
        for dp_id, (dp, sub) in g.items():
            if dp_id in seen:
                continue
            seen.add(dp_id)
            out.append(dp)
            walk(sub)

    walk(graph)
    return out


def _is_sharding_datapipe(dp):
    return isinstance(dp, _ShardingIterDataPipe) or callable(getattr(type(dp), "apply_sharding", None))


def apply_sharding(datapipe, num_of_instances, instance_id, sharding_group=SHARDING_PRIORITIES.DEFAULT):
    """Shard at the first sharding pipe of each branch (two on one path is an error)."""

    def walk(graph, applied):
        for dp, sub in graph.values():
            here = applied
            if _is_sharding_datapipe(dp):
                if applied is not None:
                    raise RuntimeError("Sharding twice on a single pipeline is likely unintended and will cause "
                                       f"data loss. Sharding already applied to {applied} while trying to apply "
                                       f"to {dp}")
                dp.apply_sharding(num_of_instances, instance_id, sharding_group=sharding_group)
                here = dp
            walk(sub, here)

    walk(traverse_dps(datapipe), None)
    return datapipe


def _is_shuffle_datapipe(dp):
    return callable(getattr(dp, "set_shuffle", None)) and callable(getattr(dp, "set_seed", None))


def apply_shuffle_settings(datapipe, shuffle=None):
    """Turn every shuffling pipe on or off (None: leave them). Asking for shuffling of a pipeline
    without a Shuffler returns it wrapped in one, with a warning."""
    if shuffle is None:
        return datapipe
    shufflers = [p for p in get_all_graph_pipes(traverse_dps(datapipe)) if _is_shuffle_datapipe(p)]
    if not shufflers and shuffle:
        warnings.warn("`shuffle=True` was set, but the datapipe does not contain a `Shuffler`. Adding one at the "
                      "end. Be aware that the default buffer size might not be sufficient for your task.")
        datapipe = datapipe.shuffle()
        shufflers = [datapipe]
    for s in shufflers:
        s.set_shuffle(shuffle)
    return datapipe


def _is_random_datapipe(dp):
    return callable(getattr(dp, "set_seed", None))


def apply_random_seed(datapipe, rng):
    """Seed each random pipe (one with ``set_seed``) with a 64-bit draw from the Generator ``rng``,
    top of the pipeline first."""
    for dp in get_all_graph_pipes(traverse_dps(datapipe)):
        if _is_random_datapipe(dp):
            dp.set_seed(int(torch.empty((), dtype=torch.int64).random_(generator=rng).item()))
    return datapipe


def apply_shuffle_seed(datapipe, rng):
    """Deprecated spelling of ``apply_random_seed``."""
    warnings.warn("`apply_shuffle_seed` is deprecated since 1.12 and will be removed in the future releases. "
                  "Please use `apply_random_seed` instead.", FutureWarning)
    return apply_random_seed(datapipe, rng)

