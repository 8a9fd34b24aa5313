"""torchvision.transforms.v2: transforms that take whole samples (any nesting of dicts, lists and tuples)
and transform every image, video, mask, bounding-box set and key-point set in them consistently, with the
same random parameters. See _transform.py for which leaves count as the image."""
from jtorch.vision import tv_tensors  # noqa: F401
from jtorch.vision.transforms.functional import InterpolationMode  # noqa: F401

from . import functional  # noqa: F401
from ._transform import Transform  # noqa: F401
from ._type_conversion import PILToTensor, ToImage, ToPILImage, ToPureTensor, ToTensor  # noqa: F401
from ._container import Compose, RandomApply, RandomChoice, RandomOrder  # noqa: F401
from ._geometry import (CenterCrop, ElasticTransform, FiveCrop, Pad, RandomAffine, RandomCrop,  # noqa: F401
                        RandomHorizontalFlip, RandomIoUCrop, RandomPerspective, RandomResize, RandomResizedCrop,
                        RandomRotation, RandomShortestSize, RandomVerticalFlip, RandomZoomOut, Resize, ScaleJitter,
                        TenCrop)
from ._color import (ColorJitter, Grayscale, RandomAdjustSharpness, RandomAutocontrast,  # noqa: F401
                     RandomChannelPermutation, RandomEqualize, RandomGrayscale, RandomInvert,
                     RandomPhotometricDistort, RandomPosterize, RandomSolarize, RGB)
from ._meta import ClampBoundingBoxes, ClampKeyPoints, ConvertBoundingBoxFormat, SetClampingMode  # noqa: F401
from ._misc import (ConvertImageDtype, GaussianBlur, GaussianNoise, Identity, Lambda,  # noqa: F401
                    LinearTransformation, Normalize, SanitizeBoundingBoxes, SanitizeKeyPoints, ToDtype)
from ._augment import JPEG, CutMix, MixUp, RandomErasing  # noqa: F401
from ._auto_augment import AugMix, AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide  # noqa: F401
from ._temporal import UniformTemporalSubsample  # noqa: F401
from ._utils import (check_type, get_bounding_boxes, get_keypoints, has_all, has_any, query_chw,  # noqa: F401
                     query_size)
