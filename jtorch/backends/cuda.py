"""torch.backends.cuda flags."""


class _Matmul:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()


def is_built():
    from ..cuda import is_available
    return is_available()


def flash_sdp_enabled():
    return True


def enable_flash_sdp(enabled):
    pass


def mem_efficient_sdp_enabled():
    return True


def enable_mem_efficient_sdp(enabled):
    pass


def math_sdp_enabled():
    return True


def enable_math_sdp(enabled):
    pass


def sdp_kernel(**kwargs):
    import contextlib
    return contextlib.nullcontext()
