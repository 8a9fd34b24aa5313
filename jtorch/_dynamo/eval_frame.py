"""torch._dynamo.eval_frame: ``OptimizedModule``, the type of ``torch.compile(module)``."""


def __getattr__(name):
    if name == "OptimizedModule":  # (made at first use: jtorch.nn is imported after torch._dynamo)
        from ..compile import optimized_module_class
        return optimized_module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
