"""Transfer learning style: torchvision.models.resnet18(weights=None), a new model.fc, frozen
backbone, optimizer on model.fc.parameters(), StepLR, best weights kept with copy.deepcopy of
the state_dict; torchvision.transforms.Compose on PIL images made here."""
import copy
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim import lr_scheduler

from tut_common import DEVICE, finish, np_params, record  # noqa: I001  (before torchvision: see tut_common)
import torchvision
from PIL import Image
from torchvision import datasets, models, transforms

rng = np.random.RandomState(90)
pil_images = [Image.fromarray(rng.randint(0, 256, (40 + 3 * i, 48, 3), dtype=np.uint8)) for i in range(8)]
labels = [i % 2 for i in range(8)]

data_transforms = {
    "train": transforms.Compose([
        transforms.Resize(36),
        transforms.CenterCrop(32),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ]),
    "val": transforms.Compose([
        transforms.Resize((34, 34)),
        transforms.CenterCrop(32),
        transforms.Grayscale(num_output_channels=3),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ]),
}
record("to_tensor", transforms.ToTensor()(pil_images[0]))
record("pil_to_tensor", transforms.PILToTensor()(pil_images[1]))
record("train_tf", [data_transforms["train"](im) for im in pil_images[:2]])
record("val_tf", [data_transforms["val"](im) for im in pil_images[2:4]])
record("to_pil_roundtrip", np.asarray(transforms.ToPILImage()(transforms.ToTensor()(pil_images[2]))))
record("hflip", transforms.functional.hflip(transforms.ToTensor()(pil_images[3])))
record("resize_tensor", transforms.Resize((20, 24), antialias=True)(transforms.ToTensor()(pil_images[4])))
record("tensor_compose", transforms.Compose([transforms.ConvertImageDtype(torch.float32),
                                             transforms.Normalize((0.5,), (0.5,))])(
    transforms.PILToTensor()(pil_images[5])))


class ImageList(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


image_datasets = {"train": ImageList(pil_images[:6], labels[:6], data_transforms["train"]),
                  "val": ImageList(pil_images[6:], labels[6:], data_transforms["val"])}
dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=3, shuffle=False, num_workers=0)
               for x in ["train", "val"]}
dataset_sizes = {x: len(image_datasets[x]) for x in ["train", "val"]}
class_names = ["ants", "bees"]
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
device = torch.device(DEVICE)


def train_model(model, criterion, optimizer, scheduler, num_epochs=2):
    since = time.time()
    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0
    history = []
    for epoch in range(num_epochs):
        print(f"Epoch {epoch}/{num_epochs - 1}")
        print("-" * 10)
        for phase in ["train", "val"]:
            if phase == "train":
                model.train()
            else:
                model.eval()
            running_loss = 0.0
            running_corrects = 0
            for inputs, labels in dataloaders[phase]:
                inputs = inputs.to(device)
                labels = labels.to(device)
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data)
            if phase == "train":
                scheduler.step()
            epoch_loss = running_loss / dataset_sizes[phase]
            epoch_acc = running_corrects.double() / dataset_sizes[phase]
            print(f"{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}")
            history.append((epoch_loss, epoch_acc))
            if phase == "val" and epoch_acc >= best_acc:
                best_acc = epoch_acc
                best_model_wts = copy.deepcopy(model.state_dict())
    time_elapsed = time.time() - since
    assert time_elapsed >= 0
    print(f"Best val Acc: {best_acc:4f}")
    model.load_state_dict(best_model_wts)
    return model, history


model_conv = torchvision.models.resnet18(weights=None)
record("resnet_keys", list(model_conv.state_dict().keys()))
record("resnet_param_count", sum(p.numel() for p in model_conv.parameters()))
record("resnet_fc", (model_conv.fc.in_features, model_conv.fc.out_features))
np_params(model_conv, 91)
for param in model_conv.parameters():
    param.requires_grad = False
num_ftrs = model_conv.fc.in_features
model_conv.fc = nn.Linear(num_ftrs, 2)
np_params(model_conv.fc, 92)
model_conv = model_conv.to(device)
criterion = nn.CrossEntropyLoss()
optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=1, gamma=0.1)
model_conv, history = train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, num_epochs=2)
record("history", history)
record("fc_state", model_conv.fc.state_dict())
record("frozen_grads_none", all(p.grad is None for n, p in model_conv.named_parameters() if not n.startswith("fc")))
record("bn_running", {k: v for k, v in model_conv.state_dict().items() if "bn1" in k and "layer1.0" in k})
record("lr_after", exp_lr_scheduler.get_last_lr())
model_conv.eval()
with torch.no_grad():
    inputs, _ = next(iter(dataloaders["val"]))
    record("eval_logits", model_conv(inputs.to(device)))

# fine-tuning the whole network one step (gradients through every layer and BatchNorm in train mode)
model_ft = models.resnet18(weights=None, num_classes=3)
np_params(model_ft, 93)
opt_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)
model_ft.train()
x = torch.stack([data_transforms["train"](im) for im in pil_images[:2]])
y = torch.tensor([0, 2])
loss = criterion(model_ft(x), y)
loss.backward()
record("ft_loss", loss)
record("ft_grads", {n: p.grad for n, p in model_ft.named_parameters() if "layer4" in n or "conv1" in n})
opt_ft.step()
record("ft_running_var", model_ft.layer1[0].bn1.running_var)
record("ft_fc", model_ft.fc.weight)
finish()
