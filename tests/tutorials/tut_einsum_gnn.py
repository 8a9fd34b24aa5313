"""einsum-heavy and scatter-heavy model code as research scripts write it: multi-head attention
written entirely with torch.einsum ('bhid,bhjd->bhij'), an MLP-Mixer block (token mixing via
einsum over the patch axis), a mixture-of-experts layer (softmax router, topk gating, tokens
dispatched with index_select and combined with index_add_, a load-balancing auxiliary loss with
one_hot and bincount), einsum identities (trace, diagonal, outer, batched bilinear against
F.bilinear, ellipsis broadcasting, the sublist form), a graph convolutional network with
degree-normalised adjacency from an edge list (index_add_, scatter_add_, torch.sparse_coo_tensor
and torch.sparse.mm), a graph attention layer whose per-node softmax uses scatter_reduce('amax')
and index_add_, node classification with train/test masks, and gradients of all of it."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
t = lambda *s: torch.from_numpy(rng.randn(*s).astype(np.float32))  # noqa: E731

# einsum identities
A, B = t(4, 4), t(4, 5)
v, w = t(4), t(5)
record("trace", torch.einsum("ii", A))
record("diag", torch.einsum("ii->i", A))
record("outer", torch.einsum("i,j->ij", v, w))
record("matvec", torch.einsum("ij,j->i", B, w))
record("transpose", torch.einsum("ij->ji", B))
record("batched", torch.einsum("bij,bjk->bik", t(3, 2, 4), t(3, 4, 2)))
record("ellipsis", torch.einsum("...ij,...jk->...ik", t(2, 3, 2, 4), t(4, 3)))
record("sublist", torch.einsum(A, [0, 1], B, [1, 2], [0, 2]))
x1, x2, W = t(6, 3), t(6, 4), t(5, 3, 4)
bil = torch.einsum("bi,oij,bj->bo", x1, W, x2)
record("bilinear", bil)
record("bilinear_eq", torch.allclose(bil, F.bilinear(x1, x2, W), atol=1e-5))
record("sum_all", torch.einsum("ijk->", t(2, 3, 4)))
record("repeated_out", torch.einsum("bn,bn->b", v.view(1, 4).expand(2, 4), t(2, 4)))


class EinsumAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dk = heads, d // heads
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.o = nn.Linear(d, d)

    def forward(self, x, mask=None):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.h, self.dk).unbind(2)
        scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(self.dk)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        attn = scores.softmax(-1)
        out = torch.einsum("bhij,bjhd->bihd", attn, v).reshape(b, n, d)
        return self.o(out), attn


class MixerBlock(nn.Module):
    def __init__(self, n_tokens, d):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.tok_w1 = nn.Parameter(torch.zeros(n_tokens, 2 * n_tokens))
        self.tok_w2 = nn.Parameter(torch.zeros(2 * n_tokens, n_tokens))
        self.ch = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        y = self.norm1(x)
        y = torch.einsum("bnd,nm->bmd", y, self.tok_w1)
        y = torch.einsum("bmd,mn->bnd", F.gelu(y), self.tok_w2)
        x = x + y
        return x + self.ch(self.norm2(x))


class MoE(nn.Module):
    def __init__(self, d, n_experts=4, k=2):
        super().__init__()
        self.router = nn.Linear(d, n_experts, bias=False)
        self.w1 = nn.Parameter(torch.zeros(n_experts, d, 2 * d))
        self.w2 = nn.Parameter(torch.zeros(n_experts, 2 * d, d))
        self.k, self.n = k, n_experts

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        probs = self.router(x).softmax(-1)
        gate, idx = probs.topk(self.k, dim=-1)
        gate = gate / gate.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        for e in range(self.n):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if tok.numel() == 0:
                continue
            h = F.relu(x.index_select(0, tok) @ self.w1[e]) @ self.w2[e]
            out.index_add_(0, tok, h * gate[tok, slot].unsqueeze(-1))
        # Switch-style balance loss: fraction routed (first choice) times mean router probability
        frac = torch.bincount(idx[:, 0], minlength=self.n).float() / x.size(0)
        onehot_frac = F.one_hot(idx[:, 0], self.n).float().mean(0)
        aux = self.n * (frac * probs.mean(0)).sum()
        return out.view(shape), aux, frac, onehot_frac


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Linear(3, 8)
        self.attn = EinsumAttention(8, 2)
        self.mixer = MixerBlock(6, 8)
        self.moe = MoE(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x, mask):
        h = self.emb(x)
        a, attn = self.attn(h, mask)
        h = self.mixer(h + a)
        m, aux, frac, ofrac = self.moe(h)
        return self.head((h + m).mean(1)), aux, attn, frac, ofrac


model = np_params(Model(), 1)
xs = t(4, 6, 3)
mask = torch.ones(4, 6, dtype=torch.bool)
mask[1, 4:] = False
mask[3, 5] = False
ys = torch.tensor([0, 1, 1, 0])
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
losses = []
for step in range(4):
    logits, aux, attn, frac, ofrac = model(xs, mask)
    loss = F.cross_entropy(logits, ys) + 0.01 * aux
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
    if step == 0:
        record("attn", attn)
        record("moe_frac", frac)
        record("moe_frac_eq", torch.equal(frac, ofrac))
        record("grads0", {n: p.grad for n, p in model.named_parameters()})
record("losses", losses)
record("params", dict(model.named_parameters()))
print("mixer/moe losses", " ".join(f"{v:.4f}" for v in losses))

# ---- graphs: a ring with chords, node features, two classes
n_nodes = 12
src = np.concatenate([np.arange(n_nodes), np.arange(0, n_nodes, 3)])
dst = np.concatenate([(np.arange(n_nodes) + 1) % n_nodes, (np.arange(0, n_nodes, 3) + 5) % n_nodes])
edge_index = torch.from_numpy(np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]).astype(np.int64))
feat = t(n_nodes, 5)
label = torch.from_numpy((np.arange(n_nodes) % 4 < 2).astype(np.int64))
train_mask = torch.zeros(n_nodes, dtype=torch.bool)
train_mask[::2] = True


def gcn_norm(edge_index, n):
    loops = torch.arange(n)
    ei = torch.cat([edge_index, torch.stack([loops, loops])], 1)
    deg = torch.zeros(n).scatter_add_(0, ei[1], torch.ones(ei.size(1)))
    dinv = deg.pow(-0.5)
    dinv[torch.isinf(dinv)] = 0
    return ei, dinv[ei[0]] * dinv[ei[1]]


class GCNConv(nn.Module):
    def __init__(self, d_in, d_out, sparse=False):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(d_out))
        self.sparse = sparse

    def forward(self, x, ei, norm):
        h = self.lin(x)
        if self.sparse:
            adj = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), norm, (x.size(0), x.size(0)))
            out = torch.sparse.mm(adj, h)
        else:
            out = torch.zeros_like(h).index_add_(0, ei[1], h[ei[0]] * norm.unsqueeze(-1))
        return out + self.bias


class GATConv(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.att_src = nn.Parameter(torch.zeros(d_out))
        self.att_dst = nn.Parameter(torch.zeros(d_out))

    def forward(self, x, ei):
        h = self.lin(x)
        e = F.leaky_relu((h * self.att_src).sum(-1)[ei[0]] + (h * self.att_dst).sum(-1)[ei[1]], 0.2)
        emax = torch.full((x.size(0),), float("-inf")).scatter_reduce(0, ei[1], e, reduce="amax", include_self=True)
        ex = (e - emax[ei[1]]).exp()
        denom = torch.zeros(x.size(0)).index_add_(0, ei[1], ex)
        alpha = ex / denom[ei[1]]
        return torch.zeros_like(h).index_add_(0, ei[1], h[ei[0]] * alpha.unsqueeze(-1)), alpha


ei, norm = gcn_norm(edge_index, n_nodes)
record("gcn_norm", norm)
for sparse in (False, True):
    conv1 = np_params(GCNConv(5, 8, sparse), 7)
    gat = np_params(GATConv(8, 2), 8)
    params = list(conv1.parameters()) + list(gat.parameters())
    gopt = torch.optim.Adam(params, lr=0.02, weight_decay=5e-4)
    glosses = []
    for epoch in range(5):
        h = F.relu(conv1(feat, ei, norm))
        h = F.dropout(h, p=0.0, training=True)
        out, alpha = gat(h, edge_index)
        loss = F.cross_entropy(out[train_mask], label[train_mask])
        gopt.zero_grad()
        loss.backward()
        gopt.step()
        glosses.append(loss.item())
    acc = (out.argmax(1)[~train_mask] == label[~train_mask]).float().mean()
    record(f"gnn_losses_{sparse}", glosses)
    record(f"gnn_alpha_{sparse}", alpha)
    record(f"gnn_w_{sparse}", conv1.lin.weight)
    record(f"gnn_acc_{sparse}", acc)
    print(f"gnn sparse={sparse}: loss {glosses[-1]:.4f} test acc {acc.item():.3f}")
# per-node attention sums to one
record("alpha_sums", torch.zeros(n_nodes).index_add_(0, edge_index[1], alpha.detach()))
# scatter_reduce variants on the same edges
vals = t(edge_index.size(1))
for red in ("sum", "prod", "mean", "amax", "amin"):
    record(f"scatter_{red}", torch.zeros(n_nodes).scatter_reduce(0, edge_index[1], vals, reduce=red,
                                                                   include_self=False))
finish()
