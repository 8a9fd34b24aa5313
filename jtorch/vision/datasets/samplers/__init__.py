"""Samplers over video clips (torchvision.datasets.samplers)."""
from .clip_sampler import DistributedSampler, RandomClipSampler, UniformClipSampler

__all__ = ("DistributedSampler", "UniformClipSampler", "RandomClipSampler")
