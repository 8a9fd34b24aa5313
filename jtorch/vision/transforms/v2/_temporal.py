"""UniformTemporalSubsample: evenly spaced frames of videos."""
from jtorch.vision import tv_tensors

from . import functional as F
from ._transform import Transform, is_pure_tensor

__all__ = ["UniformTemporalSubsample"]


class UniformTemporalSubsample(Transform):
    _transformed_types = (is_pure_tensor, tv_tensors.Video)

    def __init__(self, num_samples):
        super().__init__()
        self.num_samples = num_samples

    def transform(self, inpt, params):
        return F.uniform_temporal_subsample(inpt, self.num_samples)
