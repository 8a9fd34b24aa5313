"""torch.nn.attention.bias: causal masks for queries and keys of different lengths.

`causal_upper_left(Lq, Lkv)` lets query i see keys 0..i; `causal_lower_right(Lq, Lkv)` aligns the last
query with the last key (query i sees keys up to i + Lkv - Lq), as when new queries attend to a cache.
Passed as `attn_mask` to scaled_dot_product_attention they act as their boolean mask."""
import enum

import jtorch as torch

__all__ = ["CausalVariant", "CausalBias", "causal_upper_left", "causal_lower_right"]


class CausalVariant(enum.IntEnum):
    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias:
    def __init__(self, variant, seq_len_q, seq_len_kv):
        if not isinstance(variant, CausalVariant):
            raise AssertionError("variant must be a CausalVariant")
        self.variant, self.seq_len_q, self.seq_len_kv = variant, seq_len_q, seq_len_kv

    def _upper_left(self, device):
        return torch.tril(torch.ones(self.seq_len_q, self.seq_len_kv, device=device, dtype=torch.bool))

    def _lower_right(self, device):
        diagonal = self.seq_len_kv - self.seq_len_q
        return torch.tril(torch.ones(self.seq_len_q, self.seq_len_kv, device=device, dtype=torch.bool),
                          diagonal=diagonal)

    def _materialize(self, device=None):
        if device is None:
            device = torch.device("cpu")
        if self.variant == CausalVariant.UPPER_LEFT:
            return self._upper_left(device)
        return self._lower_right(device)

    def __repr__(self):
        return repr(self._materialize())


def causal_upper_left(*size):
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    return CausalBias(CausalVariant.UPPER_LEFT, *size)


def causal_lower_right(*size):
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    return CausalBias(CausalVariant.LOWER_RIGHT, *size)
