"""``torch._dynamo.exc``: the user-facing error types torch.export and torch.compile(fullgraph=True) raise."""
from enum import Enum

__all__ = ["TorchDynamoException", "UserError", "UserErrorType", "Unsupported", "FailOnRecompileLimitHit",
           "RecompileError"]


from .._errors import TorchDynamoException, Unsupported  # noqa: F401 (jtorch.compile raises Unsupported)


class UserErrorType(Enum):
    DYNAMIC_CONTROL_FLOW = "DYNAMIC_CONTROL_FLOW"
    ANTI_PATTERN = "ANTI_PATTERN"
    STANDARD_LIBRARY = "STANDARD_LIBRARY"
    CONSTRAINT_VIOLATION = "CONSTRAINT_VIOLATION"
    DYNAMIC_DIM = "DYNAMIC_DIM"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_OUTPUT = "INVALID_OUTPUT"
    UNSUPPORTED_NON_STRICT = "UNSUPPORTED_NON_STRICT"


class UserError(TorchDynamoException):
    def __init__(self, error_type, msg, case_name=None):
        super().__init__(msg)
        self.error_type = error_type
        self.message = msg
        self.case_name = case_name


class FailOnRecompileLimitHit(Exception):
    """Raised instead of running eagerly at the recompile limit when config.fail_on_recompile_limit_hit."""


class RecompileError(TorchDynamoException):
    """Raised at a recompile when config.error_on_recompile."""
