"""GeneralizedRCNNTransform: normalize, resize (shorter side to min_size, longer at most max_size),
pad into one batch whose sides are multiples of size_divisible; and map detections back."""
import math

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from .image_list import ImageList

__all__ = ["GeneralizedRCNNTransform", "resize_boxes", "resize_keypoints"]


def imagenet_transform(min_size, max_size, image_mean=None, image_std=None, **kwargs):
    """The detectors' transform: ImageNet's normalisation wherever the model is not given its own mean/std."""
    return GeneralizedRCNNTransform(min_size, max_size,
                                    [0.485, 0.456, 0.406] if image_mean is None else image_mean,
                                    [0.229, 0.224, 0.225] if image_std is None else image_std, **kwargs)


def _resize_image_and_masks(image, self_min_size, self_max_size, target=None, fixed_size=None):
    size = scale = recompute = None
    if fixed_size is not None:
        size = [fixed_size[1], fixed_size[0]]
    else:
        h, w = image.shape[-2:]
        scale = min(self_min_size / min(h, w), self_max_size / max(h, w))
        recompute = True
    image = F.interpolate(image[None], size=size, scale_factor=scale, mode="bilinear",
                          recompute_scale_factor=recompute, align_corners=False)[0]
    if target is not None and "masks" in target:
        masks = F.interpolate(target["masks"][:, None].float(), size=size, scale_factor=scale,
                              recompute_scale_factor=recompute)[:, 0].byte()
        target["masks"] = masks
    return image, target


def _ratios(original_size, new_size):
    return [torch.tensor(s, dtype=torch.float32) / torch.tensor(s0, dtype=torch.float32)
            for s, s0 in zip(new_size, original_size)]


def resize_boxes(boxes, original_size, new_size):
    ratio_h, ratio_w = _ratios(original_size, new_size)
    x1, y1, x2, y2 = boxes.unbind(1)
    return torch.stack((x1 * ratio_w, y1 * ratio_h, x2 * ratio_w, y2 * ratio_h), dim=1)


def resize_keypoints(keypoints, original_size, new_size):
    ratio_h, ratio_w = _ratios(original_size, new_size)
    out = keypoints.clone()
    out[..., 0] *= ratio_w
    out[..., 1] *= ratio_h
    return out


class GeneralizedRCNNTransform(nn.Module):
    def __init__(self, min_size, max_size, image_mean, image_std, size_divisible=32, fixed_size=None, **kwargs):
        super().__init__()
        if not isinstance(min_size, (list, tuple)):
            min_size = (min_size,)
        self.min_size = min_size
        self.max_size = max_size
        self.image_mean = image_mean
        self.image_std = image_std
        self.size_divisible = size_divisible
        self.fixed_size = fixed_size
        self._skip_resize = kwargs.pop("_skip_resize", False)

    def forward(self, images, targets=None):
        images = list(images)
        if targets is not None:  # shallow copies: the caller's dicts are not modified
            targets = [dict(t) for t in targets]
        for i, image in enumerate(images):
            if image.dim() != 3:
                raise ValueError(f"images is expected to be a list of 3d tensors of shape [C, H, W], got {image.shape}")
            target = targets[i] if targets is not None else None
            image, target = self.resize(self.normalize(image), target)
            images[i] = image
            if targets is not None and target is not None:
                targets[i] = target
        sizes = [tuple(int(s) for s in img.shape[-2:]) for img in images]
        return ImageList(self.batch_images(images, size_divisible=self.size_divisible), sizes), targets

    def normalize(self, image):
        if not image.is_floating_point():
            raise TypeError(f"Expected input images to be of floating type (in range [0, 1]), but found type "
                            f"{image.dtype} instead")
        mean = torch.as_tensor(self.image_mean, dtype=image.dtype)
        std = torch.as_tensor(self.image_std, dtype=image.dtype)
        return (image - mean[:, None, None]) / std[:, None, None]

    def torch_choice(self, k):
        """A random element of k drawn with the framework's generator (multi-scale training)."""
        return k[int(torch.empty(1).uniform_(0.0, float(len(k))).item())]

    def resize(self, image, target=None):
        h, w = image.shape[-2:]
        if self.training:
            if self._skip_resize:
                return image, target
            size = self.torch_choice(self.min_size)
        else:
            size = self.min_size[-1]
        image, target = _resize_image_and_masks(image, size, self.max_size, target, self.fixed_size)
        if target is None:
            return image, target
        target["boxes"] = resize_boxes(target["boxes"], (h, w), tuple(image.shape[-2:]))
        if "keypoints" in target:
            target["keypoints"] = resize_keypoints(target["keypoints"], (h, w), tuple(image.shape[-2:]))
        return image, target

    def max_by_axis(self, the_list):
        return [max(sizes) for sizes in zip(*the_list)]

    def batch_images(self, images, size_divisible=32):
        """Zero-pad at the bottom/right to a common size rounded up to a multiple of size_divisible."""
        c, h, w = self.max_by_axis([list(img.shape) for img in images])
        stride = float(size_divisible)
        h = int(math.ceil(float(h) / stride) * stride)
        w = int(math.ceil(float(w) / stride) * stride)
        padded = [F.pad(img, (0, w - img.shape[2], 0, h - img.shape[1], 0, c - img.shape[0])) for img in images]
        return torch.stack(padded)

    def postprocess(self, result, image_shapes, original_image_sizes):
        if self.training:
            return result
        for pred, im_s, o_im_s in zip(result, image_shapes, original_image_sizes):
            pred["boxes"] = resize_boxes(pred["boxes"], im_s, o_im_s)
            if "masks" in pred:
                from .roi_heads import paste_masks_in_image
                pred["masks"] = paste_masks_in_image(pred["masks"], pred["boxes"], o_im_s)
            if "keypoints" in pred:
                pred["keypoints"] = resize_keypoints(pred["keypoints"], im_s, o_im_s)
        return result

    def __repr__(self):
        return (f"{self.__class__.__name__}(\n    Normalize(mean={self.image_mean}, std={self.image_std})\n"
                f"    Resize(min_size={self.min_size}, max_size={self.max_size}, mode='bilinear')\n)")
