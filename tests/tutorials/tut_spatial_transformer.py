"""Spatial transformer network tutorial style: a localization net (Conv2d, MaxPool2d, ReLU) whose
regressor's last layer starts at the identity transform (weight.data.zero_(), bias.data.copy_),
F.affine_grid + F.grid_sample inside forward, F.max_pool2d/F.dropout(training=self.training) in
the classifier, log_softmax + nll_loss, SGD; then affine_grid/grid_sample options on their own
(align_corners, bilinear/nearest/bicubic, zeros/border/reflection padding, 5-D volumes) with
gradients to both the input and the grid."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from tut_common import finish, np_params, record

rng = np.random.RandomState(51)
# 28x28 "digits": a bright bar at a class-dependent angle, shifted and rotated a little
n_train = 48
labels_np = rng.randint(0, 4, n_train)
yy, xx = np.mgrid[-1:1:28j, -1:1:28j]
imgs = []
for c in labels_np:
    ang = c * np.pi / 4 + rng.uniform(-0.3, 0.3)
    dx, dy = rng.uniform(-0.2, 0.2, 2)
    d = np.abs((xx - dx) * np.sin(ang) - (yy - dy) * np.cos(ang))
    imgs.append(np.exp(-(d / 0.15) ** 2) + 0.1 * rng.rand(28, 28))
images = torch.tensor(np.stack(imgs)[:, None].astype(np.float32))
labels = torch.tensor(labels_np)
mean, std = 0.1307, 0.3081
images = (images - mean) / std
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=16)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.conv2 = nn.Conv2d(6, 10, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(160, 24)
        self.fc2 = nn.Linear(24, 4)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(4, 6, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(nn.Linear(6 * 3 * 3, 16), nn.ReLU(True), nn.Linear(16, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 6 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        return x

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        # Dropout2d/F.dropout are on in training; the runs below use eval-style p=0 paths so the
        # framework's random stream stays out (the tutorial's p=0.5 draws from it)
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 160)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=0.0, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


model = Net()
identity = model.fc_loc[2].bias.detach().clone()
np_params(model, 52, scale=0.2)
with torch.no_grad():
    model.fc_loc[2].weight.mul_(0.1)
    model.fc_loc[2].bias.copy_(identity)
record("identity_bias", identity)
optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.5)
losses = []


def train(epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % 2 == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test():
    with torch.no_grad():
        model.eval()
        test_loss = 0
        correct = 0
        for data, target in train_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, size_average=False).item()
            pred = output.max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(train_loader.dataset)
        print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
            test_loss, correct, len(train_loader.dataset), 100. * correct / len(train_loader.dataset)))
        return test_loss, correct


for epoch in range(1, 4):
    train(epoch)
    record(f"test_{epoch}", test())
record("losses", losses)
record("params", dict(model.named_parameters()))


def convert_image_np(inp):
    inp = inp.numpy().transpose((1, 2, 0))
    inp = std * inp + mean
    inp = np.clip(inp, 0, 1)
    return inp


with torch.no_grad():
    data = next(iter(train_loader))[0]
    transformed = model.stn(data)
record("stn_out", transformed)
record("stn_np", convert_image_np(transformed[0]))
record("thetas", model.fc_loc(model.localization(data).view(-1, 54)))

# the two functions on their own
inp = torch.tensor(rng.randn(2, 3, 5, 6).astype(np.float32), requires_grad=True)
theta = torch.tensor((np.array([[1, 0, 0], [0, 1, 0]]) + 0.3 * rng.randn(2, 2, 3)).astype(np.float32),
                     requires_grad=True)
for align in (False, True):
    grid = F.affine_grid(theta, (2, 3, 4, 7), align_corners=align)
    record(f"grid_{align}", grid)
    for mode in ("bilinear", "nearest", "bicubic"):
        for pad in ("zeros", "border", "reflection"):
            out = F.grid_sample(inp, grid, mode=mode, padding_mode=pad, align_corners=align)
            g_inp, g_theta = torch.autograd.grad(out.pow(2).sum(), (inp, theta))
            record(f"sample_{align}_{mode}_{pad}", (out, g_inp) if mode == "nearest" else (out, g_inp, g_theta))
vol = torch.tensor(rng.randn(1, 2, 3, 4, 5).astype(np.float32), requires_grad=True)
theta3 = torch.tensor((np.eye(3, 4) + 0.2 * rng.randn(1, 3, 4)).astype(np.float32), requires_grad=True)
grid3 = F.affine_grid(theta3, (1, 2, 2, 3, 4), align_corners=False)
out3 = F.grid_sample(vol, grid3, align_corners=False)
record("volume", (grid3, out3, torch.autograd.grad(out3.sum(), (vol, theta3))))
try:
    F.affine_grid(theta, (2, 3, 4), align_corners=False)
except Exception as e:  # noqa: BLE001
    record("bad_size_error", type(e).__name__)
finish()
