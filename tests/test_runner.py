"""``python -m jtorch run`` / ``install_as_torch``: unmodified PyTorch scripts, compared with real torch."""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TV_HELPER = os.path.join(ROOT, "tests", "vision")

# The seed's snippets, verbatim, glued into one plain PyTorch program (glue lines are marked).
SEED_SCRIPT = '''
import torch

# From Python list/array
x = torch.tensor([1, 2, 3])

# Zeros and ones
zeros = torch.zeros(2, 3)  # 2x3 tensor of zeros
ones = torch.ones(2, 3)    # 2x3 tensor of ones

# Random tensors
rand = torch.rand(2, 3)     # uniform random
randn = torch.randn(2, 3)   # normal distribution
randint = torch.randint(0, 10, (2, 3))  # random integers

# Range tensors
arange = torch.arange(0, 10, step=1)
linspace = torch.linspace(0, 10, steps=5)

# From NumPy array
import numpy as np
np_array = np.array([1, 2, 3])
tensor = torch.from_numpy(np_array)
print(x, zeros, ones.dtype, rand.shape, randn.dtype, randint.dtype, arange, linspace, tensor)  # glue

x = torch.arange(12.).reshape(3, 4)  # glue
y = torch.full((3, 4), 2.0)  # glue
print((x + y).tolist(), (x - y).sum().item(), (x * y).mean().item(), (x / y)[1].tolist())  # glue
print((x @ y.T).tolist(), x.matmul(y.T).shape, x.mm(y.T).sum().item())  # glue
x.add_(y)    # In-place addition
x.sub_(y)    # In-place subtraction
x.mul_(y)    # In-place multiplication
print(x.view(3, 4).shape, x.reshape(3, 4).shape, x.squeeze().shape, x.unsqueeze(0).shape, x.transpose(0, 1).shape)
print(x[0].tolist(), x[:, 1].tolist(), x[1:3, 2:4].tolist())
print(torch.cat([x, y], dim=0).shape, torch.stack([x, y], dim=0).shape)

# Check if CUDA is available
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
x = torch.tensor([1, 2, 3], device=device)
x = x.to(device)
x = x.cpu()   # Move to CPU
print(x.device)

import torch.nn as nn
import torch.optim as optim
from torch.utils.data import Dataset, DataLoader

class MyDataset(Dataset):
    def __init__(self, data, labels):
        self.data = data
        self.labels = labels

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.data[idx], self.labels[idx]

class CustomLoss(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, pred, target):
        loss = torch.mean((pred - target)**2)
        return loss

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

class CustomFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input

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
        print(f'Epoch {epoch+1}, Loss: {epoch_loss:.3f}')

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

class MyModel(nn.Module):  # glue: a small model with fixed weights, so both libraries agree
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                p.copy_(torch.sin(torch.arange(p.numel(), dtype=torch.float32) * (i + 1.3)).reshape(p.shape) * 0.5)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))

g = np.random.default_rng(0)  # glue
data = torch.tensor(g.standard_normal((48, 4)), dtype=torch.float32)  # glue
labels = torch.tensor(g.integers(0, 3, 48))  # glue
num_epochs = 3  # glue

dataset = MyDataset(data, labels)
loader = DataLoader(dataset, batch_size=16, shuffle=False)
model = MyModel()
model.to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
train_model(model, loader, criterion, optimizer, num_epochs)
avg_loss, accuracy = evaluate_model(model, loader, criterion)
print(f"eval {avg_loss:.3f} {accuracy:.1f}")

torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
for name, param in model.named_parameters():
    if param.requires_grad:
        print(name, param.grad.shape)

a = torch.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)  # glue
CustomFunction.apply(a).sum().backward()  # glue
print(a.grad.tolist(), custom := CustomLoss()(a.detach(), torch.zeros(4)).item())  # glue

stopper = EarlyStopping(patience=2)  # glue
for v in [1.0, 0.9, 0.95, 0.97]:  # glue
    stopper(v)  # glue
print(stopper.early_stop, stopper.best_loss)  # glue

epoch, loss = num_epochs, avg_loss  # glue
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
print(epoch, f"{loss:.3f}", sorted(checkpoint['optimizer_state_dict']['state']))
print(evaluate_model(model, loader, criterion)[1])
'''

