"""``torch.ops.quantized.add/add_relu/mul/mul_relu(qa, qb, scale, zero_point)``: what a converted FX graph calls
for add and mul of quantized tensors. The float result of the dequantized inputs is requantized to the given
parameters (torch's fbgemm kernels' rounding, as QFunctional)."""
import jtorch as torch
from jtorch import _ops_namespace as _ns
from jtorch.library._schema import parse_schema
from jtorch.ao._qtensor._functions import requantize

_SCHEMA = "quantized::{}(Tensor qa, Tensor qb, float scale, int zero_point) -> Tensor qc"


def _binary(fn, relu):
    def run(qa, qb, scale, zero_point):
        if not (getattr(qa, "is_quantized", False) and getattr(qb, "is_quantized", False)):
            raise RuntimeError("quantized binary ops expect two quantized tensors")
        out = fn(qa.dequantize(), qb.dequantize())
        if relu:
            out = torch.relu(out)
        return requantize(out, float(scale), int(zero_point), qa.dtype)
    return run


def _register():
    table = _ns.CUSTOM.setdefault("quantized", {})
    for name, fn, relu in (("add", torch.add, False), ("add_relu", torch.add, True), ("mul", torch.mul, False),
                           ("mul_relu", torch.mul, True)):
        if name in table:
            continue
        packet = _ns.packet("quantized", name)
        packet._add(_ns.OpOverload(packet, "default", parse_schema(_SCHEMA.format(name)), _binary(fn, relu)))


_register()
