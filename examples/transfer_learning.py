"""Transfer learning with jtorch.vision.models: freeze a ResNet-18, train a new head.

With internet (or torchvision's checkpoint already in the hub cache,
~/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth) the ImageNet weights are used;
otherwise pass --no-pretrained to start from random weights.

    python -m jtorch run examples/transfer_learning.py [--no-pretrained]
"""
import argparse

import torch
import torch.nn as nn
import torch.optim as optim
import torchvision.models as models


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--no-pretrained", action="store_true")
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args(argv)
    torch.manual_seed(0)
    num_classes = 5

    # Load pre-trained model
    model = models.resnet18(pretrained=not args.no_pretrained)

    # Freeze parameters
    for param in model.parameters():
        param.requires_grad = False

    # Modify final layer
    num_features = model.fc.in_features
    model.fc = nn.Linear(num_features, num_classes)

    # Fine-tuning
    model.train()
    optimizer = optim.Adam(model.fc.parameters())  # Only train final layer
    criterion = nn.CrossEntropyLoss()
    x = torch.randn(8, 3, 64, 64)
    y = torch.randint(0, num_classes, (8,))
    for step in range(args.steps):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"step {step} loss {loss.item():.4f}")
    frozen = all(p.grad is None for n, p in model.named_parameters() if not n.startswith("fc."))
    print("backbone stayed frozen:", frozen)
    return loss.item(), frozen


if __name__ == "__main__":
    main()
