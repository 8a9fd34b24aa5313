"""DDP communication hooks: ``default_hooks`` (allreduce, fp16/bf16 compression)."""
import enum
import functools

from . import default_hooks  # noqa: F401


class DDPCommHookType(enum.Enum):
    """The built-in hooks by name; ``register_ddp_comm_hook`` registers one on a DDP model."""
    ALLREDUCE = functools.partial(default_hooks.allreduce_hook)
    FP16_COMPRESS = functools.partial(default_hooks.fp16_compress_hook)
    BF16_COMPRESS = functools.partial(default_hooks.bf16_compress_hook)


def register_ddp_comm_hook(comm_hook_type, model, state=None):
    model.register_comm_hook(state, comm_hook_type.value)
