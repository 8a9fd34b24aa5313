"""Classic ML written with tensor ops, as users write it: k-means (cdist, argmin, index_add_/bincount
centroid updates, unique with counts), k-nearest-neighbours (topk smallest, mode, scatter_add_ votes),
least squares and ridge (linalg.lstsq, solve, cholesky), PCA through the covariance's eigh (signs
fixed), a Gaussian mixture fitted by EM (logsumexp, softmax responsibilities), histograms
(histc, bucketize, searchsorted), a label-smoothed cross entropy and a focal loss written by hand
against the built-ins, and a learned embedding trained with a triplet margin loss."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(151)
centers_np = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
X_np = np.concatenate([c + rng.randn(30, 2) * 0.7 for c in centers_np]).astype(np.float32)
y_np = np.repeat(np.arange(3), 30)
X = torch.tensor(X_np)
y = torch.tensor(y_np)

# k-means
k = 3
centroids = X[torch.tensor([0, 40, 80])].clone()
history = []
for it in range(6):
    d = torch.cdist(X, centroids)
    assign = d.argmin(dim=1)
    counts = torch.bincount(assign, minlength=k)
    sums = torch.zeros(k, 2).index_add_(0, assign, X)
    centroids = sums / counts.clamp(min=1).unsqueeze(1).float()
    inertia = d.gather(1, assign.unsqueeze(1)).pow(2).sum()
    history.append(inertia.item())
record("kmeans", (centroids, assign, counts, history))
vals, cnts = torch.unique(assign, return_counts=True)
record("unique", (vals, cnts, torch.unique(assign, sorted=True, return_inverse=True)[1][:10]))
print("inertia per iteration:", [round(h, 3) for h in history])

# kNN classification
test = torch.tensor((centers_np[rng.randint(0, 3, 12)] + rng.randn(12, 2)).astype(np.float32))
dist = torch.cdist(test, X)
knn_d, knn_i = dist.topk(5, largest=False)
knn_labels = y[knn_i]
pred_mode = knn_labels.mode(dim=1).values
votes = torch.zeros(12, 3).scatter_add_(1, knn_labels, torch.ones(12, 5))
record("knn", (knn_d, knn_i, pred_mode, votes, votes.argmax(1)))

# least squares, ridge, Cholesky
A = torch.cat([X, torch.ones(90, 1)], dim=1)
target = torch.tensor((X_np @ np.array([1.5, -0.7]) + 0.3 + 0.1 * rng.randn(90)).astype(np.float32))
sol = torch.linalg.lstsq(A, target.unsqueeze(1)).solution
lam = 0.5
gram = A.T @ A + lam * torch.eye(3)
ridge = torch.linalg.solve(gram, A.T @ target)
L = torch.linalg.cholesky(gram)
ridge_chol = torch.cholesky_solve((A.T @ target).unsqueeze(1), L)
record("lstsq", (sol, ridge, ridge_chol, L))

# PCA by eigh of the covariance (eigenvector signs are arbitrary: fix them)
Xc = X - X.mean(0, keepdim=True)
cov = Xc.T @ Xc / (X.shape[0] - 1)
evals, evecs = torch.linalg.eigh(cov)
order = evals.argsort(descending=True)
evals, evecs = evals[order], evecs[:, order]
evecs = evecs * torch.sign(evecs[0:1, :])
proj = Xc @ evecs
record("pca", (evals, evecs, proj[:5], torch.allclose(torch.cov(X.T), cov, atol=1e-5)))

# Gaussian mixture by EM (diagonal covariances)
means = centroids.clone() + 0.5
log_var = torch.zeros(k, 2)
log_pi = torch.log(torch.full((k,), 1.0 / k))
lls = []
for it in range(8):
    var = log_var.exp()
    log_prob = -0.5 * (((X.unsqueeze(1) - means) ** 2) / var + log_var + np.log(2 * np.pi)).sum(-1)
    joint = log_prob + log_pi
    ll = torch.logsumexp(joint, dim=1)
    lls.append(ll.mean().item())
    resp = torch.softmax(joint, dim=1)
    nk = resp.sum(0)
    means = (resp.T @ X) / nk.unsqueeze(1)
    var = (resp.T @ X.pow(2)) / nk.unsqueeze(1) - means.pow(2)
    log_var = var.clamp(min=1e-4).log()
    log_pi = (nk / X.shape[0]).log()
record("gmm", (means, log_var, log_pi, lls))

# histograms and binning
vals_1d = torch.tensor(rng.randn(200).astype(np.float32))
edges = torch.linspace(-3, 3, 7)
record("hist", (torch.histc(vals_1d, bins=6, min=-3, max=3), torch.bucketize(vals_1d[:10], edges),
                torch.bucketize(vals_1d[:10], edges, right=True), torch.searchsorted(edges, vals_1d[:10]),
                torch.histogram(vals_1d, bins=5).hist, torch.quantile(vals_1d, torch.tensor([0.1, 0.5, 0.9]))))

# losses written by hand against the built-ins
logits = torch.tensor(rng.randn(10, 4).astype(np.float32), requires_grad=True)
labels = torch.tensor(rng.randint(0, 4, 10))
eps = 0.1
logp = F.log_softmax(logits, dim=-1)
smooth = -(logp.gather(1, labels.unsqueeze(1)).squeeze(1) * (1 - eps) + logp.mean(-1) * eps).mean()
builtin = F.cross_entropy(logits, labels, label_smoothing=eps)
record("label_smoothing", (smooth, builtin))
gamma = 2.0
ce = F.cross_entropy(logits, labels, reduction="none")
pt = torch.exp(-ce)
focal = ((1 - pt) ** gamma * ce).mean()
focal.backward()
record("focal", (focal, logits.grad))

# an embedding trained with a triplet margin loss
emb = np_params(nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 4)), 152)
opt = torch.optim.Adam(emb.parameters(), lr=1e-2)
triplet = nn.TripletMarginLoss(margin=1.0, p=2)
anchor_i = torch.tensor(rng.randint(0, 90, 32))
pos_i = torch.tensor([int(rng.choice(np.where(y_np == y_np[a])[0])) for a in anchor_i.tolist()])
neg_i = torch.tensor([int(rng.choice(np.where(y_np != y_np[a])[0])) for a in anchor_i.tolist()])
t_losses = []
for step in range(8):
    opt.zero_grad()
    e = emb(X)
    loss = triplet(e[anchor_i], e[pos_i], e[neg_i])
    loss.backward()
    opt.step()
    t_losses.append(loss.item())
record("triplet_losses", t_losses)
# distances do not change when every embedding moves by the same vector, so the last bias has a zero
# gradient in exact arithmetic and Adam turns its rounding noise into full-size steps: the records
# use the embeddings centred on their mean (which removes that bias)
with torch.no_grad():
    e_all = emb(X)
    e_c = e_all - e_all.mean(0, keepdim=True)
record("emb_centred", e_c[:10])
record("cosine", F.cosine_similarity(e_c[:5], e_c[5:10]))
record("params_but_last_bias", [p for n, p in emb.named_parameters() if n != "2.bias"])
record("pdist", F.pdist(emb(X[:6])))
finish()
