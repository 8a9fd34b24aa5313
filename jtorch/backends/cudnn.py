"""torch.backends.cudnn flags (XLA chooses its own algorithms; these are recorded only)."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    from ..cuda import is_available as cuda_available
    return cuda_available()


def version():
    return None if not is_available() else 90000


def flags(enabled=False, benchmark=False, deterministic=False, allow_tf32=True):
    import contextlib
    return contextlib.nullcontext()
