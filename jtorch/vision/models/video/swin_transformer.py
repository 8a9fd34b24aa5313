"""Video Swin Transformer (SwinTransformer3d): attention inside shifted (T, H, W) windows of
patch tokens, with the 2-D model's blocks and patch merging (which halves H and W only).
Module names as torchvision's, so its Kinetics-400 checkpoints load."""
from functools import partial

import numpy as np

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from .._api import _make_enum
from .._utils import builder, load_weights, prepare
from ..swin_transformer import PatchMerging, SwinTransformerBlock

__all__ = ["SwinTransformer3d", "Swin3D_T_Weights", "Swin3D_S_Weights", "Swin3D_B_Weights", "swin3d_t", "swin3d_s",
           "swin3d_b"]


def _pad_to_multiple(size_dhw, patch_size):
    return tuple((patch_size[i] - size_dhw[i] % patch_size[i]) % patch_size[i] for i in range(3))


def _window_and_shift(window_size, shift_size, size_dhw):
    """A window no larger than the input along each axis; no shift along an axis it covers whole."""
    window, shift = list(window_size), list(shift_size)
    for i in range(3):
        if size_dhw[i] <= window[i]:
            window[i], shift[i] = size_dhw[i], 0
    return window, shift


def _shift_mask_3d(size_dhw, window_size, shift_size):
    """(windows, vol, vol): -100 between positions of a shifted window that came from different
    regions of the (padded) clip, 0 elsewhere."""
    regions = np.zeros(size_dhw, np.float32)
    bounds = [((0, -window_size[i]), (-window_size[i], -shift_size[i]), (-shift_size[i], None)) for i in range(3)]
    count = 0
    for d in bounds[0]:
        for h in bounds[1]:
            for w in bounds[2]:
                regions[d[0]:d[1], h[0]:h[1], w[0]:w[1]] = count
                count += 1
    shape = []
    for i in range(3):
        shape += [size_dhw[i] // window_size[i], window_size[i]]
    regions = regions.reshape(shape).transpose(0, 2, 4, 1, 3, 5).reshape(-1, int(np.prod(window_size)))
    diff = regions[:, None, :] - regions[:, :, None]
    return torch.from_numpy(np.where(diff != 0, -100.0, 0.0).astype(np.float32))


def shifted_window_attention_3d(input, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads,
                                shift_size, attention_dropout=0.0, dropout=0.0, qkv_bias=None, proj_bias=None,
                                training=True):
    """Multi-head self-attention inside (T, H, W) windows of ``input`` (B, T, H, W, C), the clip
    padded to whole windows and, when ``shift_size`` is set, rolled back by it first."""
    b, t, h, w, c = input.shape
    pad = _pad_to_multiple((t, h, w), window_size)
    x = F.pad(input, (0, 0, 0, pad[2], 0, pad[1], 0, pad[0]))
    tp, hp, wp = x.shape[1:4]
    shifted = sum(shift_size) > 0
    if shifted:
        x = torch.roll(x, shifts=tuple(-s for s in shift_size), dims=(1, 2, 3))
    nt, nh, nw = tp // window_size[0], hp // window_size[1], wp // window_size[2]
    num_windows, vol = nt * nh * nw, window_size[0] * window_size[1] * window_size[2]
    x = x.reshape(b, nt, window_size[0], nh, window_size[1], nw, window_size[2], c)
    x = x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b * num_windows, vol, c)
    head_dim = c // num_heads
    qkv = F.linear(x, qkv_weight, qkv_bias).reshape(x.shape[0], vol, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * head_dim ** -0.5, qkv[1], qkv[2]
    attn = q.matmul(k.transpose(-2, -1)) + relative_position_bias
    if shifted:
        mask = _shift_mask_3d((tp, hp, wp), window_size, shift_size).to(attn.dtype)
        attn = attn.reshape(b, num_windows, num_heads, vol, vol) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.reshape(-1, num_heads, vol, vol)
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], vol, c)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.reshape(b, nt, nh, nw, window_size[0], window_size[1], window_size[2], c)
    x = x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, tp, hp, wp, c)
    if shifted:
        x = torch.roll(x, shifts=tuple(shift_size), dims=(1, 2, 3))
    return x[:, :t, :h, :w, :].contiguous()


