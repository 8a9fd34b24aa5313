"""torch.distributed on JAX's distributed runtime (``jax.distributed``) and collectives.

One process per rank (CPU: gloo; GPU: one GPU per process, NCCL). See docs/internals.md
("Distributed") for the design; ``python -m jtorch.distributed.run`` is the launcher.
"""
from ._types import (ReduceOp, Backend, Work, GroupMember, group, DistError, DistBackendError, DistStoreError,
                     DistNetworkError)
from .distributed_c10d import (ProcessGroup, init_process_group, destroy_process_group, is_available,
                               is_initialized, is_gloo_available, is_nccl_available, is_mpi_available,
                               is_ucc_available, is_xccl_available, is_backend_available, is_torchelastic_launched,
                               get_rank, get_world_size, get_backend, get_process_group_ranks, get_global_rank,
                               get_group_rank, get_default_backend_for_device, new_group, new_subgroups)
from ._tensor_ops import (all_reduce, reduce, broadcast, all_gather, all_gather_into_tensor, reduce_scatter_tensor,
                          reduce_scatter, gather, scatter, all_to_all_single, barrier, monitored_barrier)
from ._p2p import send, recv, isend, irecv, P2POp, batch_isend_irecv
from ._store import Store, HashStore, PrefixStore
from ._file_store import FileStore
from ._tcp_store import TCPStore
from ._grad_bucket import GradBucket
from ._objects import all_gather_object, gather_object, broadcast_object_list, scatter_object_list
from . import _runtime, elastic  # noqa: F401
from .. import futures  # noqa: F401  (jtorch.futures: Work.get_future, DDP communication hooks)


def get_node_local_rank(fallback_rank=None):
    """This process's rank on its node (``LOCAL_RANK`` from the launcher)."""
    import os
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
                       "and want the code to run locally instead.")

_all_gather_base = all_gather_into_tensor
_reduce_scatter_base = reduce_scatter_tensor
