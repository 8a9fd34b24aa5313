"""ShardingFilter: keeps every n-th sample, so parallel copies of a pipeline split the data."""
import enum

from ..datapipe import IterDataPipe


class SHARDING_PRIORITIES(enum.IntEnum):
    """Sharding groups: DEFAULT alone, or DISTRIBUTED (ranks) combined with MULTIPROCESSING (workers)."""
    DEFAULT = 1
    DISTRIBUTED = 2
    MULTIPROCESSING = 3


class _ShardingIterDataPipe(IterDataPipe):
    def apply_sharding(self, num_of_instances, instance_id, sharding_group):
        raise NotImplementedError


class ShardingFilterIterDataPipe(_ShardingIterDataPipe):
    """Sample ``k`` is kept by the instance ``k % num_of_instances``; with several sharding groups
    (DISTRIBUTED ranks x MULTIPROCESSING workers) the instances multiply."""

    def __init__(self, source_datapipe, sharding_group_filter=None):
        self.source_datapipe = source_datapipe
        self.sharding_group_filter = sharding_group_filter
        self.groups = {}
        self.num_of_instances = 1
        self.instance_id = 0
        self._update_num_of_instances()

    def apply_sharding(self, num_of_instances, instance_id, sharding_group=SHARDING_PRIORITIES.DEFAULT):
        if instance_id >= num_of_instances:
            raise ValueError(f"instance_id({instance_id}) should be smaller than num_of_instances({num_of_instances})")
        if sharding_group == SHARDING_PRIORITIES.DEFAULT:
            if len(self.groups) and SHARDING_PRIORITIES.DEFAULT not in self.groups:
                raise RuntimeError("ShardingFilter cannot mix DEFAULT and non DEFAULT groups")
        elif SHARDING_PRIORITIES.DEFAULT in self.groups:
            raise RuntimeError("ShardingFilter cannot mix DEFAULT and non DEFAULT groups")
        if self.sharding_group_filter is None or sharding_group == self.sharding_group_filter:
            self.groups[sharding_group] = (num_of_instances, instance_id)
            self._update_num_of_instances()

    def _update_num_of_instances(self):
        # higher-priority groups (workers) split each lower one's (ranks') share
        count, index = 1, 0
        for group in sorted(self.groups):
            n, i = self.groups[group]
            count, index = count * n, index * n + i
        self.num_of_instances, self.instance_id = count, index

    def __iter__(self):
        for k, item in enumerate(self.source_datapipe):
            if k % self.num_of_instances == self.instance_id:
                yield item

    def __len__(self):
        if hasattr(self.source_datapipe, "__len__"):
            n = len(self.source_datapipe)
            return n // self.num_of_instances + (1 if self.instance_id < n % self.num_of_instances else 0)
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
