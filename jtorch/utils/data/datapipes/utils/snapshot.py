"""Restoring a pipeline to where an earlier iteration stood, by replaying it."""
from .._hook_iterator import _SnapshotState
from ..datapipe import IterDataPipe


def _simple_graph_snapshot_restoration(datapipe, n_iterations, rng=None):
    """Fast-forward ``datapipe`` by ``n_iterations`` samples, so that the next ``iter(datapipe)``
    continues from there. With ``rng`` (a jtorch Generator) the pipeline's random pipes are
    re-seeded from it first, as the DataLoader does at the start of an epoch; pass the generator
    in the state it had then to get the same samples."""
    from ...graph_settings import apply_random_seed
    if datapipe._snapshot_state == _SnapshotState.Restored:
        raise RuntimeError("Snapshot restoration cannot be applied. You can only restore simple snapshot to the "
                           "graph if your graph has not been restored.")
    datapipe.reset()  # the pipe's own buffers start clean
    if rng is not None:
        apply_random_seed(datapipe, rng)
    remainder = n_iterations
    it = iter(datapipe)
    while remainder > 0:
        try:
            next(it)
            remainder -= 1
        except StopIteration as e:
            raise RuntimeError(f"Fast-forward {datapipe} by {n_iterations} iterations exceeds the number of "
                               "samples available.") from e
    datapipe._fast_forward_iterator = it
    datapipe._snapshot_state = _SnapshotState.Restored


__all__ = ["IterDataPipe", "_simple_graph_snapshot_restoration"]
