"""Quickstart style: FashionMNIST-shaped data, Flatten+Linear+ReLU stack, train/test loops, save/load."""
import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from tut_common import DEVICE, OUT, finish, np_params, record

rng = np.random.RandomState(0)
images = rng.rand(96, 1, 28, 28).astype(np.float32)
labels = rng.randint(0, 10, 96)


class FakeFashion(Dataset):
    def __init__(self, x, y, transform=None):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.x[idx])
        if self.transform:
            image = self.transform(image)
        return image, int(self.y[idx])


training_data = FakeFashion(images[:64], labels[:64], transform=lambda im: (im - 0.5) / 0.5)
test_data = TensorDataset(torch.tensor((images[64:] - 0.5) / 0.5), torch.tensor(labels[64:]))

batch_size = 16
# the shuffled loader's order comes from the framework's RNG: checked for being a permutation
# that repeats with the same seed, the exact comparison trains on the unshuffled loader
g = torch.Generator()
g.manual_seed(42)
shuffled = DataLoader(training_data, batch_size=batch_size, shuffle=True, generator=g)
seen = torch.cat([y for _, y in shuffled])
g.manual_seed(42)
seen_again = torch.cat([y for _, y in shuffled])
record("shuffle_is_permutation", sorted(seen.tolist()) == sorted(labels[:64].tolist()))
record("shuffle_repeats_with_seed", torch.equal(seen, seen_again))
record("shuffle_dtype", seen.dtype)

train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

device = "cuda" if torch.cuda.is_available() else "cpu"
device = DEVICE  # the comparison runs on the CPU (TUT_DEVICE: see tut_common)
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = np_params(NeuralNetwork(), 1).to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
losses = []


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss, correct


epochs = 3
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    record(f"test_epoch{t}", test(test_dataloader, model, loss_fn))
print("Done!")
record("losses", losses)

path = os.path.join(OUT, "model.pth")
torch.save(model.state_dict(), path)
print("Saved PyTorch Model State to model.pth")

model = NeuralNetwork().to(device)
result = model.load_state_dict(torch.load(path, weights_only=True))
print(result)
record("state_dict", model.state_dict())

classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
record("pred", pred)
record("pred_is_inference", pred.requires_grad)
finish()
