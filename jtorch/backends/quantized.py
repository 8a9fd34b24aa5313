"""torch.backends.quantized: the quantized engine setting. jtorch computes every engine's arithmetic with XLA;
the engine only selects torch's engine-specific choices (x86/fbgemm: dynamic activations over the reduced range
[0, 127]; qnnpack: the full [0, 255])."""
import sys
import types

supported_engines = ["none", "onednn", "x86", "fbgemm", "qnnpack"]
_ENGINE = ["x86"]


class _QEngineModule(types.ModuleType):
    @property
    def engine(self):
        return _ENGINE[0]

    @engine.setter
    def engine(self, value):
        if value not in supported_engines:
            raise RuntimeError(f"quantized engine {value} is not supported")
        _ENGINE[0] = value


sys.modules[__name__].__class__ = _QEngineModule
