"""Deformable convolution v1/v2 (deform_conv2d, DeformConv2d): each kernel tap samples the input
bilinearly at its regular position plus a learned offset, optionally scaled by a mask. Written with
jtorch ops, so input, offset, mask, weight and bias all get gradients."""
import math

import jtorch as torch
import jtorch.nn as nn

__all__ = ["deform_conv2d", "DeformConv2d"]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def deform_conv2d(input, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    out_ch, cin_per_group, kh, kw = weight.shape
    b, cin, H, W = input.shape
    K = kh * kw
    if offset.shape[1] % (2 * K) != 0:
        raise RuntimeError(f"offset.shape[1] is not valid: got {offset.shape[1]}, expected a multiple of {2 * K}")
    n_off = offset.shape[1] // (2 * K)
    if cin % n_off != 0 or cin % cin_per_group != 0:
        raise RuntimeError("input channels must be divisible by the offset groups and the weight groups")
    groups = cin // cin_per_group
    ho = (H + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    wo = (W + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    if tuple(offset.shape[2:]) != (ho, wo):
        raise RuntimeError(f"offset output dims: ({offset.shape[2]}, {offset.shape[3]}) - computed output dims: "
                           f"({ho}, {wo})")
    dtype = input.dtype
    # regular sampling grid of every tap: (K, ho, wo)
    base_y = (torch.arange(ho, dtype=dtype) * sh - ph)[None, :, None] + \
        (torch.arange(kh, dtype=dtype) * dh).repeat_interleave(kw)[:, None, None]
    base_x = (torch.arange(wo, dtype=dtype) * sw - pw)[None, None, :] + \
        (torch.arange(kw, dtype=dtype) * dw).repeat(kh)[:, None, None]
    off = offset.reshape(b, n_off, K, 2, ho, wo)
    y = base_y + off[:, :, :, 0]  # (b, G, K, ho, wo)
    x = base_x + off[:, :, :, 1]
    inside = (y > -1) & (y < H) & (x > -1) & (x < W)
    y0, x0 = torch.floor(y), torch.floor(x)
    ly, lx = y - y0, x - x0
    y0i, x0i = y0.to(torch.int64), x0.to(torch.int64)
    feats = input.reshape(b, n_off, cin // n_off, H * W)
    L = K * ho * wo
    cols = 0
    for yi, xi, wgt in ((y0i, x0i, (1 - ly) * (1 - lx)), (y0i, x0i + 1, (1 - ly) * lx),
                        (y0i + 1, x0i, ly * (1 - lx)), (y0i + 1, x0i + 1, ly * lx)):
        ok = inside & (yi >= 0) & (yi <= H - 1) & (xi >= 0) & (xi <= W - 1)
        idx = (yi.clamp(0, H - 1) * W + xi.clamp(0, W - 1)).reshape(b, n_off, 1, L)
        vals = torch.gather(feats, 3, idx.expand(b, n_off, cin // n_off, L))
        cols = cols + vals * (wgt * ok.to(dtype)).reshape(b, n_off, 1, L)
    if mask is not None:
        cols = cols * mask.reshape(b, n_off, 1, L)
    # (b, C_in, K, L) ordering: channel-major, then tap, to match weight's (C_in/g, kh, kw) flattening
    cols = cols.reshape(b, cin, K, ho * wo).reshape(b, groups, cin_per_group * K, ho * wo)
    w = weight.reshape(groups, out_ch // groups, cin_per_group * K)
    out = torch.einsum("gok,bgkl->bgol", w, cols).reshape(b, out_ch, ho, wo)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


class DeformConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation, self.groups = _pair(padding), _pair(dilation), groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input, offset, mask=None):
        return deform_conv2d(input, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)

    def __repr__(self):
        s = (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        s += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        s += f", groups={self.groups}" if self.groups != 1 else ""
        s += ", bias=False" if self.bias is None else ""
        return s + ")"