TRANSFORMS_SCRIPT = '''
import numpy as np
import torch
from PIL import Image
from torchvision import transforms

transform = transforms.Compose([
    transforms.Resize(20),
    transforms.CenterCrop(16),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406],
                        std=[0.229, 0.224, 0.225])
])
g = np.random.default_rng(1)
img = Image.fromarray(g.integers(0, 256, (24, 30, 3), dtype=np.uint8))
out = transform(img)
print(type(out).__name__, tuple(out.shape), out.dtype)
print(np.round(out.numpy()[:, ::5, ::5], 3).tolist())
'''


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(args, cwd, check=True):
    p = subprocess.run([sys.executable] + args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr[-3000:]
    return p


def _with_real_torchvision(script):
    """Run ``script`` under real torch/torchvision (see tests/vision/tv.py for why a prelude is needed)."""
    return ["-c", f"import sys, runpy; sys.path.insert(0, {TV_HELPER!r}); import tv; tv.torchvision(); "
                  f"sys.argv = [{script!r}]; runpy.run_path({script!r}, run_name='__main__')"]


def test_seed_snippets_run_unmodified_and_match_torch(tmp_path):
    script = tmp_path / "seed_program.py"
    script.write_text(SEED_SCRIPT)
    (tmp_path / "torch_run").mkdir()
    (tmp_path / "jtorch_run").mkdir()
    want = _run([str(script)], cwd=tmp_path / "torch_run").stdout
    got = _run(["-m", "jtorch", "run", str(script)], cwd=tmp_path / "jtorch_run").stdout
    assert "Epoch 3, Loss:" in want
    assert got.splitlines() == want.splitlines()
    assert sorted(os.listdir(tmp_path / "jtorch_run")) == ["checkpoint.pth", "model.pth"]


def test_torchvision_transforms_script(tmp_path):
    script = tmp_path / "tf.py"
    script.write_text(TRANSFORMS_SCRIPT)
    want = _run(_with_real_torchvision(str(script)), cwd=tmp_path).stdout
    got = _run(["-m", "jtorch", "run", str(script)], cwd=tmp_path).stdout
    assert got.splitlines()[0] == want.splitlines()[0] == "Tensor (3, 16, 16) torch.float32"
    assert got.splitlines()[1] == want.splitlines()[1]


def test_argv_main_and_traceback(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent('''
        import sys
        import torch
        import torch.nn.functional as F
        from torch.utils.data import TensorDataset
        import torch.autograd, torch.optim, torch.nn
        import torchvision.transforms

        class Point:
            pass

        def fail():
            raise ValueError("bad value " + sys.argv[1])

        print(__name__, sys.argv[1:], torch.__name__, F.__name__, torchvision.transforms.__name__)
        print(Point.__module__, torch.nn.Module is __import__("jtorch").nn.Module)
        print(F.softmax(torch.tensor([0.0, 0.0]), dim=0).tolist(), len(TensorDataset(torch.zeros(3))))
        if sys.argv[1] == "fail":
            fail()
        sys.exit(int(sys.argv[2]))
    '''))
    p = _run(["-m", "jtorch", "run", str(script), "ok", "3"], cwd=tmp_path, check=False)
    assert p.returncode == 3, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "__main__ ['ok', '3'] jtorch jtorch.nn.functional jtorch.vision.transforms"
    assert lines[1] == "__main__ True"
    assert lines[2] == "[0.5, 0.5] 3"
    p = _run(["-m", "jtorch", "run", str(script), "fail"], cwd=tmp_path, check=False)
    direct = _run([str(script), "fail"], cwd=tmp_path, check=False)  # the same script on real torch
    assert p.returncode == direct.returncode == 1
    assert p.stderr.strip().endswith("ValueError: bad value fail")
    assert f'File "{script}", line 13, in fail' in p.stderr
    assert f'File "{script}", line 19, in <module>' in p.stderr
    assert "runpy" not in p.stderr and "_runner" not in p.stderr
    # the traceback is the one python prints for the script itself (real torch has no torchvision here,
    # so compare from the frame that raises)
    tail = lambda s: s[s.index(f'File "{script}", line 13'):]  # noqa: E731
    assert "import torchvision" in direct.stderr or tail(p.stderr) == tail(direct.stderr)
    missing = _run(["-m", "jtorch", "run", str(tmp_path / "nope.py")], cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "No such file" in missing.stderr


def test_install_as_torch_and_cli(tmp_path):
    code = ("import jtorch; jtorch.install_as_torch(); import torch, torch.nn.functional as F, torch.optim, "
            "torch.utils.data, torch.autograd, torchvision; from torch.nn import Linear; "
            "from torch.cuda.amp import autocast; "
            "print(torch is jtorch, F.__name__, torchvision.__name__, Linear.__module__.startswith('jtorch'), "
            "type(torch.zeros(1)).__module__.startswith('jtorch'))\n"
            "try:\n    import torch._no_such_module\nexcept ModuleNotFoundError as e:\n    print('missing', e.name)")
    p = _run(["-c", code], cwd=tmp_path)
    assert p.stdout.splitlines() == ["True jtorch.nn.functional jtorch.vision True True",
                                     "missing torch._no_such_module"]
    v = _run(["-m", "jtorch", "--version"], cwd=tmp_path).stdout
    import jax
    import jtorch
    assert v.startswith(f"jtorch {jtorch.__version__} (jax {jax.__version__}")
    info = _run(["-m", "jtorch", "info"], cwd=tmp_path).stdout
    assert f"jax: {jax.__version__}" in info and "device 0: cpu" in info
    # in a process that already imported the real torch, aliasing is refused
    import torch  # noqa: F401
    with pytest.raises(RuntimeError, match="already imported"):
        jtorch.install_as_torch()


def test_spawned_workers_alias_torch_too(tmp_path):
    # DataLoader workers are spawned interpreters that re-import the script: their `import torch`
    # must be jtorch as well (a real torch tensor reaching jtorch's collate would fail)
    script = tmp_path / "workers.py"
    script.write_text(textwrap.dedent('''
        import torch
        from torch.utils.data import Dataset, DataLoader

        class Squares(Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                return torch.tensor([i * i], dtype=torch.float32)

        if __name__ == "__main__":
            batches = list(DataLoader(Squares(), batch_size=2, num_workers=1))
            print([b.tolist() for b in batches], type(batches[0]).__name__)
    '''))
    got = _run(["-m", "jtorch", "run", str(script)], cwd=tmp_path).stdout
    want = _run([str(script)], cwd=tmp_path).stdout
    assert got == want == "[[[0.0], [1.0]], [[4.0], [9.0]]] Tensor\n"
