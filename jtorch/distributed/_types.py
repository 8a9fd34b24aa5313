"""torch.distributed's plain types: ReduceOp, Backend, the error classes, Work, GroupMember."""
import enum


class DistError(RuntimeError):
    """Base of the distributed errors (torch.distributed.DistError)."""


class DistBackendError(DistError):
    """A collective failed in the backend (a peer died, a connection closed)."""


class DistStoreError(DistError):
    """The rendezvous failed (a rank did not join within the timeout)."""


class DistNetworkError(DistError):
    """The coordinator could not be reached."""


class _RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __repr__(self):
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self):
        return f"RedOpType.{self.name}"


_RedOpType.__name__ = _RedOpType.__qualname__ = "RedOpType"


class ReduceOp:
    """``ReduceOp.SUM`` & co. are members of ``ReduceOp.RedOpType`` like torch's."""
    RedOpType = _RedOpType
    SUM = _RedOpType.SUM
    AVG = _RedOpType.AVG
    PRODUCT = _RedOpType.PRODUCT
    MIN = _RedOpType.MIN
    MAX = _RedOpType.MAX
    BAND = _RedOpType.BAND
    BOR = _RedOpType.BOR
    BXOR = _RedOpType.BXOR
    PREMUL_SUM = _RedOpType.PREMUL_SUM

    def __init__(self, op=_RedOpType.SUM):
        self.op = _RedOpType(op)

    def __eq__(self, other):
        return _op(self) == _op(other)

    def __hash__(self):
        return hash(self.op)


def _op(op):
    """The RedOpType of a ReduceOp, RedOpType or int (TypeError otherwise)."""
    if isinstance(op, ReduceOp):
        return op.op
    if isinstance(op, (int, _RedOpType)) and not isinstance(op, bool):
        return _RedOpType(op)
    raise TypeError(f"op must be a torch.distributed.ReduceOp, got {type(op).__name__}")


class Backend(str):
    """A backend name, lower-cased: ``Backend("GLOO") == "gloo"``."""
    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    UCC = "ucc"
    XCCL = "xccl"
    backend_list = [UNDEFINED, GLOO, NCCL, UCC, MPI, XCCL]
    default_device_backend_map = {"cpu": GLOO, "cuda": NCCL}
    backend_capability = {GLOO: ["cpu", "cuda"], NCCL: ["cuda"]}

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {type(name)}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return super().__new__(cls, value)


class Work:
    """The handle ``async_op=True`` (and isend) returns. jtorch's eager collectives complete
    before they return (JAX has no handle to wait on across processes), so wait() has nothing
    left to do; a posted receive (irecv) is a subclass that completes on wait()."""

    def __init__(self, tensors=()):
        self._tensors = list(tensors)

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True

    def is_success(self):
        return True

    def result(self):
        return self._tensors

    def get_future(self):
        """A completed jtorch.futures.Future holding the output tensors."""
        from ..futures import Future
        fut = Future()
        fut.set_result(self._tensors)
        return fut

    def synchronize(self):
        pass


class GroupMember:
    WORLD = None  # set to the default group by init_process_group, like torch
    NON_GROUP_MEMBER = -100


class group:  # noqa: N801  (torch.distributed.group.WORLD)
    WORLD = None
