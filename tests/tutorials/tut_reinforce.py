"""REINFORCE (pytorch/examples reinforcement_learning) style on a toy environment written here: a
policy network with saved log_probs (Categorical(probs).log_prob), discounted returns normalised
with torch.finfo(torch.float32).eps, policy loss via torch.cat(...).sum(), an actor-critic variant
(Normal policy with log_prob/entropy, smooth_l1_loss value loss) and distribution utilities
(kl_divergence, rsample with a given eps, Independent, TransformedDistribution, batch/event shapes).
Actions are drawn by numpy from the probabilities the network gives (Categorical.sample draws from
the framework's stream); everything recorded follows from those draws."""
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import (Bernoulli, Categorical, Independent, Normal, TransformedDistribution,
                                 kl_divergence)
from torch.distributions.transforms import AffineTransform, TanhTransform

from tut_common import finish, np_params, record

gamma = 0.99
rng = np.random.RandomState(91)
act_rng = np.random.RandomState(92)


class Corridor:
    """Walk left/right on a line of 7 cells; reward 1 at the right end, a small cost per step."""

    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)

    def reset(self):
        self.pos = int(self.rng.randint(1, 4))
        return self.obs()

    def obs(self):
        o = np.zeros(7, np.float32)
        o[self.pos] = 1.0
        return o

    def step(self, action):
        self.pos = max(0, min(6, self.pos + (1 if action == 1 else -1)))
        done = self.pos == 6
        return self.obs(), (1.0 if done else -0.05), done


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(7, 16)
        self.dropout = nn.Dropout(p=0.0)  # the example's p=0.6 draws from the framework's stream
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


policy = np_params(Policy(), 93)
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = np.finfo(np.float32).eps.item()
record("torch_eps", torch.finfo(torch.float32).eps)


def select_action(state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = torch.tensor([int(act_rng.rand() < probs[0, 1].item())])
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode():
    R = 0
    policy_loss = []
    returns = []
    for r in policy.rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]
    return policy_loss.item()


env = Corridor(94)
running_reward = 0.0
episode_lengths, losses = [], []
for i_episode in range(1, 13):
    state, ep_reward = env.reset(), 0
    for t in range(1, 40):
        action = select_action(state)
        state, reward, done = env.step(action)
        policy.rewards.append(reward)
        ep_reward += reward
        if done:
            break
    running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
    losses.append(finish_episode())
    episode_lengths.append(t)
    if i_episode % 4 == 0:
        print(f"Episode {i_episode}\tLast reward: {ep_reward:.2f}\tAverage reward: {running_reward:.2f}")
record("episode_lengths", episode_lengths)
record("policy_losses", losses)
record("policy_params", dict(policy.named_parameters()))

# actor-critic with a Gaussian policy on a 1-D "reach the target" task
SavedAction = namedtuple("SavedAction", ["log_prob", "value", "entropy"])


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(2, 16)
        self.mu_head = nn.Linear(16, 1)
        self.log_std = nn.Parameter(torch.zeros(1))
        self.value_head = nn.Linear(16, 1)

    def forward(self, x):
        x = torch.tanh(self.affine1(x))
        return self.mu_head(x), self.log_std.exp().expand(x.shape[0], 1), self.value_head(x)


ac = np_params(ActorCritic(), 95)
with torch.no_grad():
    ac.log_std.fill_(-0.5)
ac_opt = optim.Adam(ac.parameters(), lr=5e-3)
ac_losses = []
for episode in range(6):
    pos, target = float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))
    saved, rewards = [], []
    for t in range(8):
        s = torch.tensor([[pos, target]])
        mu, std, value = ac(s)
        dist = Normal(mu, std)
        eps_draw = torch.tensor([[float(act_rng.randn())]])
        action = (mu + std * eps_draw).detach()  # what dist.sample() computes, with a numpy draw
        saved.append(SavedAction(dist.log_prob(action).sum(), value.squeeze(), dist.entropy().sum()))
        pos = pos + 0.3 * float(action.clamp(-1, 1))
        rewards.append(-abs(pos - target))
    R, returns = 0.0, []
    for r in rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    policy_losses, value_losses = [], []
    for (log_prob, value, entropy), R in zip(saved, returns):
        advantage = R - value.item()
        policy_losses.append(-log_prob * advantage - 1e-3 * entropy)
        value_losses.append(F.smooth_l1_loss(value, R))
    ac_opt.zero_grad()
    loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
    loss.backward()
    ac_opt.step()
    ac_losses.append(loss.item())
record("ac_losses", ac_losses)
record("ac_params", dict(ac.named_parameters()))

# distribution utilities the examples lean on
logits = torch.tensor(rng.randn(4, 3).astype(np.float32), requires_grad=True)
cat_a, cat_b = Categorical(logits=logits), Categorical(probs=torch.tensor([0.2, 0.3, 0.5]))
kl = kl_divergence(cat_a, cat_b)
kl.sum().backward()
record("categorical", (cat_a.probs, cat_a.entropy(), cat_a.log_prob(torch.tensor([0, 2, 1, 1])), kl, logits.grad,
                       cat_a.batch_shape, cat_a.event_shape))
loc = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)
scale = torch.tensor(rng.rand(3).astype(np.float32) + 0.5, requires_grad=True)
n = Normal(loc, scale)
given = torch.tensor(rng.randn(3).astype(np.float32))
z = n.loc + n.scale * given  # rsample's reparameterisation with a known eps
(z.pow(2).sum() + kl_divergence(n, Normal(0.0, 1.0)).sum()).backward()
record("normal", (n.log_prob(given), n.cdf(given), n.icdf(torch.tensor([0.1, 0.5, 0.9])), n.entropy(),
                  loc.grad, scale.grad, n.mean, n.stddev, n.variance))
ind = Independent(Normal(loc.detach(), scale.detach()), 1)
record("independent", (ind.log_prob(given), ind.batch_shape, ind.event_shape, ind.entropy()))
squashed = TransformedDistribution(Normal(loc.detach(), scale.detach()),
                                   [TanhTransform(cache_size=1), AffineTransform(0.0, 2.0)])
y = torch.tensor([0.3, -1.2, 1.5])
record("tanh_affine", squashed.log_prob(y))
bern = Bernoulli(logits=torch.tensor([0.3, -1.0]))
record("bernoulli", (bern.probs, bern.log_prob(torch.tensor([1.0, 0.0])), bern.entropy()))
s = Categorical(logits=logits.detach()).sample((5,))
record("sample_meta", (s.shape, s.dtype, bool(((s >= 0) & (s < 3)).all())))
r = n.rsample((2,))
record("rsample_meta", (r.shape, r.requires_grad))
try:
    Normal(torch.tensor([0.0]), torch.tensor([-1.0]))
except ValueError as e:
    record("bad_scale", type(e).__name__)
finish()
