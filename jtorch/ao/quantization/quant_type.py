"""torch.ao.quantization.quant_type: the kinds of quantization (keys of the custom module mappings)."""
import enum

__all__ = ["QuantType"]


class QuantType(enum.IntEnum):
    DYNAMIC = 0
    STATIC = 1
    QAT = 2
    WEIGHT_ONLY = 3


_NAMES = {QuantType.DYNAMIC: "dynamic", QuantType.STATIC: "static", QuantType.QAT: "qat",
          QuantType.WEIGHT_ONLY: "weight_only"}


def _get_quant_type_to_str(quant_type):
    return _NAMES[quant_type]


def _quant_type_from_str(name):
    for quant_type, s in _NAMES.items():
        if s == name:
            return quant_type
    raise ValueError(f"Unknown QuantType name '{name}'")
