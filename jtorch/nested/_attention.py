"""scaled_dot_product_attention on nested (B, H, j, D) query/key/value: the components padded to the
longest, one dense attention call with the keys' padding masked out, and the queries' rows packed back."""
import numpy as np

import jtorch as torch
from ._padding import pad, unpad
from ._route import kernel
from ._tensor import NestedTensor


@kernel("_attention")
def attention(op, query, key, value, attn_mask, rng, dropout_p, scale=None, is_causal=False, gqa_groups=1,
              safe=True, return_weights=False):
    if not all(isinstance(t, NestedTensor) for t in (query, key, value)):
        raise ValueError("Expected query, key, and value to be nested tensors, but got query.is_nested: "
                         f"{query.is_nested}, key.is_nested: {key.is_nested}, and value.is_nested: "
                         f"{value.is_nested} instead.")
    if attn_mask is not None:  # (torch 2.13's nested attention takes no mask, dense or nested)
        if query.layout is torch.strided:
            raise RuntimeError("Scaled_dot_product_attention: Nested tensors for query / key are not supported "
                               "when an explicit attn_mask is set")
        raise ValueError("Masks are not yet supported!")
    if is_causal:  # (torch has no nested kernel for it: "Nested tensors for query / key are not supported")
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found.")
    # dropout: ``rng`` is a key (attention_ops draws no mask ahead for nested inputs, whose weights' shape
    # is ragged); the dense kernel draws the mask for the padded weights from it, forward and backward alike
    if all(t._ragged_idx < t.dim() - 2 and t._jint == query._jint for t in (key, value)) and \
            query._ragged_idx < query.dim() - 2:  # the ragged dim is a batch dim of the attention: values alone
        return query._rebuild(op(query._values, key._values, value._values, None, rng, dropout_p, scale=scale,
                                 is_causal=False, gqa_groups=gqa_groups, safe=safe, return_weights=False))
    for t in (query, key, value):
        if t._ragged_idx != t.dim() - 2:
            raise RuntimeError("scaled_dot_product_attention(): the ragged dim of query, key and value must be the "
                               "sequence dim (B, H, j, D): transpose(1, 2) the (B, j, H, D) projections first")
    if key._jint != value._jint and not np.array_equal(key._lens, value._lens):
        raise RuntimeError(f"scaled_dot_product_attention(): key and value must have the same sequence lengths, "
                           f"got {key._lens.tolist()} and {value._lens.tolist()}")
    Lq, Lk = int(query._lens.max(initial=0)), int(key._lens.max(initial=0))
    q, _ = pad(query, Lq)
    k, kvalid = pad(key, Lk)
    v, _ = pad(value, Lk)
    shape = [kvalid.shape[0]] + [1] * (q.dim() - 2) + [Lk]
    mask = torch.tensor(kvalid).reshape(shape)  # (B, 1, .., 1, Lk): True where a key is real
    out = op(q, k, v, mask, rng, dropout_p, scale=scale, is_causal=False, gqa_groups=gqa_groups, safe=safe,
             return_weights=False)
    return query._rebuild(unpad(out, query))
