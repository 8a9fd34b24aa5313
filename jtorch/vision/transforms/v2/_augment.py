"""RandomErasing, and the batch-level MixUp / CutMix (each sample blended with the previous one in the
batch, labels mixed in the same proportion, drawn from Beta(alpha, alpha))."""
import math
import numbers
import warnings
from collections.abc import Sequence

from PIL import Image as _PIL

import jtorch as torch
from jtorch.nn.functional import one_hot
from jtorch.utils._pytree import tree_flatten, tree_unflatten
from jtorch.vision import tv_tensors
from jtorch.vision import transforms as _v1  # the v1 classes, for their get_params

from . import functional as F
from ._misc import _parse_labels_getter
from ._transform import Transform, _RandomApplyTransform, has_any, is_pure_tensor, query_chw, query_size
from ._utils import _check_sequence_input

__all__ = ["RandomErasing", "MixUp", "CutMix", "JPEG"]


class RandomErasing(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomErasing

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace=False):
        super().__init__(p=p)
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        self.scale, self.ratio = scale, ratio
        if isinstance(value, (int, float)):
            self.value = [float(value)]
        elif isinstance(value, str):
            self.value = None  # random normal values
        else:
            self.value = [float(v) for v in value]
        self.inplace = inplace
        self._log_ratio = (math.log(ratio[0]), math.log(ratio[1]))

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensors.Mask)):
            warnings.warn(f"{type(self).__name__}() is currently passing through inputs of type "
                          f"tv_tensors.{type(inpt).__name__}. This will likely change in the future.")
        return super()._call_kernel(functional, inpt, *args, **kwargs)

    def make_params(self, flat_inputs):
        img_c, img_h, img_w = query_chw(flat_inputs)
        if self.value is not None and len(self.value) not in (1, img_c):
            raise ValueError(f"If value is a sequence, it should have either a single value or {img_c} (number of "
                             "inpt channels)")
        area = img_h * img_w
        for _ in range(10):
            erase_area = area * torch.empty(1).uniform_(self.scale[0], self.scale[1]).item()
            aspect_ratio = math.exp(torch.empty(1).uniform_(*self._log_ratio).item())
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if self.value is None:
                v = torch.empty([img_c, h, w], dtype=torch.float32).normal_()
            else:
                v = torch.tensor(self.value)[:, None, None]
            i = int(torch.randint(0, img_h - h + 1, size=(1,)).item())
            j = int(torch.randint(0, img_w - w + 1, size=(1,)).item())
            return dict(i=i, j=j, h=h, w=w, v=v)
        return dict(i=0, j=0, h=img_h, w=img_w, v=None)

    def transform(self, inpt, params):
        if params["v"] is not None:
            inpt = self._call_kernel(F.erase, inpt, **params, inplace=self.inplace)
        return inpt


