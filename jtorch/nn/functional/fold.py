"""im2col / col2im (torch.nn.functional.unfold / fold) and pixel/channel shuffles."""
from jtorch._ops import nn_ops as _k
from jtorch._memfmt import suggest_order, with_suggested

from ._utils import ntuple

__all__ = ["unfold", "fold", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"]


def _blocks(size, kernel, dilation, padding, stride):
    out = []
    for L, k, d, p, s in zip(size, kernel, dilation, padding, stride):
        out.append((L + 2 * p - d * (k - 1) - 1) // s + 1)
    return tuple(out)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    if 0 in tuple(input.shape)[-3:]:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    k, d = ntuple(kernel_size, 2, "kernel_size"), ntuple(dilation, 2, "dilation")
    p, s = ntuple(padding, 2, "padding"), ntuple(stride, 2, "stride")
    out = _blocks(x.shape[2:], k, d, p, s)
    if min(out) < 1:
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size=({k[0]}, "
                           f"{k[1]}), dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the "
                           f"array of sliding blocks as ({out[0]}, {out[1]}), but its components must be at least one.")
    res = _k._im2col(x, kernel=k, dilation=d, padding=p, stride=s, osize=out)
    return res.squeeze(0) if unbatched else res


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.ndim}D)")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    size = ntuple(output_size, 2, "output_size")
    k, d = ntuple(kernel_size, 2, "kernel_size"), ntuple(dilation, 2, "dilation")
    p, s = ntuple(padding, 2, "padding"), ntuple(stride, 2, "stride")
    if x.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={x.shape[1]} and kernel_size=({k[0]}, {k[1]})")
    out = _blocks(size, k, d, p, s)
    if out[0] * out[1] != x.shape[2]:
        raise RuntimeError(f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), expected "
                           f"size of input's dimension 2 to match the calculated number of sliding blocks "
                           f"{out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)={x.shape[2]}.")
    res = _k._col2im(x, size=size, kernel=k, dilation=d, padding=p, stride=s, osize=out)
    return res.squeeze(0) if unbatched else res


def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, C, H, W = input.shape
    if C % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={C} is not divisible by {r * r}")
    _no_channels_last_3d(input)
    n = len(lead)
    x = input.reshape(*lead, C // (r * r), r, r, H, W)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return with_suggested(input, x.reshape(*lead, C // (r * r), H * r, W * r))


def _no_channels_last_3d(input):
    # torch's CPU pixel_(un)shuffle kernels refuse a channels_last_3d input
    if input.ndim == 5 and suggest_order(input) is not None:
        raise RuntimeError("Unsupported memory format. Supports only ChannelsLast, Contiguous")


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, C, H, W = input.shape
    for name, n, d in (("height", H, -2), ("width", W, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({d})={n} is not divisible by {r}")
    _no_channels_last_3d(input)
    n = len(lead)
    x = input.reshape(*lead, C, H // r, r, W // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return with_suggested(input, x.reshape(*lead, C * r * r, H // r, W // r))


def channel_shuffle(input, groups):
    g = int(groups)
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    N, C = input.shape[:2]
    if C % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {C} channels and {g} groups.")
    rest = list(input.shape[2:])
    return with_suggested(input, input.reshape(N, g, C // g, *rest).transpose(1, 2).reshape(N, C, *rest), (4, 5))


native_channel_shuffle = channel_shuffle
