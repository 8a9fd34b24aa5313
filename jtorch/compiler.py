"""torch.compiler: helpers around jtorch.compile."""
from .compile import is_compiling, reset, compile  # noqa: F401


def disable(fn=None, recursive=True):
    return fn if fn is not None else (lambda f: f)


def is_dynamo_compiling():
    return is_compiling()
