"""torch.ao.quantization.fx.custom_config: the extra settings prepare_fx / convert_fx / fuse_fx take. jtorch
honours the non-traceable module names and classes (left as leaves of the trace, in float), the quantized input and
output indexes and the custom module mappings (float -> observed at prepare, observed -> quantized at convert); the
standalone module settings and preserved attributes are kept, not applied."""
from ..quant_type import QuantType, _get_quant_type_to_str, _quant_type_from_str

__all__ = ["PrepareCustomConfig", "ConvertCustomConfig", "FuseCustomConfig"]


class PrepareCustomConfig:
    def __init__(self):
        self.standalone_module_names = {}
        self.standalone_module_classes = {}
        self.float_to_observed_mapping = {}
        self.non_traceable_module_names = []
        self.non_traceable_module_classes = []
        self.input_quantized_indexes = []
        self.output_quantized_indexes = []
        self.preserved_attributes = []

    def set_float_to_observed_mapping(self, float_class, observed_class, quant_type=QuantType.STATIC):
        """``float_class`` modules become ``observed_class.from_float(module)`` at prepare (traced as leaves)."""
        if quant_type != QuantType.STATIC:
            raise ValueError("set_float_to_observed_mapping is currently only supported for static quantization")
        self.float_to_observed_mapping.setdefault(quant_type, {})[float_class] = observed_class
        return self

    def set_non_traceable_module_names(self, module_names):
        self.non_traceable_module_names = list(module_names)
        return self

    def set_non_traceable_module_classes(self, module_classes):
        self.non_traceable_module_classes = list(module_classes)
        return self

    def set_input_quantized_indexes(self, indexes):
        self.input_quantized_indexes = list(indexes)
        return self

    def set_output_quantized_indexes(self, indexes):
        self.output_quantized_indexes = list(indexes)
        return self

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = list(attributes)
        return self

    @classmethod
    def from_dict(cls, d):
        c = cls()
        c.set_non_traceable_module_names(d.get("non_traceable_module_name", []))
        c.set_non_traceable_module_classes(d.get("non_traceable_module_class", []))
        c.set_input_quantized_indexes(d.get("input_quantized_idxs", []))
        c.set_output_quantized_indexes(d.get("output_quantized_idxs", []))
        c.set_preserved_attributes(d.get("preserved_attributes", []))
        for name, mapping in d.get("float_to_observed_custom_module_class", {}).items():
            for float_class, observed_class in mapping.items():
                c.set_float_to_observed_mapping(float_class, observed_class, _quant_type_from_str(name))
        return c

    def to_dict(self):
        d = {}
        for key, value in (("non_traceable_module_name", self.non_traceable_module_names),
                           ("non_traceable_module_class", self.non_traceable_module_classes),
                           ("input_quantized_idxs", self.input_quantized_indexes),
                           ("output_quantized_idxs", self.output_quantized_indexes),
                           ("preserved_attributes", self.preserved_attributes),
                           ("float_to_observed_custom_module_class", _by_name(self.float_to_observed_mapping))):
            if value:
                d[key] = value
        return d


def _by_name(mapping):
    """{QuantType: {...}} with the quant types as torch's dict form names them ('static', 'dynamic'...)."""
    return {_get_quant_type_to_str(k): dict(v) for k, v in mapping.items()}


class _KeepsAttributes:
    """The preserved attributes (the settings fuse_fx and convert_fx share)."""

    def __init__(self):
        self.preserved_attributes = []

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = list(attributes)
        return self

    @classmethod
    def from_dict(cls, d):
        return cls().set_preserved_attributes(d.get("preserved_attributes", []))

    def to_dict(self):
        return {"preserved_attributes": self.preserved_attributes} if self.preserved_attributes else {}


class FuseCustomConfig(_KeepsAttributes):
    """fuse_fx's settings: the attributes kept on the fused GraphModule."""


class ConvertCustomConfig(_KeepsAttributes):
    """convert_fx's settings: the preserved attributes, and observed-to-quantized module classes."""

    def __init__(self):
        super().__init__()
        self.observed_to_quantized_mapping = {}

    def set_observed_to_quantized_mapping(self, observed_class, quantized_class, quant_type=QuantType.STATIC):
        """``observed_class`` modules become ``quantized_class.from_observed(module)`` at convert."""
        self.observed_to_quantized_mapping.setdefault(quant_type, {})[observed_class] = quantized_class
        return self

    @classmethod
    def from_dict(cls, d):
        c = super().from_dict(d)
        for name, mapping in d.get("observed_to_quantized_custom_module_class", {}).items():
            for observed_class, quantized_class in mapping.items():
                c.set_observed_to_quantized_mapping(observed_class, quantized_class, _quant_type_from_str(name))
        return c

    def to_dict(self):
        d = super().to_dict()
        if self.observed_to_quantized_mapping:
            d["observed_to_quantized_custom_module_class"] = _by_name(self.observed_to_quantized_mapping)
        return d
