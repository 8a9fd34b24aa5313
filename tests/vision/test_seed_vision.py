"""The seed's transforms and transfer-learning sections, verbatim, with ``torchvision``
resolving to jtorch.vision; results checked against real torchvision."""
import builtins
import importlib
import os

import numpy as np
import torch
from PIL import Image

import jtorch
import jtorch.nn as jnn
import jtorch.optim as joptim
from helpers import assert_close
from tv import torchvision

tv = torchvision()

SEED_TRANSFORMS = '''
from torchvision import transforms

transform = transforms.Compose([
    # Image transformations
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.RandomHorizontalFlip(),
    transforms.RandomRotation(10),
    
    # Convert to tensor
    transforms.ToTensor(),
    
    # Normalize
    transforms.Normalize(mean=[0.485, 0.456, 0.406],
                        std=[0.229, 0.224, 0.225])
])
'''

SEED_TRANSFER = '''
import torchvision.models as models

# Load pre-trained model
model = models.resnet18(pretrained=True)

# Freeze parameters
for param in model.parameters():
    param.requires_grad = False

# Modify final layer
num_features = model.fc.in_features
model.fc = nn.Linear(num_features, num_classes)

# Fine-tuning
model.train()
optimizer = optim.Adam(model.fc.parameters())  # Only train final layer
'''


def _as_jtorch_import(name, globals=None, locals=None, fromlist=(), level=0):
    """``import torch`` / ``torchvision`` resolving to jtorch / jtorch.vision (what `jtorch run` does)."""
    if name == "torchvision" or name.startswith("torchvision."):
        target = "jtorch.vision" + name[len("torchvision"):]
    elif name == "torch" or name.startswith("torch."):
        target = "jtorch" + name[len("torch"):]
    else:
        return builtins.__import__(name, globals, locals, fromlist, level)
    module = importlib.import_module(target)
    if fromlist:
        return module
    return importlib.import_module("jtorch.vision" if name.startswith("torchvision") else "jtorch")


def _run(code, **env):
    ns = {"__builtins__": dict(vars(builtins), __import__=_as_jtorch_import), "__name__": "seed", **env}
    exec(compile(code, "seed", "exec"), ns)
    return ns


def test_seed_transforms_section(rng):
    ns = _run(SEED_TRANSFORMS)
    transform = ns["transform"]
    TT = tv.transforms
    assert repr(transform) == repr(TT.Compose([
        TT.Resize(256), TT.CenterCrop(224), TT.RandomHorizontalFlip(), TT.RandomRotation(10), TT.ToTensor(),
        TT.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])]))
    img = Image.fromarray(rng.integers(0, 256, (280, 320, 3), dtype=np.uint8))
    flips = set()
    for seed in (0, 1, 2, 3, 4, 5):
        jtorch.manual_seed(seed)
        out = transform(img)
        # replay jtorch's draws (flip coin, then angle) through torchvision's functional ops
        jtorch.manual_seed(seed)
        flip = bool(jtorch.rand(1) < 0.5)
        angle = float(jtorch.empty(1).uniform_(-10.0, 10.0).item())
        flips.add(flip)
        TF = TT.functional
        ref = TF.center_crop(TF.resize(img, 256), 224)
        ref = TF.rotate(TF.hflip(ref) if flip else ref, angle, fill=0)
        ref = TF.normalize(TF.to_tensor(ref), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        assert_close(out, ref)
    assert flips == {True, False}


def test_seed_transfer_learning_section(tmp_path, monkeypatch, rng):
    torch.manual_seed(0)
    tmodel = tv.models.resnet18().eval()
    # a checkpoint in torchvision's own format, under the name torchvision downloads to
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(tmodel.state_dict(), ckpt / "resnet18-f37072fd.pth")
    assert os.path.basename(tv.models.ResNet18_Weights.IMAGENET1K_V1.url) == "resnet18-f37072fd.pth"

    ns = _run(SEED_TRANSFER, nn=jnn, optim=joptim, num_classes=5)
    model, optimizer = ns["model"], ns["optimizer"]
    assert model.training and ns["num_features"] == 512
    assert isinstance(model.fc, jnn.Linear) and tuple(model.fc.weight.shape) == (5, 512)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) == 2 and trainable[0] is model.fc.weight
    assert [p for g in optimizer.param_groups for p in g["params"]] == trainable
    # the pretrained weights are the checkpoint's
    for k, v in tmodel.state_dict().items():
        if not k.startswith("fc."):
            np.testing.assert_array_equal(np.asarray(model.state_dict()[k]), v.numpy())
    # the backbone in eval mode gives torchvision's features
    x = rng.normal(size=(2, 3, 64, 64)).astype(np.float32)
    tmodel.fc = torch.nn.Identity()
    model.fc = jnn.Identity()
    model.eval()
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        assert_close(model(jtorch.from_numpy(x)), expected, rtol=1e-3, atol=1e-4)
