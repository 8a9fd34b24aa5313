"""Multiscale Vision Transformers (MViT v1 and v2) for video: attention whose queries, keys
and values are pooled by strided depthwise 3-D convolutions, so the token grid shrinks stage by
stage. Module names as torchvision's, so its Kinetics-400 checkpoints load."""
import math
from dataclasses import dataclass
from functools import partial
from typing import List

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from .._api import _make_enum
from .._layers import MLP, StochasticDepth
from .._utils import _ovewrite_named_param, builder, load_weights

__all__ = ["MViT", "MViT_V1_B_Weights", "mvit_v1_b", "MViT_V2_S_Weights", "mvit_v2_s"]


@dataclass
class MSBlockConfig:
    num_heads: int
    input_channels: int
    output_channels: int
    kernel_q: List[int]
    kernel_kv: List[int]
    stride_q: List[int]
    stride_kv: List[int]


def _prod(s):
    return math.prod(s)


class Pool(nn.Module):
    """Pools the (T, H, W) token grid of (B, N, C) or (B, heads, N, C) tokens, the class token
    (the first) kept aside and put back; then the optional norm / activation."""

    def __init__(self, pool, norm, activation=None, norm_before_pool=False):
        super().__init__()
        self.pool = pool
        layers = [m for m in (norm, activation) if m is not None]
        self.norm_act = nn.Sequential(*layers) if layers else None
        self.norm_before_pool = norm_before_pool

    def forward(self, x, thw):
        squeeze = x.dim() == 3
        if squeeze:
            x = x.unsqueeze(1)
        elif x.dim() != 4:
            raise ValueError(f"Unsupported input dimension {tuple(x.shape)}")
        class_token, x = x[:, :, :1], x[:, :, 1:]
        B, N, _, C = x.shape
        x = x.transpose(2, 3).reshape((B * N, C) + tuple(thw))
        if self.norm_before_pool and self.norm_act is not None:
            x = self.norm_act(x)
        x = self.pool(x)
        T, H, W = x.shape[2:]
        x = torch.cat((class_token, x.reshape(B, N, C, -1).transpose(2, 3)), dim=2)
        if not self.norm_before_pool and self.norm_act is not None:
            x = self.norm_act(x)
        return (x.squeeze(1) if squeeze else x), (T, H, W)


def _interpolate(embedding, d):
    """A relative-position table resized (linearly) to d offsets when the grid differs from its own."""
    if embedding.shape[0] == d:
        return embedding
    return F.interpolate(embedding.permute(1, 0).unsqueeze(0), size=d, mode="linear").squeeze(0).permute(1, 0)


def _offsets(q_n, k_n):
    """Index of each (query, key) offset along one axis, query and key grids of different sizes
    scaled to the finer one."""
    q_ratio, k_ratio = max(k_n / q_n, 1.0), max(q_n / k_n, 1.0)
    dist = torch.arange(q_n)[:, None] * q_ratio - (torch.arange(k_n)[None, :] + (1.0 - k_n)) * k_ratio
    return dist.long()


def _add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t):
    """MViTv2's decomposed relative positions: q . R_t + q . R_h + q . R_w added to the
    attention logits between grid tokens (the class token has none)."""
    (q_t, q_h, q_w), (k_t, k_h, k_w) = q_thw, k_thw
    Rh = _interpolate(rel_pos_h, 2 * max(q_h, k_h) - 1)[_offsets(q_h, k_h)]  # (q_h, k_h, dim)
    Rw = _interpolate(rel_pos_w, 2 * max(q_w, k_w) - 1)[_offsets(q_w, k_w)]
    Rt = _interpolate(rel_pos_t, 2 * max(q_t, k_t) - 1)[_offsets(q_t, k_t)]
    B, n_head, _, dim = q.shape
    r_q = q[:, :, 1:].reshape(B, n_head, q_t, q_h, q_w, dim)
    rel_h = torch.einsum("bythwc,hkc->bythwk", r_q, Rh)
    rel_w = torch.einsum("bythwc,wkc->bythwk", r_q, Rw)
    rel_t = torch.einsum("bythwc,tkc->bythwk", r_q, Rt)
    rel_pos = (rel_h[:, :, :, :, :, None, :, None] + rel_w[:, :, :, :, :, None, None, :]
               + rel_t[:, :, :, :, :, :, None, None]).reshape(B, n_head, q_t * q_h * q_w, k_t * k_h * k_w)
    return attn + F.pad(rel_pos, (1, 0, 1, 0))


