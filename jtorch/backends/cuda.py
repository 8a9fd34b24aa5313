"""torch.backends.cuda flags."""


class _Matmul:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()


def is_built():
    from ..cuda import is_available
    return is_available()


# Which scaled_dot_product_attention backends may run (torch.nn.attention.sdpa_kernel sets these).
# jtorch has one attention kernel; the flags only decide, as in torch, whether a call is allowed:
# on the CPU torch runs MATH, or FLASH_ATTENTION without dropout, and nothing else.
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "overrideable": True}
_sdp_restricted = False  # some backend is off: F.scaled_dot_product_attention checks the flags


def _set_sdp(name, enabled):
    global _sdp_restricted
    _SDP[name] = bool(enabled)
    _sdp_restricted = not all(_SDP.values())


def _check_sdp(device_type, dropout_p):
    """torch's refusal when no enabled backend can run this call."""
    if _SDP["math"]:
        return
    if device_type == "cpu":
        if _SDP["flash"]:
            if dropout_p > 0.0:
                raise RuntimeError("No available kernel.  Aborting execution.")
            return
    elif _SDP["flash"] or _SDP["mem_efficient"] or _SDP["cudnn"]:
        return
    raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This is likely due to "
                       "turning off both the math kernel and the fused kernels.")


def flash_sdp_enabled():
    return _SDP["flash"]


def enable_flash_sdp(enabled):
    _set_sdp("flash", enabled)


def mem_efficient_sdp_enabled():
    return _SDP["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _set_sdp("mem_efficient", enabled)


def math_sdp_enabled():
    return _SDP["math"]


def enable_math_sdp(enabled):
    _set_sdp("math", enabled)


def cudnn_sdp_enabled():
    return _SDP["cudnn"]


def enable_cudnn_sdp(enabled):
    _set_sdp("cudnn", enabled)


def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """The deprecated form of torch.nn.attention.sdpa_kernel (flags instead of a backend list)."""
    from ..nn.attention import SDPBackend, sdpa_kernel
    chosen = [b for b, on in ((SDPBackend.FLASH_ATTENTION, enable_flash), (SDPBackend.MATH, enable_math),
                              (SDPBackend.EFFICIENT_ATTENTION, enable_mem_efficient),
                              (SDPBackend.CUDNN_ATTENTION, enable_cudnn)) if on]
    return sdpa_kernel(chosen)
