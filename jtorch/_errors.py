"""torch's exception classes that several namespaces share (torch.OutOfMemoryError is torch.cuda's)."""


class AcceleratorError(RuntimeError):
    """Raised for errors reported by an accelerator runtime."""


class OutOfMemoryError(RuntimeError):
    """Raised when a device runs out of memory."""