class MultiscaleAttention(nn.Module):
    def __init__(self, input_size, embed_dim, output_dim, num_heads, kernel_q, kernel_kv, stride_q, stride_kv,
                 residual_pool, residual_with_cls_embed, rel_pos_embed, dropout=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.embed_dim, self.output_dim, self.num_heads = embed_dim, output_dim, num_heads
        self.head_dim = output_dim // num_heads
        self.scaler = 1.0 / math.sqrt(self.head_dim)
        self.residual_pool = residual_pool
        self.residual_with_cls_embed = residual_with_cls_embed
        self.qkv = nn.Linear(embed_dim, 3 * output_dim)
        layers = [nn.Linear(output_dim, output_dim)]
        if dropout > 0.0:
            layers.append(nn.Dropout(dropout, inplace=True))
        self.project = nn.Sequential(*layers)

        def pool(kernel, stride):  # a depthwise strided convolution per head, then a norm
            return Pool(nn.Conv3d(self.head_dim, self.head_dim, kernel, stride=stride,
                                  padding=[int(k // 2) for k in kernel], groups=self.head_dim, bias=False),
                        norm_layer(self.head_dim))

        self.pool_q = pool(kernel_q, stride_q) if _prod(kernel_q) > 1 or _prod(stride_q) > 1 else None
        self.pool_k = self.pool_v = None
        if _prod(kernel_kv) > 1 or _prod(stride_kv) > 1:
            self.pool_k = pool(kernel_kv, stride_kv)
            self.pool_v = pool(kernel_kv, stride_kv)
        self.rel_pos_h = self.rel_pos_w = self.rel_pos_t = None
        if rel_pos_embed:
            size = max(input_size[1:])
            q_size = size // stride_q[1] if len(stride_q) > 0 else size
            kv_size = size // stride_kv[1] if len(stride_kv) > 0 else size
            spatial_dim = 2 * max(q_size, kv_size) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(spatial_dim, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(spatial_dim, self.head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * input_size[0] - 1, self.head_dim))
            for p in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x, thw):
        B, N, _ = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).transpose(1, 3).unbind(dim=2)
        k_thw = thw
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
        if self.pool_v is not None:
            v = self.pool_v(v, thw)[0]
        if self.pool_q is not None:
            q, thw = self.pool_q(q, thw)
        attn = torch.matmul(self.scaler * q, k.transpose(2, 3))
        if self.rel_pos_h is not None:
            attn = _add_rel_pos(attn, q, thw, k_thw, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t)
        x = torch.matmul(attn.softmax(dim=-1), v)
        if self.residual_pool:  # MViTv2: the pooled queries are a shortcut (the class token's too, if asked)
            x = x + (q if self.residual_with_cls_embed else F.pad(q[:, :, 1:], (0, 0, 1, 0)))
        x = x.transpose(1, 2).reshape(B, -1, self.output_dim)
        return self.project(x), thw


class MultiscaleBlock(nn.Module):
    def __init__(self, input_size, cnf, residual_pool, residual_with_cls_embed, rel_pos_embed, proj_after_attn,
                 dropout=0.0, stochastic_depth_prob=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.proj_after_attn = proj_after_attn
        self.pool_skip = None
        if _prod(cnf.stride_q) > 1:  # the shortcut is max-pooled like the queries
            kernel_skip = [s + 1 if s > 1 else s for s in cnf.stride_q]
            self.pool_skip = Pool(nn.MaxPool3d(kernel_skip, stride=cnf.stride_q,
                                               padding=[int(k // 2) for k in kernel_skip]), None)
        attn_dim = cnf.output_channels if proj_after_attn else cnf.input_channels
        self.norm1 = norm_layer(cnf.input_channels)
        self.norm2 = norm_layer(attn_dim)
        self.needs_transposal = isinstance(self.norm1, nn.BatchNorm1d)
        self.attn = MultiscaleAttention(input_size, cnf.input_channels, attn_dim, cnf.num_heads,
                                        kernel_q=cnf.kernel_q, kernel_kv=cnf.kernel_kv, stride_q=cnf.stride_q,
                                        stride_kv=cnf.stride_kv, rel_pos_embed=rel_pos_embed,
                                        residual_pool=residual_pool, residual_with_cls_embed=residual_with_cls_embed,
                                        dropout=dropout, norm_layer=norm_layer)
        self.mlp = MLP(attn_dim, [4 * attn_dim, cnf.output_channels], activation_layer=nn.GELU, dropout=dropout,
                       inplace=None)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.project = nn.Linear(cnf.input_channels, cnf.output_channels) \
            if cnf.input_channels != cnf.output_channels else None

    def _norm(self, norm, x):
        return norm(x.transpose(1, 2)).transpose(1, 2) if self.needs_transposal else norm(x)

    def forward(self, x, thw):
        x_norm1 = self._norm(self.norm1, x)
        x_attn, thw_new = self.attn(x_norm1, thw)
        if self.project is not None and self.proj_after_attn:
            x = self.project(x_norm1)
        x_skip = x if self.pool_skip is None else self.pool_skip(x, thw)[0]
        x = x_skip + self.stochastic_depth(x_attn)
        x_norm2 = self._norm(self.norm2, x)
        x_proj = self.project(x_norm2) if self.project is not None and not self.proj_after_attn else x
        return x_proj + self.stochastic_depth(self.mlp(x_norm2)), thw_new


class PositionalEncoding(nn.Module):
    """Prepends the class token; MViTv1 (no relative positions) adds learned temporal + spatial
    (and class) position embeddings, which fix the clip size."""

    def __init__(self, embed_size, spatial_size, temporal_size, rel_pos_embed):
        super().__init__()
        self.spatial_size, self.temporal_size = spatial_size, temporal_size
        self.class_token = nn.Parameter(torch.zeros(embed_size))
        self.spatial_pos = self.temporal_pos = self.class_pos = None
        if not rel_pos_embed:
            self.spatial_pos = nn.Parameter(torch.zeros(spatial_size[0] * spatial_size[1], embed_size))
            self.temporal_pos = nn.Parameter(torch.zeros(temporal_size, embed_size))
            self.class_pos = nn.Parameter(torch.zeros(embed_size))

    def forward(self, x):
        x = torch.cat((self.class_token.expand(x.size(0), -1).unsqueeze(1), x), dim=1)
        if self.spatial_pos is not None:
            # token t*HW + s gets temporal_pos[t] + spatial_pos[s]
            grid = (self.temporal_pos[:, None, :] + self.spatial_pos[None, :, :]).reshape(-1, x.shape[-1])
            x = x + torch.cat((self.class_pos.unsqueeze(0), grid), dim=0).unsqueeze(0)
        return x


class MViT(nn.Module):
    """Patchify with a strided 3-D convolution, add positions, run the multiscale blocks, norm,
    classify the class token. The clip size is fixed at construction (``spatial_size`` (H, W),
    ``temporal_size``); a 4-D input is one frame per clip."""

    def __init__(self, spatial_size, temporal_size, block_setting, residual_pool, residual_with_cls_embed,
                 rel_pos_embed, proj_after_attn, dropout=0.5, attention_dropout=0.0, stochastic_depth_prob=0.0,
                 num_classes=400, block=None, norm_layer=None, patch_embed_kernel=(3, 7, 7),
                 patch_embed_stride=(2, 4, 4), patch_embed_padding=(1, 3, 3)):
        super().__init__()
        total = len(block_setting)
        if total == 0:
            raise ValueError("The configuration parameter can't be empty.")
        block = block or MultiscaleBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.conv_proj = nn.Conv3d(3, block_setting[0].input_channels, kernel_size=patch_embed_kernel,
                                   stride=patch_embed_stride, padding=patch_embed_padding)
        input_size = [size // stride for size, stride in zip((temporal_size,) + tuple(spatial_size),
                                                              self.conv_proj.stride)]
        self.pos_encoding = PositionalEncoding(block_setting[0].input_channels, (input_size[1], input_size[2]),
                                               input_size[0], rel_pos_embed)
        self.blocks = nn.ModuleList()
        for i, cnf in enumerate(block_setting):
            self.blocks.append(block(input_size=input_size, cnf=cnf, residual_pool=residual_pool,
                                     residual_with_cls_embed=residual_with_cls_embed, rel_pos_embed=rel_pos_embed,
                                     proj_after_attn=proj_after_attn, dropout=attention_dropout,
                                     stochastic_depth_prob=stochastic_depth_prob * i / (total - 1.0),
                                     norm_layer=norm_layer))
            if len(cnf.stride_q) > 0:
                input_size = [size // stride for size, stride in zip(input_size, cnf.stride_q)]
        self.norm = norm_layer(block_setting[-1].output_channels)
        self.head = nn.Sequential(nn.Dropout(dropout, inplace=True),
                                  nn.Linear(block_setting[-1].output_channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, nn.LayerNorm):
                if m.weight is not None:
                    nn.init.constant_(m.weight, 1.0)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, PositionalEncoding):
                for p in m.parameters():
                    nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x):
        if x.dim() == 4:
            x = x.unsqueeze(2)
        elif x.dim() != 5:
            raise ValueError(f"Unsupported input dimension {tuple(x.shape)}")
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = self.pos_encoding(x)
        thw = (self.pos_encoding.temporal_size,) + tuple(self.pos_encoding.spatial_size)
        for blk in self.blocks:
            x, thw = blk(x, thw)
        return self.head(self.norm(x)[:, 0])


def _mvit(block_setting, stochastic_depth_prob, weights, progress, **kwargs):
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
        _ovewrite_named_param(kwargs, "spatial_size", weights.meta["min_size"])
        _ovewrite_named_param(kwargs, "temporal_size", weights.meta["min_temporal_size"])
    model = MViT(spatial_size=kwargs.pop("spatial_size", (224, 224)), temporal_size=kwargs.pop("temporal_size", 16),
                 block_setting=block_setting, residual_pool=kwargs.pop("residual_pool", False),
                 residual_with_cls_embed=kwargs.pop("residual_with_cls_embed", True),
                 rel_pos_embed=kwargs.pop("rel_pos_embed", False), proj_after_attn=kwargs.pop("proj_after_attn", False),
                 stochastic_depth_prob=stochastic_depth_prob, **kwargs)
    return load_weights(model, weights, progress)


def _settings(num_heads, input_channels, output_channels, kernel_q, stride_q):
    """16 blocks; keys and values always pooled by 3x3x3 kernels, strided (1, 8, 8) then (1, 4, 4),
    (1, 2, 2) and finally not at all as the queries' strides shrink the grid."""
    stride_kv = [[1, 8, 8]] + [[1, 4, 4]] * 2 + [[1, 2, 2]] * 11 + [[1, 1, 1]] * 2
    return [MSBlockConfig(num_heads[i], input_channels[i], output_channels[i], kernel_q[i], [3, 3, 3],
                          stride_q[i], stride_kv[i]) for i in range(16)]


_HEADS = [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8]
_DOWN = (1, 3, 14)  # the blocks whose queries are strided (1, 2, 2)

MViT_V1_B_Weights = _make_enum("MViT_V1_B_Weights", __name__)
MViT_V2_S_Weights = _make_enum("MViT_V2_S_Weights", __name__)


@builder(MViT_V1_B_Weights, legacy="KINETICS400_V1")
def mvit_v1_b(*, weights=None, progress=True, **kwargs):
    """MViT-B v1 (Multiscale Vision Transformers), 16x224x224 clips; channels change in the
    block before each downsampling one."""
    channels = [96] + [192] * 2 + [384] * 11 + [768] * 2
    setting = _settings(_HEADS, channels, channels[1:] + [768],
                        [[3, 3, 3] if i in _DOWN else [] for i in range(16)],
                        [[1, 2, 2] if i in _DOWN else [] for i in range(16)])
    return _mvit(spatial_size=(224, 224), temporal_size=16, block_setting=setting, residual_pool=False,
                 residual_with_cls_embed=False, stochastic_depth_prob=kwargs.pop("stochastic_depth_prob", 0.2),
                 weights=weights, progress=progress, **kwargs)


@builder(MViT_V2_S_Weights, legacy="KINETICS400_V1")
def mvit_v2_s(*, weights=None, progress=True, **kwargs):
    """MViT-S v2: pooled-query residuals, decomposed relative positions, the projection after
    attention (channels change in the downsampling block itself)."""
    channels = [96] * 2 + [192] * 2 + [384] * 11 + [768]
    setting = _settings(_HEADS, channels, channels[1:] + [768], [[3, 3, 3]] * 16,
                        [[1, 2, 2] if i in _DOWN else [1, 1, 1] for i in range(16)])
    return _mvit(spatial_size=(224, 224), temporal_size=16, block_setting=setting, residual_pool=True,
                 residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True,
                 stochastic_depth_prob=kwargs.pop("stochastic_depth_prob", 0.2), weights=weights, progress=progress,
                 **kwargs)
