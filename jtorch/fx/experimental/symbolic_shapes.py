"""``torch.fx.experimental.symbolic_shapes``: the errors raised when a program branches on a value
that depends on tensor data (torch.export cannot trace such a branch)."""

__all__ = ["GuardOnDataDependentSymNode", "ConstraintViolationError"]


class GuardOnDataDependentSymNode(RuntimeError):
    pass


class ConstraintViolationError(RuntimeError):
    pass
