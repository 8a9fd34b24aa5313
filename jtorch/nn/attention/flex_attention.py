"""torch.nn.attention.flex_attention: attention with a user `score_mod(score, b, h, q_idx, kv_idx)` and a
`mask_mod(b, h, q_idx, kv_idx)` given as a `BlockMask`.

Eager torch evaluates the mods over every (b, h, q, kv) and materialises the scores; so does jtorch, by
calling the mods once on broadcast index tensors (b of shape (B,1,1,1), h (1,H,1,1), q (1,1,Q,1),
kv (1,1,1,KV)) instead of four nested vmaps: the elementwise code and indexing into captured tensors
that mods are written with give the same values, and tensors they capture (a learned bias) stay on the
tape. `BlockMask` keeps torch's block bookkeeping (partial and full blocks per query block, indices,
`to_dense`, `sparsity`, printing); the attention itself masks per element with `mask_mod` as torch's
eager path does."""
import itertools
import math
import warnings
from typing import NamedTuple, Optional

import jtorch as torch

__all__ = ["BlockMask", "flex_attention", "create_block_mask", "create_mask", "and_masks", "or_masks",
           "noop_mask", "AuxRequest", "AuxOutput"]

_DEFAULT_SPARSE_BLOCK_SIZE = 128


class AuxRequest(NamedTuple):
    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    lse: Optional[object] = None
    max_scores: Optional[object] = None


def noop_mask(b, h, q_idx, kv_idx):
    return b.new_ones(size=(), dtype=torch.bool)


def _identity(score, b, h, q_idx, kv_idx):
    return score


def and_masks(*mask_mods):
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        result = b.new_ones((), dtype=torch.bool)
        for m in mask_mods:
            result = result & m(b, h, q_idx, kv_idx)
        return result
    return and_mask


def or_masks(*mask_mods):
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        result = b.new_zeros((), dtype=torch.bool)
        for m in mask_mods:
            result = result | m(b, h, q_idx, kv_idx)
        return result
    return or_mask


def _grid(B, H, Q, KV, device):
    def idx(n, dim):
        shape = [1, 1, 1, 1]
        shape[dim] = n
        return torch.arange(n, device=device).view(shape)
    return idx(B, 0), idx(H, 1), idx(Q, 2), idx(KV, 3)


def create_mask(mod_fn, B, H, Q_LEN, KV_LEN, device=None):
    """The dense (B, H, Q_LEN, KV_LEN) bool mask of a mask_mod, or of a score_mod (False where it gives -inf)."""
    B = 1 if B is None else B
    H = 1 if H is None else H
    b, h, q, kv = _grid(B, H, Q_LEN, KV_LEN, device)
    params = _arity(mod_fn)
    if params == 4:
        out = mod_fn(b, h, q, kv)
        if not isinstance(out, torch.Tensor):
            out = torch.tensor(bool(out), device=device)
        return out.expand(B, H, Q_LEN, KV_LEN).clone()
    out = mod_fn(torch.zeros(B, H, Q_LEN, KV_LEN, device=device), b, h, q, kv)
    return ~torch.isneginf(out.expand(B, H, Q_LEN, KV_LEN))  # a score_mod masks where it gives -inf


