"""torch.ao.quantization.fx.custom_config: the extra settings prepare_fx / convert_fx / fuse_fx take. jtorch
honours the non-traceable module names and classes (left as leaves of the trace, in float); the other settings
(custom and standalone modules, quantized input/output indexes, preserved attributes) are kept, not applied."""

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
        return c

    def to_dict(self):
        d = {}
        for key, value in (("non_traceable_module_name", self.non_traceable_module_names),
                           ("non_traceable_module_class", self.non_traceable_module_classes),
                           ("input_quantized_idxs", self.input_quantized_indexes),
                           ("output_quantized_idxs", self.output_quantized_indexes),
                           ("preserved_attributes", self.preserved_attributes)):
            if value:
                d[key] = value
        return d


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
