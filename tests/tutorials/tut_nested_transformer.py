"""The nested-tensor tutorials ("Getting Started with Nested Tensors" and "Accelerating Transformers by
replacing padding with nested tensors"): ragged sentences as torch.nested.nested_tensor(layout=
torch.jagged) (is_nested, dim, size of the regular dims, offsets(), values(), unbind), made from
values + offsets with nested_tensor_from_jagged and from a list with as_nested_tensor,
to_padded_tensor with a padding value and output_size, pointwise ops / nn.Linear / softmax /
reductions over the ragged dim applied directly, a multi-head attention layer whose heads are split
with unflatten + transpose(1, 2) and run through F.scaled_dot_product_attention on the jagged batch,
compared with the same layer on a padded batch with a key-padding mask, gradients to the
nested input and to the layer's weights against the padded run, and a few training steps of a small
sentence classifier that pools the nested outputs (padded sums over the lengths from offsets().diff())."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tut_common import finish, np_params, record

rng = np.random.RandomState(10)
E, HEADS = 8, 2
lengths = [3, 5, 2, 4]
sentences = [torch.tensor(rng.randn(n, E).astype(np.float32)) for n in lengths]

nt = torch.nested.nested_tensor(sentences, layout=torch.jagged)
print("is_nested:", nt.is_nested, "dim:", nt.dim(), "batch:", nt.size(0), "embed:", nt.size(-1), nt.layout)
record("offsets", nt.offsets())
record("values", nt.values())
print("unbind shapes:", [tuple(t.shape) for t in nt.unbind()])
padded = nt.to_padded_tensor(0.0)
record("padded", padded)
record("padded_out_size", torch.nested.to_padded_tensor(nt, -1.0, output_size=(4, 6, E)))
nt2 = torch.nested.nested_tensor_from_jagged(nt.values().clone(), nt.offsets().clone())
record("from_jagged_equal", all(torch.equal(a, b) for a, b in zip(nt2.unbind(), sentences)))
nt3 = torch.nested.as_nested_tensor(sentences, layout=torch.jagged)
record("as_nested_values", nt3.values())

# pointwise ops, Linear and reductions straight on the ragged batch
lin = np_params(nn.Linear(E, 4), seed=1)
y = F.gelu(lin(nt * 2 + 1))
record("linear_nested", [t for t in y.unbind()])
record("softmax_nested", [t for t in F.softmax(y, dim=-1).unbind()])
record("mean_ragged", y.mean(dim=1))
record("sum_last", [t for t in y.sum(dim=-1).unbind()])
print("linear on nested keeps nesting:", y.is_nested)


class MultiHeadAttention(nn.Module):
    def __init__(self, e, heads):
        super().__init__()
        self.heads = heads
        # separate projections: torch's CPU math kernel wants each of q, k, v contiguous after
        # the transpose, which chunks of one packed projection are not
        self.q_proj = nn.Linear(e, e)
        # no key bias: it adds the same q.b to every score of a row, which softmax cancels, so its
        # gradient is rounding noise that Adam would turn into full-size steps
        self.k_proj = nn.Linear(e, e, bias=False)
        self.v_proj = nn.Linear(e, e)
        self.out_proj = nn.Linear(e, e)

    def forward(self, x, attn_mask=None):
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        # (N, L, E) -> (N, heads, L, E / heads); L may be ragged
        q = q.unflatten(-1, [self.heads, -1]).transpose(1, 2)
        k = k.unflatten(-1, [self.heads, -1]).transpose(1, 2)
        v = v.unflatten(-1, [self.heads, -1]).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out_proj(out.transpose(1, 2).flatten(-2))


mha = np_params(MultiHeadAttention(E, HEADS), seed=2)
nt_in = torch.nested.nested_tensor(sentences, layout=torch.jagged, requires_grad=True)
out_nested = mha(nt_in)
print("attention output nested:", out_nested.is_nested)

pad_in = nn.utils.rnn.pad_sequence(sentences, batch_first=True).requires_grad_()
key_valid = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
out_padded = mha(pad_in, attn_mask=key_valid[:, None, None, :])
record("attn_nested", [t for t in out_nested.unbind()])
match = all(torch.allclose(o[: n], p[: n], atol=1e-5) for o, p, n in zip(out_nested.unbind(), out_padded, lengths))
print("nested == padded on valid rows:", match)

# gradients: the same loss over valid rows
mha.zero_grad()
out_nested.values().pow(2).sum().backward()
g_nested = {n: p.grad.clone() for n, p in mha.named_parameters()}
record("grad_input_nested", [t for t in nt_in.grad.unbind()])
mha.zero_grad()
(out_padded.pow(2) * key_valid[..., None]).sum().backward()
record("grad_weights_nested", g_nested)
record("grad_weights_padded", {n: p.grad for n, p in mha.named_parameters()})
record("grad_input_padded", pad_in.grad)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = MultiHeadAttention(E, HEADS)
        self.norm = nn.LayerNorm(E)
        self.head = nn.Linear(E, 3)

    def forward(self, x):
        h = self.norm(x + self.attn(x))
        # mean over each sentence (torch's backward of a reduction over the ragged dim is not
        # implemented): pad with zeros and divide by the lengths
        lengths = x.offsets().diff().unsqueeze(-1)
        return self.head(h.to_padded_tensor(0.0).sum(1) / lengths)


clf = np_params(Classifier(), seed=3)
labels = torch.tensor([0, 2, 1, 2])
opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
losses = []
for step in range(5):
    opt.zero_grad()
    batch = torch.nested.nested_tensor(sentences, layout=torch.jagged)
    loss = F.cross_entropy(clf(batch), labels)
    loss.backward()
    opt.step()
    losses.append(loss.item())
    print(f"step {step} loss {loss.item():.5f}")
record("losses", losses)
record("clf_params", dict(clf.named_parameters()))
finish()