def _relative_position_index(window_size):
    """(vol, vol) index into the (2Wd-1)(2Wh-1)(2Ww-1) bias table of each pair's offset."""
    coords = np.stack(np.meshgrid(*[np.arange(s) for s in window_size], indexing="ij")).reshape(3, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (np.array(window_size) - 1)
    return (rel[..., 0] * (2 * window_size[1] - 1) * (2 * window_size[2] - 1)
            + rel[..., 1] * (2 * window_size[2] - 1) + rel[..., 2])


class ShiftedWindowAttention3d(nn.Module):
    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True,
                 attention_dropout=0.0, dropout=0.0):
        super().__init__()
        if len(window_size) != 3 or len(shift_size) != 3:
            raise ValueError("window_size and shift_size must be of length 3")
        self.window_size, self.shift_size = list(window_size), list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        self.define_relative_position_index()

    def define_relative_position_bias_table(self):
        n = (2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1) * (2 * self.window_size[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(n, self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self):
        self.register_buffer("relative_position_index",
                             torch.from_numpy(_relative_position_index(self.window_size).astype(np.int64)))

    def get_relative_position_bias(self, window_size):
        # a window shrunk to the input keeps the full window's index, cut to its first vol x vol
        # entries (as torchvision does, so its checkpoints give its outputs)
        vol = window_size[0] * window_size[1] * window_size[2]
        bias = self.relative_position_bias_table[self.relative_position_index[:vol, :vol].flatten()]
        return bias.reshape(vol, vol, -1).permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x):
        window, shift = _window_and_shift(self.window_size, self.shift_size, list(x.shape[1:4]))
        return shifted_window_attention_3d(x, self.qkv.weight, self.proj.weight,
                                           self.get_relative_position_bias(window), window, self.num_heads,
                                           shift_size=shift, attention_dropout=self.attention_dropout,
                                           dropout=self.dropout, qkv_bias=self.qkv.bias, proj_bias=self.proj.bias,
                                           training=self.training)


class PatchEmbed3d(nn.Module):
    """Clip (B, C, T, H, W), padded to whole patches -> patch tokens (B, T', H', W', embed_dim)."""

    def __init__(self, patch_size, in_channels=3, embed_dim=96, norm_layer=None):
        super().__init__()
        self.tuple_patch_size = tuple(patch_size[:3])
        self.proj = nn.Conv3d(in_channels, embed_dim, kernel_size=self.tuple_patch_size,
                              stride=self.tuple_patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else nn.Identity()

    def forward(self, x):
        pad = _pad_to_multiple(tuple(x.shape[2:]), self.tuple_patch_size)
        x = self.proj(F.pad(x, (0, pad[2], 0, pad[1], 0, pad[0])))
        return self.norm(x.permute(0, 2, 3, 4, 1))


class SwinTransformer3d(nn.Module):
    """Video Swin Transformer: patch embedding, stages of shifted-window blocks (every other
    block shifted by half a window) with patch merging between them, norm, global pool, head."""

    def __init__(self, patch_size, embed_dim, depths, num_heads, window_size, mlp_ratio=4.0, dropout=0.0,
                 attention_dropout=0.0, stochastic_depth_prob=0.1, num_classes=400, norm_layer=None, block=None,
                 downsample_layer=PatchMerging, patch_embed=None):
        super().__init__()
        self.num_classes = num_classes
        if block is None:
            block = partial(SwinTransformerBlock, attn_layer=ShiftedWindowAttention3d)
        if norm_layer is None:
            norm_layer = partial(nn.LayerNorm, eps=1e-5)
        if patch_embed is None:
            patch_embed = PatchEmbed3d
        self.patch_embed = patch_embed(patch_size=patch_size, embed_dim=embed_dim, norm_layer=norm_layer)
        self.pos_drop = nn.Dropout(p=dropout)
        layers, total, block_id = [], sum(depths), 0
        for i_stage, depth in enumerate(depths):
            dim = embed_dim * 2 ** i_stage
            stage = []
            for i_layer in range(depth):
                stage.append(block(dim, num_heads[i_stage], window_size=window_size,
                                   shift_size=[0 if i_layer % 2 == 0 else w // 2 for w in window_size],
                                   mlp_ratio=mlp_ratio, dropout=dropout, attention_dropout=attention_dropout,
                                   stochastic_depth_prob=stochastic_depth_prob * float(block_id) / (total - 1),
                                   norm_layer=norm_layer, attn_layer=ShiftedWindowAttention3d))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(self.num_features)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(self.num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.norm(self.features(self.pos_drop(self.patch_embed(x))))
        x = self.avgpool(x.permute(0, 4, 1, 2, 3))
        return self.head(torch.flatten(x, 1))


def _swin3d(embed_dim, depths, num_heads, weights, progress, **kwargs):
    prepare(weights, kwargs)
    model = SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=embed_dim, depths=depths, num_heads=num_heads,
                              window_size=[8, 7, 7], stochastic_depth_prob=0.1,
                              **kwargs)
    return load_weights(model, weights, progress)


Swin3D_T_Weights = _make_enum("Swin3D_T_Weights", __name__)
Swin3D_S_Weights = _make_enum("Swin3D_S_Weights", __name__)
Swin3D_B_Weights = _make_enum("Swin3D_B_Weights", __name__)


@builder(Swin3D_T_Weights, legacy="KINETICS400_V1")
def swin3d_t(*, weights=None, progress=True, **kwargs):
    """Swin3D-T (Video Swin Transformer)."""
    return _swin3d(96, [2, 2, 6, 2], [3, 6, 12, 24], weights, progress, **kwargs)


@builder(Swin3D_S_Weights, legacy="KINETICS400_V1")
def swin3d_s(*, weights=None, progress=True, **kwargs):
    """Swin3D-S (Video Swin Transformer)."""
    return _swin3d(96, [2, 2, 18, 2], [3, 6, 12, 24], weights, progress, **kwargs)


@builder(Swin3D_B_Weights, legacy="KINETICS400_V1")
def swin3d_b(*, weights=None, progress=True, **kwargs):
    """Swin3D-B (Video Swin Transformer)."""
    return _swin3d(128, [2, 2, 18, 2], [4, 8, 16, 32], weights, progress, **kwargs)
