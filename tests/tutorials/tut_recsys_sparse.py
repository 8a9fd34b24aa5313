"""Recommender training as recsys scripts write it: an implicit-feedback interaction matrix built as a
torch.sparse_coo_tensor (coalesce, indices/values, to_dense, torch.sparse.sum per user, torch.sparse.mm
against item factors), matrix factorisation with nn.Embedding(sparse=True) trained by
optim.SparseAdam on a BPR loss (F.logsigmoid of score differences, negatives drawn by numpy), the
sparse gradients themselves (is_sparse, coalesced indices and values against a dense run), the same
model with dense embeddings and Adam on the dense parameters, Adagrad and plain SGD stepping sparse
gradients, an nn.EmbeddingBag(mode='sum', sparse=True) with per_sample_weights for users described
by bags of features, a factorisation machine's pairwise term ((sum v)^2 - sum v^2) / 2, and
evaluation: scores for all items, seen items masked with masked_fill(-inf), topk recommendations,
hit rate and NDCG@k with torch.log2 discounts."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tut_common import finish, np_params, record

rng = np.random.RandomState(17)
N_USERS, N_ITEMS, DIM = 12, 20, 6

# each user likes one of three item groups
groups = rng.randint(0, 3, N_USERS)
pairs = []
for u in range(N_USERS):
    liked = [i for i in range(N_ITEMS) if i % 3 == groups[u]]
    for i in rng.choice(liked, 4, replace=False):
        pairs.append((u, int(i)))
pairs.append(pairs[0])  # a duplicate interaction: coalesce sums it
idx = torch.tensor(pairs).t()
interactions = torch.sparse_coo_tensor(idx, torch.ones(idx.shape[1]), (N_USERS, N_ITEMS))
print("coalesced before:", interactions.is_coalesced(), "nnz:", interactions._nnz())
interactions = interactions.coalesce()
print("coalesced after:", interactions.is_coalesced(), "nnz:", interactions._nnz(), interactions.layout)
record("coo_indices", interactions.indices())
record("coo_values", interactions.values())
record("dense", interactions.to_dense())
record("per_user", torch.sparse.sum(interactions, dim=1).to_dense())
record("total", torch.sparse.sum(interactions))
seen = interactions.to_dense() > 0
item_vecs = torch.from_numpy(rng.randn(N_ITEMS, DIM).astype(np.float32))
record("sparse_mm", torch.sparse.mm(interactions, item_vecs))
record("sparse_matmul_eq_dense", torch.allclose(interactions @ item_vecs, interactions.to_dense() @ item_vecs,
                                                atol=1e-5))
test_items = torch.tensor([next(i for i in range(N_ITEMS) if i % 3 == groups[u] and not seen[u, i])
                           for u in range(N_USERS)])


class MF(nn.Module):
    def __init__(self, sparse):
        super().__init__()
        self.user = nn.Embedding(N_USERS, DIM, sparse=sparse)
        self.item = nn.Embedding(N_ITEMS, DIM, sparse=sparse)
        self.item_bias = nn.Embedding(N_ITEMS, 1, sparse=sparse)

    def forward(self, users, items):
        return (self.user(users) * self.item(items)).sum(-1) + self.item_bias(items).squeeze(-1)

    def all_scores(self):
        return self.user.weight @ self.item.weight.t() + self.item_bias.weight.t()


def bpr_batch(step):
    r = np.random.RandomState(100 + step)
    rows = r.choice(len(pairs) - 1, 16, replace=False)
    u = torch.tensor([pairs[k][0] for k in rows])
    pos = torch.tensor([pairs[k][1] for k in rows])
    neg = torch.from_numpy(r.randint(0, N_ITEMS, 16)).long()
    return u, pos, neg


def bpr_loss(model, u, pos, neg):
    return -F.logsigmoid(model(u, pos) - model(u, neg)).mean()


sparse_model = np_params(MF(sparse=True), seed=2, scale=0.3)
dense_model = np_params(MF(sparse=False), seed=2, scale=0.3)

# one backward: the sparse gradient holds rows only for the looked-up ids
u, pos, neg = bpr_batch(0)
bpr_loss(sparse_model, u, pos, neg).backward()
bpr_loss(dense_model, u, pos, neg).backward()
g = sparse_model.item.weight.grad
print("grad is sparse:", g.is_sparse, g.layout, "dense grad sparse:", dense_model.item.weight.grad.is_sparse)
gc = g.coalesce()
record("sparse_grad_indices", gc.indices())
record("sparse_grad_values", gc.values())
record("sparse_grad_matches_dense", torch.allclose(g.to_dense(), dense_model.item.weight.grad, atol=1e-6))
sparse_model.zero_grad()
dense_model.zero_grad()

sparse_opt = torch.optim.SparseAdam(list(sparse_model.parameters()), lr=0.05)
dense_opt = torch.optim.Adam(dense_model.parameters(), lr=0.05)
sparse_losses, dense_losses = [], []
for step in range(12):
    batch = bpr_batch(step)
    for model, opt, losses in ((sparse_model, sparse_opt, sparse_losses), (dense_model, dense_opt, dense_losses)):
        opt.zero_grad()
        loss = bpr_loss(model, *batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"step {step}: sparse adam {sparse_losses[-1]:.4f} dense adam {dense_losses[-1]:.4f}")
record("sparse_adam_losses", sparse_losses)
record("dense_adam_losses", dense_losses)
record("sparse_adam_params", dict(sparse_model.named_parameters()))
# SparseAdam's state holds dense moments for the whole table
st = sparse_opt.state[sparse_model.item.weight]
print(sorted(st.keys()), st["exp_avg"].shape, st["exp_avg"].is_sparse)
record("sparse_adam_step", st["step"])

for name, make in (("sgd", lambda p: torch.optim.SGD(p, lr=0.5)), ("adagrad", lambda p: torch.optim.Adagrad(p, lr=0.1))):
    m = np_params(MF(sparse=True), seed=2, scale=0.3)
    opt = make(m.parameters())
    ls = []
    for step in range(5):
        opt.zero_grad()
        loss = bpr_loss(m, *bpr_batch(step))
        loss.backward()
        opt.step()
        ls.append(loss.item())
    record(f"{name}_sparse_losses", ls)
    record(f"{name}_sparse_item_weight", m.item.weight)


def evaluate(scores, k=5):
    scores = scores.masked_fill(seen, float("-inf"))
    topk = scores.topk(k, dim=1).indices
    hits = topk == test_items[:, None]
    hit_rate = hits.any(1).float().mean()
    discounts = 1.0 / torch.log2(torch.arange(2, k + 2).float())
    ndcg = (hits.float() * discounts).sum(1).mean()
    return topk, hit_rate, ndcg


with torch.no_grad():
    topk, hr, ndcg = evaluate(sparse_model.all_scores())
record("topk", topk)
print(f"HR@5 {hr.item():.4f} NDCG@5 {ndcg.item():.4f}")


class FM(nn.Module):
    """Users described by bags of (feature id, weight): an EmbeddingBag sums them."""

    def __init__(self, n_feats, dim):
        super().__init__()
        self.linear = nn.EmbeddingBag(n_feats, 1, mode="sum", sparse=True)
        self.v = nn.EmbeddingBag(n_feats, dim, mode="sum", sparse=True)
        self.v_sq = None

    def forward(self, ids, offsets, weights):
        lin = self.linear(ids, offsets, per_sample_weights=weights).squeeze(-1)
        sum_v = self.v(ids, offsets, per_sample_weights=weights)
        # sum of squares: the bag of squared embeddings weighted by squared weights
        sq = F.embedding_bag(ids, self.v.weight ** 2, offsets, mode="sum", per_sample_weights=weights ** 2)
        return lin + 0.5 * (sum_v ** 2 - sq).sum(-1)


fm = np_params(FM(15, 4), seed=9, scale=0.5)
ids = torch.from_numpy(rng.randint(0, 15, 20)).long()
offsets = torch.tensor([0, 3, 7, 8, 12, 15])
weights = torch.from_numpy(rng.uniform(0.5, 1.5, 20).astype(np.float32))
y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
fm_opt = torch.optim.SGD(fm.parameters(), lr=0.1)
fm_losses = []
for step in range(6):
    fm_opt.zero_grad()
    out = fm(ids, offsets, weights)
    loss = F.binary_cross_entropy_with_logits(out, y)
    loss.backward()
    if step == 0:
        print("fm grads sparse:", fm.v.weight.grad.is_sparse, fm.linear.weight.grad.is_sparse)
        record("fm_v_grad", fm.v.weight.grad.to_dense())
    fm_opt.step()
    fm_losses.append(loss.item())
record("fm_losses", fm_losses)
record("fm_out", fm(ids, offsets, weights))
finish()
