"""What the QAT modules share: their qconfig and weight fake quantization, and from_float's checks."""


def attach_weight_fake_quant(mod, qconfig, device=None, dtype=None):
    """Give a new QAT module its qconfig and ``weight_fake_quant`` (made by the qconfig's weight factory)."""
    if not qconfig:
        raise AssertionError("qconfig must be provided for QAT module")
    mod.qconfig = qconfig
    mod.weight_fake_quant = qconfig.weight(factory_kwargs={"device": device, "dtype": dtype})


def check_float_module(cls, mod):
    """from_float's checks: ``mod`` is exactly the float type ``cls`` replaces and has a qconfig."""
    if type(mod) is not cls._FLOAT_MODULE:
        raise AssertionError(f"qat.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__}, got "
                             f"{type(mod).__name__}")
    if not hasattr(mod, "qconfig"):
        raise AssertionError("Input float module must have qconfig defined")
    if not mod.qconfig:
        raise AssertionError("Input float module must have a valid qconfig")
