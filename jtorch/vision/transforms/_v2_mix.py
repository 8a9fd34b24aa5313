"""transforms.v2.CutMix and MixUp: batch-level transforms on (images, labels) that blend each sample
with the next one in the batch (the batch rolled by one) and return one-hot labels mixed in the same
proportion. The proportion is drawn from Beta(alpha, alpha) (and CutMix's box position uniformly)
with jtorch's generator, so the draws differ from torchvision's while the rules match."""
import math

import jtorch as torch
import jtorch.nn.functional as F

__all__ = ["CutMix", "MixUp"]


class _BaseMix:
    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        if alpha <= 0:
            raise ValueError("Alpha param must be positive.")
        self.alpha = float(alpha)
        self.num_classes = num_classes
        self.labels_getter = labels_getter
        self._dist = torch.distributions.Beta(torch.tensor([self.alpha]), torch.tensor([self.alpha]))

    def __call__(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        if isinstance(sample, dict):
            images, labels = sample.get("image", sample.get("images")), sample["labels"]
        else:
            images, labels = sample[0], sample[1]
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected a batched image tensor with 4 dimensions "
                             f"(N, C, H, W), got {getattr(images, 'shape', type(images))}")
        if labels.ndim == 1 and not labels.is_floating_point():
            if self.num_classes is None:
                raise ValueError(f"{type(self).__name__}: num_classes is needed for index labels")
            one_hot = F.one_hot(labels, num_classes=self.num_classes)
        elif labels.ndim == 2:
            one_hot = labels  # already one-hot (or soft) labels
        else:
            raise ValueError(f"labels should be index based with shape (batch_size,) but got {tuple(labels.shape)} "
                             "instead.")
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"The batch size of the image ({images.shape[0]}) and of the labels "
                             f"({labels.shape[0]}) must be the same.")
        if not one_hot.is_floating_point():
            one_hot = one_hot.float()
        images, lam = self._mix_images(images)
        mixed = one_hot.roll(1, 0).mul(1.0 - lam).add(one_hot.mul(lam))
        if isinstance(sample, dict):
            out = dict(sample)
            out["image" if "image" in sample else "images"] = images
            out["labels"] = mixed
            return out
        rest = tuple(sample[2:])
        return (images, mixed) + rest

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class MixUp(_BaseMix):
    """image_i <- lam * image_i + (1 - lam) * image_{i-1}, labels alike."""

    def _mix_images(self, images):
        lam = float(self._dist.sample(()))
        return images.roll(1, 0).mul(1.0 - lam).add(images.mul(lam)), lam


class CutMix(_BaseMix):
    """A box of area about (1 - lam) of each image replaced by the same box of the previous image;
    the labels mixed by the area actually pasted (the box is clipped at the borders)."""

    def _mix_images(self, images):
        lam = float(self._dist.sample(()))
        H, W = images.shape[-2:]
        r_x = int(torch.randint(W, size=(1,)))
        r_y = int(torch.randint(H, size=(1,)))
        r = 0.5 * math.sqrt(1.0 - lam)
        rw, rh = int(r * W), int(r * H)
        x1, y1 = max(r_x - rw, 0), max(r_y - rh, 0)
        x2, y2 = min(r_x + rw, W), min(r_y + rh, H)
        out = images.clone()
        out[..., y1:y2, x1:x2] = images.roll(1, 0)[..., y1:y2, x1:x2]
        return out, float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))
