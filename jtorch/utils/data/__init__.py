"""jtorch.utils.data: datasets, samplers, collation, DataPipes and the DataLoader (torch.utils.data's API)."""
from .dataset import (Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset, ChainDataset, Subset,
                      random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler,
                      BatchSampler)
from .distributed import DistributedSampler
from ._collate import default_collate, default_convert, collate, default_collate_fn_map
from ._worker import get_worker_info, WorkerInfo
from .dataloader import DataLoader
from .datapipes.datapipe import DFIterDataPipe, DataChunk, IterDataPipe, MapDataPipe
from .datapipes._decorator import (argument_validation, functional_datapipe, guaranteed_datapipes_determinism,
                                   non_deterministic, runtime_validation, runtime_validation_disabled)
from . import distributed, _utils, datapipes, graph, graph_settings

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "default_collate", "default_convert",
           "get_worker_info", "DataLoader", "DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe",
           "argument_validation", "functional_datapipe", "guaranteed_datapipes_determinism", "non_deterministic",
           "runtime_validation", "runtime_validation_disabled"]
