"""(beta) Static quantization with eager mode, as its tutorial walks through it: a small CNN with
QuantStub / DeQuantStub, `fuse_modules` (conv+bn+relu, conv+relu, linear+relu) in eval, the x86
default qconfig, `prepare` (observers inserted, printed), calibration on a few batches, `convert`
(quantized Conv/Linear modules, their scales and zero points, int8 weights), the quantized model's
outputs and accuracy against the float model's, the size of the saved state_dicts; then
quantization-aware training: `prepare_qat` with the default QAT qconfig, a few SGD steps with fake
quantization, observers frozen and batch-norm statistics frozen, `convert` and evaluation."""
import copy
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import (DeQuantStub, QuantStub, convert, fuse_modules, get_default_qat_qconfig,
                                   get_default_qconfig, prepare, prepare_qat)

from tut_common import finish, np_params, record

rng = np.random.RandomState(141)
torch.backends.quantized.engine = "x86"
images = torch.from_numpy(rng.rand(24, 1, 10, 10).astype(np.float32))
labels = torch.from_numpy(rng.randint(0, 4, 24).astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(8, 16)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(16, 4)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.conv2(x))
        x = torch.flatten(self.pool(x), 1)
        x = self.fc2(self.relu3(self.fc1(x)))
        return self.dequant(x)

    def fuse_model(self, qat=False):
        fuse = torch.ao.quantization.fuse_modules_qat if qat else fuse_modules
        fuse(self, [["conv1", "bn1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]], inplace=True)


def size_of(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


float_model = np_params(Net(), 142).eval()
float_out = float_model(images)
record("float_out", float_out)

model = copy.deepcopy(float_model)
model.fuse_model()
record("fused_types", [(n, type(m).__name__) for n, m in model.named_children()])
record("fused_eq", torch.allclose(model(images), float_out, atol=1e-5))
model.qconfig = get_default_qconfig("x86")
# (the qconfig's own repr names the observer classes' modules: torch.ao... / jtorch.ao...)
act_obs, w_obs = model.qconfig.activation(), model.qconfig.weight()
print(type(act_obs).__name__, act_obs.dtype, act_obs.reduce_range, type(w_obs).__name__, w_obs.dtype, w_obs.qscheme)
prepare(model, inplace=True)
record("observed_types", sorted({type(m).__name__ for m in model.modules()}))
with torch.no_grad():
    for i in range(0, 24, 8):
        model(images[i:i + 8])
record("observer_ranges", (model.quant.activation_post_process.min_val, model.quant.activation_post_process.max_val))
convert(model, inplace=True)
print(model)
record("quant_types", [(n, type(m).__name__) for n, m in model.named_children()])
record("quant_params", {n: (m.scale, m.zero_point) for n, m in model.named_children() if hasattr(m, "scale")})
record("quant_stub", (model.quant.scale, model.quant.zero_point))
record("conv1_weight", (model.conv1.weight().int_repr(), model.conv1.weight().q_per_channel_scales()))
record("fc2_weight", model.fc2.weight().dequantize())
q_out = model(images)
record("quant_out", q_out)
record("agreement", (q_out.argmax(1) == float_out.argmax(1)).float().mean())
record("max_err_small", float((q_out - float_out).abs().max()) < 0.1)
record("size_smaller", size_of(model) < size_of(float_model))

# quantization-aware training
qat_model = np_params(Net(), 142)
qat_model.eval()
qat_model.fuse_model(qat=True)
qat_model.train()
qat_model.qconfig = get_default_qat_qconfig("x86")
prepare_qat(qat_model, inplace=True)
record("qat_types", [(n, type(m).__name__) for n, m in qat_model.named_children()])
opt = torch.optim.SGD(qat_model.parameters(), lr=0.05)
losses = []
for epoch in range(4):
    if epoch == 2:
        qat_model.apply(torch.ao.quantization.disable_observer)
    if epoch == 3:
        qat_model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
    for i in range(0, 24, 12):
        opt.zero_grad()
        loss = F.cross_entropy(qat_model(images[i:i + 12]), labels[i:i + 12])
        loss.backward()
        opt.step()
        losses.append(loss.item())
record("qat_losses", losses)
record("qat_conv_weight", qat_model.conv1.weight)
record("qat_bn_stats", (qat_model.conv1.bn.running_mean, qat_model.conv1.bn.running_var))
qat_model.eval()
fake_out = qat_model(images)
qat_int = convert(qat_model.eval(), inplace=False)
int_out = qat_int(images)
record("qat_fake_out", fake_out)
record("qat_int_out", int_out)
record("qat_int_types", [(n, type(m).__name__) for n, m in qat_int.named_children()])
finish()
