"""torch's exception classes that several namespaces share (torch.OutOfMemoryError is torch.cuda's)."""


class AcceleratorError(RuntimeError):
    """Raised for errors reported by an accelerator runtime."""


class OutOfMemoryError(RuntimeError):
    """Raised when a device runs out of memory."""


class TorchDynamoException(RuntimeError):
    """torch._dynamo.exc's base (defined here so that jtorch.compile can raise its subclasses)."""


class Unsupported(TorchDynamoException):
    """What torch.compile(fullgraph=True) raises at a graph break."""