def _arity(fn):
    import inspect
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 4
    return sum(1 for p in sig.parameters.values() if p.default is inspect.Parameter.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _ordered_indices(blocks):
    """Per query block: how many kv blocks are set, and the kv block indices with the set ones first."""
    num = blocks.sum(-1).to(torch.int32)
    order = torch.argsort(blocks.to(torch.int8), dim=-1, descending=True, stable=True).to(torch.int32)
    return num, order


class BlockMask:
    """Which (query block, kv block) tiles are computed: partial tiles (some pairs masked: mask_mod runs)
    and full tiles (no pair masked), for each batch and head."""

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices,
                 q_num_blocks, q_indices, full_q_num_blocks, full_q_indices, BLOCK_SIZE, mask_mod):
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks, self.kv_indices = kv_num_blocks, kv_indices
        self.full_kv_num_blocks, self.full_kv_indices = full_kv_num_blocks, full_kv_indices
        self.q_num_blocks, self.q_indices = q_num_blocks, q_indices
        self.full_q_num_blocks, self.full_q_indices = full_q_num_blocks, full_q_indices
        self.BLOCK_SIZE = tuple(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def _from_dense_blocks(cls, partial, full, seq_lengths, block_size, mask_mod):
        kv_num, kv_idx = _ordered_indices(partial)
        fkv_num, fkv_idx = _ordered_indices(full)
        q_num, q_idx = _ordered_indices(partial.transpose(-2, -1))
        fq_num, fq_idx = _ordered_indices(full.transpose(-2, -1))
        return cls(seq_lengths, kv_num, kv_idx, fkv_num, fkv_idx, q_num, q_idx, fq_num, fq_idx, block_size,
                   mask_mod)

    @property
    def shape(self):
        *batch_dims, _, _ = self.kv_indices.shape
        return tuple(batch_dims) + self.seq_lengths

    def numel(self):
        return math.prod(self.shape)

    def sparsity(self):
        """Percentage of the mask's area in tiles that are not computed."""
        computed = self.kv_num_blocks.sum()
        if self.full_kv_num_blocks is not None:
            computed = computed + self.full_kv_num_blocks.sum()
        dense_ratio = computed.item() * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1] / self.numel()
        return 100 * (1 - dense_ratio)

    def _dense(self, num, idx):
        n = idx.shape[-1]
        taken = torch.arange(n, device=idx.device) < num.unsqueeze(-1)
        out = torch.zeros(idx.shape, dtype=torch.int32, device=idx.device)
        return out.scatter(-1, idx.long(), taken.to(torch.int32))

    def to_dense(self):
        dense = self._dense(self.kv_num_blocks, self.kv_indices)
        if self.full_kv_num_blocks is not None:
            dense = dense | self._dense(self.full_kv_num_blocks, self.full_kv_indices)
        return dense

    def to_string(self, grid_size=(20, 20), limit=4):
        dense = self.to_dense()
        *batch_dims, rows, cols = dense.shape
        if isinstance(grid_size, int):
            max_rows = max_cols = grid_size
        elif grid_size == -1:
            max_rows, max_cols = rows, cols
        else:
            max_rows, max_cols = grid_size
        row_step = max(1, -(-rows // max_rows))
        col_step = max(1, -(-cols // max_cols))
        pictures = []
        for n, batch_idx in enumerate(itertools.product(*[range(i) for i in batch_dims])):
            if n == limit:
                pictures += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                             "You can also index (BlockMask[batch, head]) to choose a specific batch or head"]
                break
            cur = dense[batch_idx]
            text = f"{batch_idx}\n"
            for r in range(0, rows, row_step):
                for c in range(0, cols, col_step):
                    frac = cur[r:r + row_step, c:c + col_step].float().mean().item()
                    text += ("█" if frac == 1 else " " if frac == 0 else "░") * 2
                text += "\n"
            pictures.append(text)
        return "\n".join(pictures)

    def __str__(self):
        return f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n{self.to_string().strip()}\n)"

    def __repr__(self):
        def shape_or_none(x):
            return None if x is None else x.shape
        return (f"BlockMask(\n    kv_num_blocks={self.kv_num_blocks.shape},\n    kv_indices={self.kv_indices.shape},\n"
                f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
                f"    q_num_blocks={shape_or_none(self.q_num_blocks)},\n    q_indices={shape_or_none(self.q_indices)},\n"
                f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shape_or_none(self.full_q_indices)},\n    BLOCK_SIZE={self.BLOCK_SIZE},\n"
                f"    shape={self.shape},\n    sparsity={self.sparsity():.2f}%,\n    mask_mod={self.mask_mod.__name__ if hasattr(self.mask_mod, '__name__') else self.mask_mod}\n)")

    def to(self, device):
        def move(x):
            return None if x is None else x.to(device)
        return BlockMask(self.seq_lengths, move(self.kv_num_blocks), move(self.kv_indices),
                         move(self.full_kv_num_blocks), move(self.full_kv_indices), move(self.q_num_blocks),
                         move(self.q_indices), move(self.full_q_num_blocks), move(self.full_q_indices),
                         self.BLOCK_SIZE, self.mask_mod)


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device=None, BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile=False, separate_full_blocks=True, **kwargs):
    """Evaluate `mask_mod` on every (b, h, q, kv) and summarise it per BLOCK_SIZE tile."""
    if _arity(mask_mod) != 4:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    B = 1 if B is None else B
    H = 1 if H is None else H
    qbs, kvbs = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    # pad to whole tiles with masked-out pairs, then count the allowed pairs per tile
    pad_q, pad_kv = -Q_LEN % qbs, -KV_LEN % kvbs
    mask = torch.nn.functional.pad(mask, (0, pad_kv, 0, pad_q))
    nq, nkv = (Q_LEN + pad_q) // qbs, (KV_LEN + pad_kv) // kvbs
    counts = mask.view(B, H, nq, qbs, nkv, kvbs).sum(dim=(3, 5))
    if separate_full_blocks:
        full = counts == qbs * kvbs
        partial = (counts > 0) & ~full
    else:
        partial, full = counts > 0, None
    if full is None:
        kv_num, kv_idx = _ordered_indices(partial)
        q_num, q_idx = _ordered_indices(partial.transpose(-2, -1))
        return BlockMask((Q_LEN, KV_LEN), kv_num, kv_idx, None, None, q_num, q_idx, None, None, (qbs, kvbs),
                         mask_mod)
    return BlockMask._from_dense_blocks(partial, full, (Q_LEN, KV_LEN), (qbs, kvbs), mask_mod)


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None, enable_gqa=False,
                   return_lse=False, kernel_options=None, *, return_aux=None):
    """softmax(score_mod(q k^T * scale) where mask_mod, else -inf) @ v; rows with every key masked give
    zeros (and a logsumexp of -inf) instead of nan."""
    if query.device.type == "cpu" and (query.requires_grad or key.requires_grad or value.requires_grad):
        # torch's CPU path has no backward; refused alike so a program behaves the same on both
        raise NotImplementedError("FlexAttention does not support backward on CPU. Please set the input "
                                  "requires_grad to False or use another device.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    if query.size(-1) != key.size(-1):
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but got "
                         f"E={query.size(-1)} and E={key.size(-1)}.")
    if (not enable_gqa) and query.size(-3) != key.size(-3):
        raise ValueError(f"Expect query and key/value to have the same number of heads but got "
                         f"Hq={query.size(-3)} and Hkv={key.size(-3)}. Try setting enable_gqa=True for GQA.")
    if enable_gqa and query.size(1) % key.size(1) != 0:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but got "
                         f"Hq={query.size(1)} and Hkv={key.size(1)}.")
    if query.size(0) != key.size(0) and (block_mask is None or block_mask.kv_num_blocks.size(0) != query.size(0)):
        raise ValueError(f"Expect query and key/value to have the same batch size, or non-none block_mask, but "
                         f"got block_mask=None, Bq={query.size(0)}, and Bkv={key.size(0)}.")
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is deprecated, please use "
                         "return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        warnings.warn("return_lse is deprecated and will be removed in v2.10. Please use "
                      "return_aux=AuxRequest(lse=True) instead.", FutureWarning, stacklevel=2)
    if return_aux is not None and return_aux.max_scores and query.device.type == "cpu":
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    score_mod = _identity if score_mod is None else score_mod
    mask_mod = noop_mask
    Lq, Lkv = query.size(-2), key.size(-2)
    if block_mask is not None:
        bq, bkv = block_mask.shape[-2:]
        if Lq > bq or Lkv > bkv:
            raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={Lq} "
                             f"and kv_len={Lkv}. As the block mask was created for a smaller length than you're "
                             "using it for, you likely need to create a new block mask.")
        if Lq < bq or Lkv < bkv:
            raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={Lq} "
                             f"and kv_len={Lkv}. As the block mask was created for a larger length than you're "
                             "using it for, you can either 1. create a new block mask with the correct length, or 2. "
                             "'adjust' the existing block mask to the correct length by calling "
                             "block_mask._adjust(q_len, kv_len). This essentially 'crops' the block mask to the upper "
                             "left corner, which does not work for all mask_mods!")
        mask_mod = block_mask.mask_mod
    if scale is None:
        scale = 1.0 / math.sqrt(query.size(-1))
    groups = query.size(1) // key.size(1)
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    B, H = query.size(0), query.size(1)
    key = key.expand(B, *key.shape[1:])
    value = value.expand(B, *value.shape[1:])
    work = torch.float64 if query.dtype == torch.float64 else torch.float32
    scores = (query.to(work) @ key.to(work).transpose(-2, -1)) * scale
    b, h, q, kv = _grid(B, H, Lq, Lkv, query.device)
    modded = score_mod(scores, b, h, q, kv)
    keep = mask_mod(b, h, q, kv)
    if not isinstance(keep, torch.Tensor):
        keep = torch.tensor(bool(keep), device=query.device)
    scores = torch.where(keep, modded, torch.tensor(-math.inf, dtype=work, device=query.device))
    scores = scores.expand(B, H, Lq, Lkv)
    lse = scores.logsumexp(dim=-1)
    dead = torch.isneginf(scores).all(dim=-1)  # every key masked: zeros out, -inf logsumexp
    lse = torch.where(dead, torch.tensor(-math.inf, dtype=work, device=query.device), lse)
    row_max = scores.amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isneginf(row_max), torch.zeros_like(row_max), row_max).detach()
    e = torch.exp(scores - row_max)
    total = e.sum(dim=-1, keepdim=True)
    probs = e / torch.where(total == 0, torch.ones_like(total), total)
    out = probs.to(query.dtype) @ value.to(query.dtype)
    if return_lse:
        return out, lse
    if return_aux is not None:
        return out, AuxOutput(lse=lse if return_aux.lse else None,
                              max_scores=scores.amax(dim=-1) if return_aux.max_scores else None)
    return out
