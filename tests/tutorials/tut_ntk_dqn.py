"""Neural tangent kernels (torch.func tutorial: empirical NTK by jacrev + vmap + einsum, its trace and
diagonal variants, and by vjp-of-jvp products), then a DQN on a toy deterministic corridor written
here: replay buffer (numpy-drawn), epsilon-greedy by numpy, policy/target networks with a soft update,
`gather` of chosen actions, smooth L1 (Huber) loss, AdamW with amsgrad, clip_grad_value_."""
import collections

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, (3, 3))
        self.conv2 = nn.Conv2d(4, 4, (3, 3))
        self.fc = nn.Linear(4 * 3 * 3, 3)

    def forward(self, x):
        x = self.conv1(x).relu()
        x = self.conv2(x).relu()
        return self.fc(x.flatten(1))


net = np_params(CNN(), 1)
x_train = torch.from_numpy(rng.randn(5, 2, 7, 7).astype(np.float32))
x_test = torch.from_numpy(rng.randn(4, 2, 7, 7).astype(np.float32))
params = {k: v.detach() for k, v in net.named_parameters()}


def fnet_single(params, x):
    return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)


def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2, compute="full"):
    jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
    jac1 = jac1.values()
    jac1 = [j.flatten(2) for j in jac1]
    jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
    jac2 = [j.flatten(2) for j in jac2.values()]
    einsum_expr = {"full": "Naf,Mbf->NMab", "trace": "Naf,Maf->NM", "diagonal": "Naf,Maf->NMa"}[compute]
    result = torch.stack([torch.einsum(einsum_expr, j1, j2) for j1, j2 in zip(jac1, jac2)])
    return result.sum(0)


for mode in ("full", "trace", "diagonal"):
    record(f"ntk_{mode}", empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test, mode))


def empirical_ntk_ntk_vps(func, params, x1, x2, compute="full"):
    def get_ntk(x1, x2):
        def func_x1(params):
            return func(params, x1)

        def func_x2(params):
            return func(params, x2)

        output, vjp_fn = vjp(func_x1, params)

        def get_ntk_slice(vec):
            vjps = vjp_fn(vec)
            _, jvps = jvp(func_x2, (params,), vjps)
            return jvps

        basis = torch.eye(output.numel(), dtype=output.dtype, device=output.device).view(output.numel(), -1)
        return vmap(get_ntk_slice)(basis)

    result = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
    if compute == "trace":
        return torch.einsum("NMKK->NM", result)
    if compute == "diagonal":
        return torch.einsum("NMKK->NMK", result)
    return result


record("ntk_vps_full", empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test))
record("ntk_vps_trace", empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test, "trace"))
print("NTK shape:", tuple(empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test).shape))


# ---------------------------------------------------------------- DQN
class Corridor:
    """Positions 0..6; start at 3; actions left/right; reward 1 at 6 (done), -1 at 0 (done), -0.01 a step."""

    def __init__(self):
        self.n = 7

    def reset(self):
        self.pos = 3
        return self.obs()

    def obs(self):
        o = np.zeros(self.n, np.float32)
        o[self.pos] = 1.0
        return o

    def step(self, action):
        self.pos += 1 if action == 1 else -1
        if self.pos == self.n - 1:
            return self.obs(), 1.0, True
        if self.pos == 0:
            return self.obs(), -1.0, True
        return self.obs(), -0.01, False


Transition = collections.namedtuple("Transition", ("state", "action", "next_state", "reward"))


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = collections.deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        idx = sample_rng.choice(len(self.memory), batch_size, replace=False)
        return [self.memory[i] for i in idx]

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_obs, n_actions):
        super().__init__()
        self.layer1 = nn.Linear(n_obs, 32)
        self.layer2 = nn.Linear(32, 32)
        self.layer3 = nn.Linear(32, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


BATCH_SIZE, GAMMA, TAU, LR = 8, 0.9, 0.05, 3e-3
env = Corridor()
policy_net = np_params(DQN(7, 2), 3)
target_net = DQN(7, 2)
target_net.load_state_dict(policy_net.state_dict())
optimizer = torch.optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
memory = ReplayMemory(200)
sample_rng = np.random.RandomState(1)
act_rng = np.random.RandomState(2)


def select_action(state, eps):
    if act_rng.rand() > eps:
        with torch.no_grad():
            return policy_net(state).max(1).indices.view(1, 1)
    return torch.tensor([[int(act_rng.randint(2))]], dtype=torch.long)


def optimize_model():
    if len(memory) < BATCH_SIZE:
        return None
    batch = Transition(*zip(*memory.sample(BATCH_SIZE)))
    non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool)
    non_final_next = [s for s in batch.next_state if s is not None]
    state_batch = torch.cat(batch.state)
    action_batch = torch.cat(batch.action)
    reward_batch = torch.cat(batch.reward)
    state_action_values = policy_net(state_batch).gather(1, action_batch)
    next_state_values = torch.zeros(BATCH_SIZE)
    if non_final_next:
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(torch.cat(non_final_next)).max(1).values
    expected = (next_state_values * GAMMA) + reward_batch
    criterion = nn.SmoothL1Loss()
    loss = criterion(state_action_values, expected.unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
    optimizer.step()
    return loss.item()


losses, returns = [], []
for episode in range(12):
    state = torch.tensor(env.reset()).unsqueeze(0)
    total = 0.0
    for t in range(20):
        eps = max(0.05, 0.9 - 0.07 * episode)
        action = select_action(state, eps)
        obs, reward, done = env.step(action.item())
        total += reward
        next_state = None if done else torch.tensor(obs).unsqueeze(0)
        memory.push(state, action, next_state, torch.tensor([reward]))
        state = next_state
        loss = optimize_model()
        if loss is not None:
            losses.append(loss)
        # soft update of the target network
        target_sd, policy_sd = target_net.state_dict(), policy_net.state_dict()
        for key in policy_sd:
            target_sd[key] = policy_sd[key] * TAU + target_sd[key] * (1 - TAU)
        target_net.load_state_dict(target_sd)
        if done:
            break
    returns.append(round(total, 4))
record("dqn_losses", losses)
record("dqn_returns", returns)
with torch.no_grad():
    q_all = policy_net(torch.eye(7))
record("q_values", q_all)
print("greedy policy:", q_all.argmax(1).tolist())
finish()
