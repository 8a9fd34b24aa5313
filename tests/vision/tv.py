"""Real torchvision as a test oracle (test-side only).

torchvision 0.28.0 is installed with ``--no-deps`` beside the CPU torch; its compiled
operators are linked against a CUDA build, so importing it fails with "operator
torchvision::nms does not exist". Defining the schemas of its two unguarded operators
first makes its Python parts (transforms, datasets, models) importable.
"""
import importlib

_LIB = None  # keep the Library alive for the whole session: dropping it undefines the ops
_TV = None
_TRIED = False


def torchvision():
    """Return the real ``torchvision`` module, or None when it is not installed."""
    global _LIB, _TV, _TRIED
    if _TRIED:
        return _TV
    _TRIED = True
    if importlib.util.find_spec("torchvision") is None:
        return None
    import torch
    try:
        torch.ops.torchvision.nms  # already defined (a full build, or defined before us)
    except (AttributeError, RuntimeError):
        _LIB = torch.library.Library("torchvision", "DEF")
        _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIB.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision as tv
    _TV = tv
    return _TV
