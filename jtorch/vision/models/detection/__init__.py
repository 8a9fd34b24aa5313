"""torchvision.models.detection for jtorch: Faster R-CNN (ResNet-50 FPN v1/v2, MobileNetV3-Large
FPN), Mask R-CNN (ResNet-50 FPN v1/v2), Keypoint R-CNN (ResNet-50 FPN) and their parts (transform,
anchors, RPN, RoI heads), the one-stage RetinaNet, FCOS, SSD and SSDlite, with torchvision's module
names and weights enums."""
from .faster_rcnn import *  # noqa: F401,F403
from .keypoint_rcnn import *  # noqa: F401,F403
from .mask_rcnn import *  # noqa: F401,F403
from .retinanet import *  # noqa: F401,F403
from .fcos import *  # noqa: F401,F403
from .ssd import *  # noqa: F401,F403
from .ssdlite import *  # noqa: F401,F403
