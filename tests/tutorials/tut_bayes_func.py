"""A small Bayesian workflow with `torch.distributions` and `torch.func`: Bayesian logistic regression
(a `Normal` prior, a `Bernoulli(logits=)` likelihood), the MAP by Newton steps with `func.grad` and
`func.hessian`, a Laplace approximation as a `MultivariateNormal(precision_matrix=)` (log_prob,
entropy, samples made from numpy normals through `scale_tril`), the posterior predictive over samples
by `func.vmap`, Hamiltonian Monte Carlo with leapfrog steps from `func.grad_and_value` (momenta and
accept draws from numpy), mean-field variational inference (reparameterised `Normal` guide, analytic
`kl_divergence` against the prior, Adam on the ELBO), `jacrev` of the predictive to the inputs, and
conjugate updates (Gamma-Poisson, Dirichlet-Categorical, Beta-Binomial) checked against their
distributions' log_prob / mean / variance."""
import numpy as np
import torch
from torch import distributions as D
from torch.func import grad, grad_and_value, hessian, jacrev, vmap

from tut_common import finish, record

rng = np.random.RandomState(541)
N, P = 40, 3
X = torch.tensor(rng.randn(N, P).astype(np.float32))
true_w = torch.tensor([1.5, -2.0, 0.5])
y = torch.tensor((rng.rand(N) < 1 / (1 + np.exp(-(X.numpy() @ true_w.numpy())))).astype(np.float32))
prior = D.Normal(torch.zeros(P), 2.0 * torch.ones(P))


def log_joint(w):
    return prior.log_prob(w).sum() + D.Bernoulli(logits=X @ w).log_prob(y).sum()


def neg_log_joint(w):
    return -log_joint(w)


# MAP by Newton's method
w = torch.zeros(P)
newton = []
for _ in range(8):
    g = grad(neg_log_joint)(w)
    Hm = hessian(neg_log_joint)(w)
    w = w - torch.linalg.solve(Hm, g)
    newton.append(neg_log_joint(w).item())
w_map = w
print("MAP", [round(v, 4) for v in w_map.tolist()], "nlj", round(newton[-1], 4))
record("newton", newton)
record("w_map", w_map)
g_autograd = w_map.clone().requires_grad_()
neg_log_joint(g_autograd).backward()
record("grad_at_map", (grad(neg_log_joint)(w_map), g_autograd.grad))

# Laplace approximation
H_map = hessian(neg_log_joint)(w_map)
laplace = D.MultivariateNormal(w_map, precision_matrix=H_map)
record("laplace", (laplace.covariance_matrix, laplace.scale_tril, laplace.entropy(), laplace.log_prob(true_w)))
eps = torch.tensor(rng.randn(200, P).astype(np.float32))
samples = w_map + eps @ laplace.scale_tril.T
X_test = torch.tensor(rng.randn(5, P).astype(np.float32))
pred = vmap(lambda ws: torch.sigmoid(X_test @ ws))(samples)
record("predictive", (pred.mean(0), pred.std(0)))
# the probit approximation of the same predictive
mu = X_test @ w_map
var = ((X_test @ laplace.covariance_matrix) * X_test).sum(1)
record("probit_approx", torch.sigmoid(mu / torch.sqrt(1 + torch.pi * var / 8)))
record("predictive_input_jacobian", jacrev(lambda xt: torch.sigmoid(xt @ w_map))(X_test))

# Hamiltonian Monte Carlo
def hmc_step(w, step_size, n_leap, momentum, u):
    g, lp = grad_and_value(log_joint)(w)
    p = momentum + 0.5 * step_size * g
    w_new = w
    for i in range(n_leap):
        w_new = w_new + step_size * p
        g_new, lp_new = grad_and_value(log_joint)(w_new)
        if i < n_leap - 1:
            p = p + step_size * g_new
    p = p + 0.5 * step_size * g_new
    log_accept = lp_new - lp - 0.5 * (p ** 2).sum() + 0.5 * (momentum ** 2).sum()
    accepted = bool(torch.log(u) < log_accept)
    return (w_new if accepted else w), accepted, log_accept


w = w_map.clone()
chain, accepts, log_accepts = [], [], []
for t in range(30):
    momentum = torch.tensor(rng.randn(P).astype(np.float32))
    u = torch.tensor(np.float32(rng.rand()))
    w, acc, la = hmc_step(w, 0.1, 5, momentum, u)
    chain.append(w)
    accepts.append(acc)
    log_accepts.append(la.item())
chain = torch.stack(chain)
record("hmc_chain", chain)
record("hmc_accepts", accepts)
record("hmc_log_accept", log_accepts)
print("HMC acceptance", sum(accepts) / len(accepts), "mean", [round(v, 3) for v in chain.mean(0).tolist()])

# mean-field variational inference
q_mu = torch.zeros(P, requires_grad=True)
q_log_sigma = torch.full((P,), -1.0, requires_grad=True)
opt = torch.optim.Adam([q_mu, q_log_sigma], lr=0.05)
elbos = []
for step in range(40):
    opt.zero_grad()
    guide = D.Normal(q_mu, q_log_sigma.exp())
    eps = torch.tensor(rng.randn(8, P).astype(np.float32))
    w_s = guide.loc + guide.scale * eps  # what rsample does, with numpy's draws
    ll = D.Bernoulli(logits=w_s @ X.T).log_prob(y).sum(1).mean()
    elbo = ll - D.kl_divergence(guide, prior).sum()
    (-elbo).backward()
    opt.step()
    elbos.append(elbo.item())
record("elbo", elbos)
record("vi_params", (q_mu, q_log_sigma))
record("vi_vs_laplace", D.kl_divergence(D.Normal(q_mu, q_log_sigma.exp()),
                                        D.Normal(w_map, laplace.covariance_matrix.diagonal().sqrt())).sum())

# conjugate updates
counts = torch.tensor([3.0, 5.0, 2.0, 4.0, 6.0])
post = D.Gamma(2.0 + counts.sum(), 1.0 + len(counts))
record("gamma_poisson", (post.mean, post.variance, post.log_prob(torch.tensor([3.5, 4.0])), post.entropy(),
                         D.Poisson(post.mean).log_prob(counts)))
cats = torch.tensor(rng.randint(0, 4, 30))
alpha = torch.ones(4) + torch.bincount(cats, minlength=4).float()
dpost = D.Dirichlet(alpha)
record("dirichlet", (dpost.mean, dpost.variance, dpost.log_prob(torch.tensor([0.1, 0.2, 0.3, 0.4])),
                     dpost.entropy(), D.Categorical(probs=dpost.mean).log_prob(cats[:5])))
k, n = 7, 20
bpost = D.Beta(1.0 + k, 1.0 + n - k)
record("beta_binomial", (bpost.mean, bpost.variance, bpost.log_prob(torch.tensor([0.2, 0.35, 0.5])),
                         bpost.entropy(), D.Binomial(n, probs=bpost.mean).log_prob(torch.tensor([5.0, 7.0, 9.0]))))
finish()