class _BaseMixUpCutMix(Transform):
    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        super().__init__()
        if alpha <= 0:
            raise ValueError("Alpha param must be positive.")
        self.alpha = float(alpha)
        self._dist = torch.distributions.Beta(torch.tensor([self.alpha]), torch.tensor([self.alpha]))
        self.num_classes = num_classes
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        needs = self._needs_transform_list(flat_inputs)
        if has_any(flat_inputs, _PIL.Image, tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints):
            raise ValueError(f"{type(self).__name__}() does not support PIL images, bounding boxes, keypoints and "
                             "masks.")
        labels = self._labels_getter(inputs)
        if not isinstance(labels, torch.Tensor):
            raise ValueError(f"The labels must be a tensor, but got {type(labels)} instead.")
        if labels.ndim not in (1, 2):
            raise ValueError("labels should be index based with shape (batch_size,) or probability based with shape "
                             f"(batch_size, num_classes), but got a tensor of shape {labels.shape} instead.")
        if labels.ndim == 2 and self.num_classes is not None and labels.shape[-1] != self.num_classes:
            raise ValueError("When passing 2D labels, the number of elements in last dimension must match "
                             f"num_classes: {labels.shape[-1]} != {self.num_classes}. You can Leave num_classes to "
                             "None.")
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError("num_classes must be passed if the labels are index-based (1D)")
        params = {"labels": labels, "batch_size": labels.shape[0],
                  **self.make_params([x for x, n in zip(flat_inputs, needs) if n])}
        needs[next(i for i, x in enumerate(flat_inputs) if x is labels)] = True
        out = [self.transform(x, params) if n else x for x, n in zip(flat_inputs, needs)]
        return tree_unflatten(out, spec)

    def _check_image_or_video(self, inpt, *, batch_size):
        expected = 5 if isinstance(inpt, tv_tensors.Video) else 4
        if inpt.ndim != expected:
            raise ValueError(f"Expected a batched input with {expected} dims, but got {inpt.ndim} dimensions instead.")
        if inpt.shape[0] != batch_size:
            raise ValueError("The batch size of the image or video does not match the batch size of the labels: "
                             f"{inpt.shape[0]} != {batch_size}.")

    def _mixup_label(self, label, *, lam):
        if label.ndim == 1:
            label = one_hot(label, num_classes=self.num_classes)
        if not label.dtype.is_floating_point:
            label = label.float()
        return label.roll(1, 0).mul_(1.0 - lam).add_(label.mul(lam))

    def _mix(self, inpt, params, mix):
        if inpt is params["labels"]:
            return self._mixup_label(inpt, lam=params["lam_labels"])
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)) or is_pure_tensor(inpt):
            self._check_image_or_video(inpt, batch_size=params["batch_size"])
            output = mix(inpt.as_subclass(torch.Tensor))
            return tv_tensors.wrap(output, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else output
        return inpt


class MixUp(_BaseMixUpCutMix):
    """image_i <- lam * image_i + (1 - lam) * image_{i-1}; labels alike."""

    def make_params(self, flat_inputs):
        lam = float(self._dist.sample(()))
        return dict(lam=lam, lam_labels=lam)

    def transform(self, inpt, params):
        lam = params["lam"]
        return self._mix(inpt, params, lambda x: x.roll(1, 0).mul_(1.0 - lam).add_(x.mul(lam)))


class CutMix(_BaseMixUpCutMix):
    """A box of about (1 - lam) of the area pasted from the previous image; labels mixed by the pasted area."""

    def make_params(self, flat_inputs):
        lam = float(self._dist.sample(()))
        H, W = query_size(flat_inputs)
        r_x = int(torch.randint(W, size=(1,)))
        r_y = int(torch.randint(H, size=(1,)))
        r = 0.5 * math.sqrt(1.0 - lam)
        r_w_half, r_h_half = int(r * W), int(r * H)
        x1, y1 = max(r_x - r_w_half, 0), max(r_y - r_h_half, 0)
        x2, y2 = min(r_x + r_w_half, W), min(r_y + r_h_half, H)
        lam_adjusted = float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))
        return dict(box=(x1, y1, x2, y2), lam_adjusted=lam_adjusted, lam_labels=lam_adjusted)

    def transform(self, inpt, params):
        x1, y1, x2, y2 = params["box"]

        def paste(x):
            out = x.clone()
            out[..., y1:y2, x1:x2] = x.roll(1, 0)[..., y1:y2, x1:x2]
            return out
        return self._mix(inpt, params, paste)


class JPEG(Transform):
    """JPEG compression at a quality drawn from [quality[0], quality[1]]."""

    def __init__(self, quality):
        super().__init__()
        if isinstance(quality, int):
            if isinstance(quality, bool):
                raise TypeError("quality can't be bool")
            quality = [quality, quality]
        else:
            _check_sequence_input(quality, "quality", req_sizes=(2,))
        if not (1 <= quality[0] <= quality[1] <= 100 and isinstance(quality[0], int) and isinstance(quality[1], int)):
            raise ValueError(f"quality must be an integer from 1 to 100, got {quality =}")
        self.quality = quality

    def make_params(self, flat_inputs):
        return dict(quality=int(torch.randint(self.quality[0], self.quality[1] + 1, ()).item()))

    def transform(self, inpt, params):
        return self._call_kernel(F.jpeg, inpt, quality=params["quality"])
