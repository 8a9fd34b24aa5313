"""Clip samplers: per-video uniform or random picks of a VideoClips' clips, and a distributed
sampler that keeps groups of consecutive indices on one replica."""
import math

import jtorch as torch
import jtorch.distributed as dist
from jtorch.utils.data import Sampler
from ..video_utils import VideoClips


class DistributedSampler(Sampler):
    """This replica's share of ``dataset``'s indices, dealt out in groups of ``group_size``
    consecutive indices (the list is padded from its start to divide evenly); with ``shuffle``
    the order is a permutation seeded by the epoch. A Sampler as ``dataset`` is indexed through."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=False, group_size=1):
        if num_replicas is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = dist.get_world_size()
        if rank is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            rank = dist.get_rank()
        if len(dataset) % group_size != 0:
            raise ValueError("dataset length must be a multiplier of group size dataset length: "
                             f"{len(dataset)}, group size: {group_size}")
        self.dataset = dataset
        self.group_size = group_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.num_group_samples = int(math.ceil(len(dataset) // group_size / num_replicas))
        self.num_samples = self.num_group_samples * group_size
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle

    def __iter__(self):
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.epoch)
            indices = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            indices = list(range(len(self.dataset)))
        indices += indices[:self.total_size - len(indices)]
        groups = [indices[i:i + self.group_size] for i in range(0, self.total_size, self.group_size)]
        mine = [i for group in groups[self.rank::self.num_replicas] for i in group]
        if isinstance(self.dataset, Sampler):
            inner = list(iter(self.dataset))
            mine = [inner[i] for i in mine]
        return iter(mine)

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


def _check_clips(video_clips):
    if not isinstance(video_clips, VideoClips):
        raise TypeError(f"Expected video_clips to be an instance of VideoClips, got {type(video_clips)}")


class UniformClipSampler(Sampler):
    """``num_clips_per_video`` evenly spaced clips of every video that has clips (repeating
    clips when a video has fewer)."""

    def __init__(self, video_clips, num_clips_per_video):
        _check_clips(video_clips)
        self.video_clips = video_clips
        self.num_clips_per_video = num_clips_per_video

    def __iter__(self):
        picked, start = [], 0
        for clips in self.video_clips.clips:
            count = len(clips)
            if count == 0:
                continue
            spaced = torch.linspace(start, start + count - 1, steps=self.num_clips_per_video)
            picked += spaced.floor().to(torch.int64).tolist()
            start += count
        return iter(picked)

    def __len__(self):
        return sum(self.num_clips_per_video for clips in self.video_clips.clips if len(clips) > 0)


class RandomClipSampler(Sampler):
    """At most ``max_clips_per_video`` random clips of each video, all in random order."""

    def __init__(self, video_clips, max_clips_per_video):
        _check_clips(video_clips)
        self.video_clips = video_clips
        self.max_clips_per_video = max_clips_per_video

    def __iter__(self):
        picked, start = [], 0
        for clips in self.video_clips.clips:
            count = len(clips)
            picked += [start + i for i in torch.randperm(count)[:min(count, self.max_clips_per_video)].tolist()]
            start += count
        order = torch.randperm(len(picked)).tolist()
        return iter([picked[i] for i in order])

    def __len__(self):
        return sum(min(len(clips), self.max_clips_per_video) for clips in self.video_clips.clips)
