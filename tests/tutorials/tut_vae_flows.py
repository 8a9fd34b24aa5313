"""Probabilistic models with torch.distributions as people write them: a VAE whose encoder returns
a Normal (softplus scale), z = q.rsample() with the noise fixed from numpy through
torch.manual_seed-independent eps (loc + scale * eps), the ELBO with Independent(Bernoulli(logits))
log_prob and kl_divergence(q, Normal(0, 1)) summed over latents, trained by Adam; the analytic KL
against a Monte Carlo estimate from the same draws; rsample's reparameterisation checked through its
gradients (d sample / d loc = 1, d sample / d scale = eps) rather than its values (they come from
the framework's stream); a Gaussian mixture (MixtureSameFamily of Independent Normals) fitted by
maximum likelihood; a RealNVP-style flow (affine coupling layers, log-det of the Jacobian) and the
same flow as a TransformedDistribution of AffineTransform / TanhTransform / ComposeTransform;
MultivariateNormal with scale_tril and LowRankMultivariateNormal log_prob/entropy/KL; Beta, Gamma,
Dirichlet, Laplace, StudentT, LogNormal, Poisson, Binomial, Geometric log_prob/mean/variance/cdf/
icdf/entropy; kl_divergence across families; and a Gaussian policy gradient with a Tanh-squashed
Normal (SAC style log_prob correction)."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import distributions as D

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
x_data = torch.from_numpy((rng.rand(32, 12) > 0.5).astype(np.float32))


class VAE(nn.Module):
    def __init__(self, d_in=12, d_z=3):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d_in, 16), nn.ReLU(), nn.Linear(16, 2 * d_z))
        self.dec = nn.Sequential(nn.Linear(d_z, 16), nn.ReLU(), nn.Linear(16, d_in))

    def encode(self, x):
        loc, raw = self.enc(x).chunk(2, dim=-1)
        return D.Normal(loc, F.softplus(raw) + 1e-4)

    def decode(self, z):
        return D.Independent(D.Bernoulli(logits=self.dec(z)), 1)


vae = np_params(VAE(), 0)
opt = torch.optim.Adam(vae.parameters(), lr=1e-2)
prior = D.Normal(torch.zeros(3), torch.ones(3))
elbos, kls = [], []
for step in range(6):
    eps = torch.from_numpy(rng.randn(32, 3).astype(np.float32))
    q = vae.encode(x_data)
    z = q.loc + q.scale * eps  # rsample with the noise fixed
    px = vae.decode(z)
    kl = D.kl_divergence(q, prior).sum(-1)
    elbo = (px.log_prob(x_data) - kl).mean()
    opt.zero_grad()
    (-elbo).backward()
    opt.step()
    elbos.append(elbo.item())
    kls.append(kl.mean().item())
    mc_kl = (q.log_prob(z) - prior.log_prob(z)).sum(-1).mean()
    if step == 0:
        record("mc_kl", mc_kl)
record("elbos", elbos)
record("kls", kls)
record("vae_dec_w", vae.dec[2].weight)
print("elbo", " ".join(f"{e:.4f}" for e in elbos))
record("batch_event", (px.batch_shape, px.event_shape, q.batch_shape, q.event_shape))

# rsample's gradients: d z / d loc = 1, d z / d scale = (z - loc) / scale
loc = torch.zeros(5, requires_grad=True)
scale = torch.full((5,), 2.0, requires_grad=True)
torch.manual_seed(0)
zs = D.Normal(loc, scale).rsample((4,))
zs.sum().backward()
record("rsample_shape", zs.shape)
record("rsample_dloc", loc.grad)
record("rsample_dscale_ok", torch.allclose(scale.grad, ((zs.detach() - 0) / 2.0).sum(0), atol=1e-5))
record("has_rsample", [D.Normal(0., 1.).has_rsample, D.Bernoulli(0.3).has_rsample,
                       D.Gamma(2., 1.).has_rsample, D.Categorical(logits=torch.zeros(3)).has_rsample])

# a Gaussian mixture fitted by maximum likelihood
data = torch.from_numpy(np.concatenate([rng.randn(40, 2) * 0.5 + [2, 0], rng.randn(40, 2) * 0.3 - 1]).astype(np.float32))
logits = nn.Parameter(torch.zeros(3))
means = nn.Parameter(torch.from_numpy(rng.randn(3, 2).astype(np.float32)))
log_scales = nn.Parameter(torch.zeros(3, 2))
gopt = torch.optim.Adam([logits, means, log_scales], lr=0.05)
nlls = []
for step in range(8):
    gmm = D.MixtureSameFamily(D.Categorical(logits=logits), D.Independent(D.Normal(means, log_scales.exp()), 1))
    nll = -gmm.log_prob(data).mean()
    gopt.zero_grad()
    nll.backward()
    gopt.step()
    nlls.append(nll.item())
record("gmm_nll", nlls)
record("gmm_means", means)
record("gmm_mean_var", (gmm.mean, gmm.variance))
record("gmm_shapes", (gmm.batch_shape, gmm.event_shape))


# RealNVP-style affine coupling flow, trained by maximum likelihood
class Coupling(nn.Module):
    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 4))

    def forward(self, x):
        xm = x * self.mask
        s, t = self.net(xm).chunk(2, -1)
        s = torch.tanh(s) * (1 - self.mask)
        t = t * (1 - self.mask)
        y = xm + (1 - self.mask) * (x * torch.exp(s) + t)
        return y, s.sum(-1)


flows = nn.ModuleList([Coupling(torch.tensor([1.0, 0.0])), Coupling(torch.tensor([0.0, 1.0]))])
np_params(flows, 3)
base = D.MultivariateNormal(torch.zeros(2), torch.eye(2))
fopt = torch.optim.Adam(flows.parameters(), lr=1e-2)
flow_nll = []
for step in range(6):
    z, logdet = data, torch.zeros(data.size(0))
    for f in flows:
        z, ld = f(z)
        logdet = logdet + ld
    nll = -(base.log_prob(z) + logdet).mean()
    fopt.zero_grad()
    nll.backward()
    fopt.step()
    flow_nll.append(nll.item())
record("flow_nll", flow_nll)
# the same change of variables through jacobian's log-determinant, for one point
pt = data[:1].clone().requires_grad_()
J = torch.autograd.functional.jacobian(lambda v: flows[1](flows[0](v)[0])[0], pt).reshape(2, 2)
record("flow_logdet_vs_jac", torch.allclose(torch.logdet(J), flows[0](pt)[1] + flows[1](flows[0](pt)[0])[1], atol=1e-5))

# TransformedDistribution with transforms
td = D.TransformedDistribution(D.Normal(torch.zeros(3), torch.ones(3)),
                               [D.transforms.AffineTransform(loc=1.0, scale=2.0), D.transforms.TanhTransform()])
y = torch.tensor([-0.5, 0.1, 0.9])
record("td_log_prob", td.log_prob(y))
comp = D.transforms.ComposeTransform([D.transforms.ExpTransform(), D.transforms.AffineTransform(0.0, 3.0)])
xv = torch.tensor([0.2, -1.0, 0.4])
record("compose_fwd_inv", (comp(xv), comp.inv(comp(xv)), comp.log_abs_det_jacobian(xv, comp(xv))))
record("sigmoid_stick", (D.transforms.SigmoidTransform()(xv), D.transforms.StickBreakingTransform()(xv)))
record("lognormal_vs_td", torch.allclose(D.LogNormal(0.3, 0.7).log_prob(torch.tensor(1.7)),
                                         D.TransformedDistribution(D.Normal(0.3, 0.7), D.transforms.ExpTransform())
                                         .log_prob(torch.tensor(1.7))))

# multivariate normals
A = torch.from_numpy(rng.randn(3, 3).astype(np.float32))
cov = A @ A.T + 0.5 * torch.eye(3)
L = torch.linalg.cholesky(cov)
mvn = D.MultivariateNormal(torch.tensor([0.5, -1.0, 0.0]), scale_tril=L)
mvn_c = D.MultivariateNormal(torch.zeros(3), covariance_matrix=cov)
pts = torch.from_numpy(rng.randn(5, 3).astype(np.float32))
record("mvn_log_prob", mvn.log_prob(pts))
record("mvn_entropy", mvn.entropy())
record("mvn_kl", D.kl_divergence(mvn, mvn_c))
record("mvn_precision", mvn_c.precision_matrix)
lr_mvn = D.LowRankMultivariateNormal(torch.zeros(3), cov_factor=A[:, :1], cov_diag=torch.tensor([0.5, 1.0, 2.0]))
record("lowrank_log_prob", lr_mvn.log_prob(pts))
record("lowrank_entropy", lr_mvn.entropy())
record("lowrank_cov", lr_mvn.covariance_matrix)

# the usual families
v = torch.tensor([0.2, 0.5, 0.9])
fam = {
    "beta": D.Beta(torch.tensor(2.0), torch.tensor(3.0)),
    "gamma": D.Gamma(torch.tensor(2.0), torch.tensor(1.5)),
    "laplace": D.Laplace(0.1, 0.8),
    "studentt": D.StudentT(4.0, 0.0, 1.5),
    "lognormal": D.LogNormal(0.0, 0.5),
    "exponential": D.Exponential(2.0),
    "uniform": D.Uniform(0.0, 1.0),
    "cauchy": D.Cauchy(0.0, 1.0),
    "gumbel": D.Gumbel(0.0, 2.0),
    "halfnormal": D.HalfNormal(1.0),
}
for name, d in fam.items():
    rec = {"log_prob": d.log_prob(v)}
    for attr in ("mean", "variance", "entropy", "cdf", "icdf"):
        try:
            val = getattr(d, attr)
            val = val(v) if callable(val) and attr in ("cdf", "icdf") else (val() if callable(val) else val)
            rec[attr] = val
        except NotImplementedError:
            rec[attr] = "NotImplementedError"
    record(f"fam_{name}", rec)
counts = torch.tensor([0.0, 2.0, 5.0])
record("poisson", (D.Poisson(torch.tensor(2.5)).log_prob(counts), D.Poisson(2.5).variance))
record("binomial", (D.Binomial(10, probs=torch.tensor(0.3)).log_prob(counts), D.Binomial(10, logits=torch.tensor(0.2)).mean))
record("geometric", (D.Geometric(probs=torch.tensor(0.3)).log_prob(counts), D.Geometric(0.3).entropy()))
record("negbin", D.NegativeBinomial(3.0, probs=torch.tensor(0.4)).log_prob(counts))
dirichlet = D.Dirichlet(torch.tensor([1.5, 2.0, 3.0]))
record("dirichlet", (dirichlet.log_prob(torch.tensor([0.2, 0.3, 0.5])), dirichlet.mean, dirichlet.entropy()))
cat = D.Categorical(logits=torch.tensor([[0.1, 0.5, -1.0], [2.0, 0.0, 0.0]]))
record("categorical", (cat.probs, cat.entropy(), cat.log_prob(torch.tensor([2, 0])), cat.enumerate_support()))
record("onehot", D.OneHotCategorical(logits=torch.tensor([0.1, 0.5, -1.0])).log_prob(torch.tensor([0.0, 1.0, 0.0])))
record("relaxed", D.RelaxedOneHotCategorical(torch.tensor(0.5), logits=torch.tensor([0.1, 0.5, -1.0]))
       .log_prob(torch.tensor([0.2, 0.7, 0.1])))
record("contbern", D.ContinuousBernoulli(logits=torch.tensor([0.3, -2.0])).log_prob(torch.tensor([0.4, 0.9])))
kls = {
    "normal": D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.5, 2.0)),
    "beta": D.kl_divergence(D.Beta(2.0, 3.0), D.Beta(1.0, 1.0)),
    "gamma": D.kl_divergence(D.Gamma(2.0, 1.0), D.Gamma(3.0, 2.0)),
    "cat": D.kl_divergence(cat, D.Categorical(probs=torch.tensor([0.2, 0.3, 0.5]))),
    "dirichlet": D.kl_divergence(dirichlet, D.Dirichlet(torch.ones(3))),
    "bern": D.kl_divergence(D.Bernoulli(0.3), D.Bernoulli(0.6)),
    "laplace": D.kl_divergence(D.Laplace(0.0, 1.0), D.Laplace(1.0, 2.0)),
    "indep": D.kl_divergence(D.Independent(D.Normal(torch.zeros(3), torch.ones(3)), 1),
                             D.Independent(D.Normal(torch.ones(3), 2 * torch.ones(3)), 1)),
    "exp_gamma": D.kl_divergence(D.Exponential(2.0), D.Gamma(2.0, 1.0)),
    "uniform_normal": D.kl_divergence(D.Uniform(0.0, 1.0), D.Normal(0.0, 1.0)),
}
record("kls_families", kls)


# a SAC-style squashed Gaussian policy: log_prob with the tanh correction, trained on a fixed batch
class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU())
        self.mu = nn.Linear(16, 2)
        self.log_std = nn.Linear(16, 2)

    def forward(self, s):
        h = self.body(s)
        return self.mu(h), self.log_std(h).clamp(-5, 2)


pol = np_params(Policy(), 4)
popt = torch.optim.Adam(pol.parameters(), lr=3e-3)
states = torch.from_numpy(rng.randn(16, 4).astype(np.float32))
adv = torch.from_numpy(rng.randn(16).astype(np.float32))
ploss = []
for step in range(5):
    eps = torch.from_numpy(rng.randn(16, 2).astype(np.float32))
    mu, log_std = pol(states)
    dist = D.Normal(mu, log_std.exp())
    u = mu + log_std.exp() * eps
    a = torch.tanh(u)
    logp = dist.log_prob(u).sum(-1) - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
    td = D.TransformedDistribution(dist, [D.transforms.TanhTransform(cache_size=1)])
    logp_td = td.log_prob(a.clamp(-0.999999, 0.999999)).sum(-1)
    loss = (0.2 * logp - adv * a.sum(-1)).mean() - 0.01 * dist.entropy().sum(-1).mean()
    popt.zero_grad()
    loss.backward()
    popt.step()
    ploss.append(loss.item())
    if step == 0:
        record("sac_logp", logp)
        record("sac_logp_td_close", torch.allclose(logp, logp_td, atol=1e-2))
record("sac_losses", ploss)
record("sac_mu_w", pol.mu.weight)
finish()
