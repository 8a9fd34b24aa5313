"""Train a small CNN on the 8x8 handwritten digits that ship with jtorch.

A plain PyTorch script: it imports ``torch`` and nothing else of jtorch.

    python -m jtorch run examples/train_digits.py     # on jtorch (JAX/XLA)
    python examples/train_digits.py                   # on real PyTorch, if installed

It walks through the whole PyTorch workflow: a Dataset over the shipped data,
a DataLoader with transforms, a CNN with conv/batchnorm/pool/dropout,
CrossEntropyLoss, Adam with a learning-rate scheduler, a compiled training
step, per-epoch progress, evaluation, early stopping, and a checkpoint saved,
loaded and evaluated again.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "jtorch", "data", "digits.npz")


def load_digits():
    with np.load(DATA) as f:
        return f["images"].astype(np.float32) / 16.0, f["labels"].astype(np.int64)


class RandomShift:
    """Shift the image by up to ``pixels`` in each direction (zero fill)."""

    def __init__(self, pixels=1):
        self.pixels = pixels

    def __call__(self, img):
        dx, dy = torch.randint(-self.pixels, self.pixels + 1, (2,)).tolist()
        img = torch.roll(img, shifts=(dy, dx), dims=(1, 2))
        if dy > 0:
            img[:, :dy, :] = 0
        elif dy < 0:
            img[:, dy:, :] = 0
        if dx > 0:
            img[:, :, :dx] = 0
        elif dx < 0:
            img[:, :, dx:] = 0
        return img


class Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, img):
        return (img - self.mean) / self.std


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class DigitsDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images = torch.from_numpy(images).unsqueeze(1)  # N x 1 x 8 x 8
        self.labels = torch.from_numpy(labels)
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        img = self.images[idx].clone()
        if self.transform is not None:
            img = self.transform(img)
        return img, self.labels[idx]


class DigitNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class EarlyStopping:
    def __init__(self, patience=7, min_delta=0):
        self.patience = patience
        self.min_delta = min_delta
        self.counter = 0
        self.best_loss = None
        self.early_stop = False

    def __call__(self, val_loss):
        if self.best_loss is None:
            self.best_loss = val_loss
        elif val_loss > self.best_loss - self.min_delta:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
        else:
            self.best_loss = val_loss
            self.counter = 0


def progress(epoch, i, n, loss, width=24):
    done = int(width * (i + 1) / n)
    sys.stdout.write(f"\rEpoch {epoch:2d} [{'#' * done}{'.' * (width - done)}] {i + 1}/{n} loss {loss:.4f}")
    sys.stdout.flush()


def evaluate(model, loader, criterion, device):
    model.eval()
    total_loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            outputs = model(inputs)
            total_loss += criterion(outputs, labels).item()
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return total_loss / len(loader), 100 * correct / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--no-compile", action="store_true", help="train eagerly")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=os.path.join(tempfile.gettempdir(), "digits_checkpoint.pth"))
    args = parser.parse_args(argv)

    start = time.time()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    images, labels = load_digits()
    order = np.random.RandomState(0).permutation(len(labels))
    split = int(0.8 * len(labels))
    train_idx, test_idx = order[:split], order[split:]
    mean, std = float(images[train_idx].mean()), float(images[train_idx].std())

    train_set = DigitsDataset(images[train_idx], labels[train_idx],
                              transform=Compose([RandomShift(1), Normalize(mean, std)]))
    test_set = DigitsDataset(images[test_idx], labels[test_idx], transform=Normalize(mean, std))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True)
    test_loader = DataLoader(test_set, batch_size=256)

    model = DigitNet().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.3)
    stopper = EarlyStopping(patience=5)

    def train_step(inputs, labels):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        return loss

    if not args.no_compile:
        train_step = torch.compile(train_step)

    best_acc = -1.0
    print(f"Training on {len(train_set)} digits, testing on {len(test_set)} ({device})")
    for epoch in range(1, args.epochs + 1):
        model.train()
        running_loss = 0.0
        for i, (inputs, labels_b) in enumerate(train_loader):
            inputs, labels_b = inputs.to(device), labels_b.to(device)
            loss = train_step(inputs, labels_b)
            running_loss += loss.item()
            progress(epoch, i, len(train_loader), running_loss / (i + 1))
        scheduler.step()
        val_loss, val_acc = evaluate(model, test_loader, criterion, device)
        print(f"  | test loss {val_loss:.4f} accuracy {val_acc:.2f}% lr {scheduler.get_last_lr()[0]:.2e}")
        if val_acc > best_acc:
            best_acc = val_acc
            torch.save({
                'epoch': epoch,
                'model_state_dict': model.state_dict(),
                'optimizer_state_dict': optimizer.state_dict(),
                'loss': val_loss,
            }, args.checkpoint)
        stopper(val_loss)
        if stopper.early_stop:
            print(f"Early stopping at epoch {epoch}")
            break

    checkpoint = torch.load(args.checkpoint)
    restored = DigitNet().to(device)
    restored.load_state_dict(checkpoint['model_state_dict'])
    loss, acc = evaluate(restored, test_loader, criterion, device)
    print(f"Best checkpoint (epoch {checkpoint['epoch']}): test accuracy {acc:.2f}%")
    print(f"Total time {time.time() - start:.1f}s")
    return acc


if __name__ == "__main__":
    main()
