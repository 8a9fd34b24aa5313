"""Seed acceptance: the seed brief's snippets, verbatim, assembled into one program with the
minimal glue a user would add (a dataset, a model input shape, a few epochs), run as a plain
PyTorch script twice — under `python -m jtorch run` and under real torch — with the same
outcome: no exception, the loss goes down, accuracy is computed, checkpoints round-trip."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

GLUE_HEAD = '''
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
np.random.seed(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
results = {}
'''

# ---- verbatim from the seed: network components
SEED_NETWORK = '''
class MyNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        # Layers
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.fc1 = nn.Linear(100, 50)
        
        # Activation functions
        self.relu = nn.ReLU()
        self.sigmoid = nn.Sigmoid()
        self.tanh = nn.Tanh()
        
        # Pooling layers
        self.maxpool = nn.MaxPool2d(2)
        self.avgpool = nn.AvgPool2d(2)
        
        # Normalization
        self.batchnorm = nn.BatchNorm2d(20)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.maxpool(x)
        x = self.fc1(x)
        return x
'''

# ---- verbatim: data loading
SEED_DATASET = '''
from torch.utils.data import Dataset, DataLoader

# Custom dataset
class MyDataset(Dataset):
    def __init__(self, data, labels):
        self.data = data
        self.labels = labels
    
    def __len__(self):
        return len(self.data)
    
    def __getitem__(self, idx):
        return self.data[idx], self.labels[idx]
'''

# glue: inputs of shape (1, 6, 204) give conv1 -> (20, 2, 200), maxpool -> (20, 1, 100), fc1 -> (20, 1, 50):
# a K-dimensional classification output (classes along dim 1) for CrossEntropyLoss
GLUE_DATA = '''
g = np.random.RandomState(0)
data = torch.tensor(g.randn(96, 1, 6, 204).astype(np.float32))
labels = torch.tensor(g.randint(0, 20, (96, 1, 50)))
'''

SEED_LOADER = '''
# Create data loader
dataset = MyDataset(data, labels)
loader = DataLoader(dataset, batch_size=32, shuffle=True)
'''

GLUE_MODEL = '''
model = MyNetwork()
MyModel = MyNetwork
train_loader = test_loader = loader
num_epochs = 3
'''

# ---- verbatim: device management (model part), loss functions and optimizers
SEED_DEVICE_MODEL = '''
# Move model to device
model = MyModel()
model.to(device)
'''

SEED_LOSS_OPT = '''
import torch.optim as optim

# Loss functions
criterion = nn.CrossEntropyLoss()
criterion = nn.MSELoss()
criterion = nn.BCELoss()
criterion = nn.L1Loss()

# Optimizers
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
optimizer = optim.Adam(model.parameters(), lr=0.001)
optimizer = optim.RMSprop(model.parameters(), lr=0.01)

# Learning rate schedulers
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'min')
'''

GLUE_CRITERION = '''
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)
'''

# ---- verbatim: training loop and evaluation
SEED_TRAIN = '''
def train_model(model, train_loader, criterion, optimizer, num_epochs):
    model.train()  # Set training mode
    
    for epoch in range(num_epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            # Move to device
            inputs, labels = inputs.to(device), labels.to(device)
            
            # Zero gradients
            optimizer.zero_grad()
            
            # Forward pass
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            
            # Backward pass and optimize
            loss.backward()
            optimizer.step()
            
            running_loss += loss.item()
            
        # Print epoch statistics
        epoch_loss = running_loss / len(train_loader)
        print(f'Epoch {epoch+1}, Loss: {epoch_loss:.4f}')
'''

SEED_EVAL = '''
def evaluate_model(model, test_loader, criterion):
    model.eval()  # Set evaluation mode
    
    total_loss = 0
    correct = 0
    total = 0
    
    with torch.no_grad():  # Disable gradient computation
        for inputs, labels in test_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            
            # Forward pass
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            
            # Calculate accuracy
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            
            total_loss += loss.item()
    
    # Calculate metrics
    avg_loss = total_loss / len(test_loader)
    accuracy = 100 * correct / total
    
    return avg_loss, accuracy
'''

GLUE_RUN = '''
before, _ = evaluate_model(model, test_loader, criterion)
train_model(model, train_loader, criterion, optimizer, num_epochs)
after, accuracy = evaluate_model(model, test_loader, criterion)
results.update(before=before, after=after, accuracy=accuracy)
epoch, loss = num_epochs, after
os.chdir(sys.argv[1])
'''

# ---- verbatim: saving and loading
SEED_SAVE_LOAD = '''
# Save model
torch.save(model.state_dict(), 'model.pth')
torch.save({
    'epoch': epoch,
    'model_state_dict': model.state_dict(),
    'optimizer_state_dict': optimizer.state_dict(),
    'loss': loss
}, 'checkpoint.pth')

# Load model
model = MyModel()
model.load_state_dict(torch.load('model.pth'))

# Load checkpoint
checkpoint = torch.load('checkpoint.pth')
model.load_state_dict(checkpoint['model_state_dict'])
optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
epoch = checkpoint['epoch']
loss = checkpoint['loss']
'''

# ---- verbatim: custom loss, early stopping, manual gradients
SEED_CUSTOM_LOSS = '''
class CustomLoss(nn.Module):
    def __init__(self):
        super().__init__()
    
    def forward(self, pred, target):
        loss = torch.mean((pred - target)**2)
        return loss

# Alternative using functional approach
def custom_loss(pred, target):
    return torch.mean((pred - target)**2)
'''

SEED_EARLY = '''
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
'''

GLUE_TAIL = '''
after_load, acc_load = evaluate_model(model, test_loader, nn.CrossEntropyLoss())
results.update(after_load=after_load, epoch=epoch, loss=float(loss))
pred = torch.ones(4, 3) * 0.5
target = torch.zeros(4, 3)
results.update(custom=float(CustomLoss()(pred, target)), custom_fn=float(custom_loss(pred, target)))
stopper = EarlyStopping(patience=2)
for v in [1.0, 0.9, 0.95, 0.97]:
    stopper(v)
results.update(early_stop=stopper.early_stop)
optimizer.zero_grad()
criterion(model(data[:8]), labels[:8]).backward()
'''

SEED_GRADS = '''
# Gradient clipping
torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)

# Access gradients
for name, param in model.named_parameters():
    if param.requires_grad:
        print(name, param.grad)
'''

GLUE_END = '''
results.update(names=[n for n, _ in model.named_parameters()],
               grad_norm=float(sum(p.grad.norm() ** 2 for p in model.parameters() if p.grad is not None) ** 0.5))
print("RESULTS " + json.dumps(results))
'''

PROGRAM = "\n".join(textwrap.dedent(p) for p in [
    GLUE_HEAD, SEED_NETWORK, SEED_DATASET, GLUE_DATA, SEED_LOADER, GLUE_MODEL, SEED_DEVICE_MODEL, SEED_LOSS_OPT,
    GLUE_CRITERION, SEED_TRAIN, SEED_EVAL, GLUE_RUN, SEED_SAVE_LOAD, SEED_CUSTOM_LOSS, SEED_EARLY, GLUE_TAIL,
    SEED_GRADS, GLUE_END])


def _run(cmd, cwd):
    env = dict(os.environ)
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert line, out.stdout[-2000:]
    return json.loads(line[-1][8:]), out.stdout


def test_seed_program_runs_under_jtorch_and_torch(tmp_path):
    script = tmp_path / "seed_program.py"
    script.write_text(PROGRAM)
    jdir, tdir = tmp_path / "j", tmp_path / "t"
    jdir.mkdir()
    tdir.mkdir()
    rj, outj = _run([sys.executable, "-m", "jtorch", "run", str(script), str(jdir)], tmp_path)
    rt, outt = _run([sys.executable, str(script), str(tdir)], tmp_path)
    for r in (rj, rt):
        assert r["after"] < r["before"]  # training lowered the loss
        assert 0 <= r["accuracy"] and r["epoch"] == 3
        assert abs(r["after_load"] - r["after"]) < 1e-4  # the checkpoint round-tripped
        assert r["custom"] == pytest.approx(0.25) and r["custom_fn"] == pytest.approx(0.25)
        assert r["early_stop"] is True
        assert r["grad_norm"] <= 1.0 + 1e-4  # clip_grad_norm_ clipped
    assert rj["names"] == rt["names"]
    assert outj.count("Epoch ") == outt.count("Epoch ") == 3
    assert (jdir / "model.pth").exists() and (jdir / "checkpoint.pth").exists()
