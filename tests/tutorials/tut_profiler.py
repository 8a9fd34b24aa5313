"""Profiler recipe: torch.profiler.profile with record_function ranges, key_averages tables (also
grouped by input shape), export_chrome_trace, a wait/warmup/active schedule with on_trace_ready and
tensorboard_trace_handler writing JSON traces, and the legacy torch.autograd.profiler.profile.
Times differ between runs and frameworks: the program records op names and counts (for the ops
both frameworks name alike), the structure of tables and traces, and the training it profiled."""
import glob
import json
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function, schedule, tensorboard_trace_handler

from tut_common import finish, np_params, record


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 32)
        self.fc2 = nn.Linear(32, 32)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        with record_function("hidden_layers"):
            x = F.relu(self.fc1(x))
            x = torch.tanh(self.fc2(x))
        return self.head(x)


rng = np.random.RandomState(0)
X = torch.from_numpy(rng.randn(64, 12).astype(np.float32))
Y = torch.from_numpy(rng.randint(0, 5, 64).astype(np.int64))
model = np_params(MLP(), 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

# names both frameworks give the same ops, backward nodes and ranges
NAMES = ["model_inference", "hidden_layers", "train_step", "ProfilerStep*", "aten::linear", "aten::relu",
         "aten::tanh", "aten::softmax", "aten::log_softmax", "aten::cross_entropy_loss", "AddmmBackward0", "ReluBackward0", "TanhBackward0",
         "autograd::engine::evaluate_function: AddmmBackward0", "torch::autograd::AccumulateGrad"]


# torch's cross_entropy runs log_softmax + nll_loss inside; jtorch's is one op (same top-level name)
TRAIN_NAMES = [n for n in NAMES if n != "aten::log_softmax"]


def counts(averages, names=NAMES):
    by_key = {e.key: e.count for e in averages}
    return {n: by_key.get(n, 0) for n in names}


def step(xb, yb):
    with record_function("train_step"):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    return loss


# warm up (compilation, first-call costs) before measuring, as the recipe advises
for _ in range(2):
    model(X[:8])

# 1. inference under the profiler, CPU activity, shapes recorded
with torch.no_grad():
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            out = model(X[:8])
            probs = F.softmax(out, dim=1)
            logp = F.log_softmax(out, dim=1)
record("inference_probs", probs)
record("inference_logp", logp)
avg = prof.key_averages()
record("inference_counts", counts(avg))
table = avg.table(sort_by="cpu_time_total", row_limit=10)
lines = table.splitlines()
record("table_header", lines[1].split())
record("table_footer", lines[-1].split(":")[0] if lines[-1] else lines[-2].split(":")[0])
record("table_rows_within_limit", 5 < len(lines) <= 16)
# the user range covers the ops run inside it
top = [e for e in prof.events() if e.name == "model_inference"][0]
record("range_children", sorted(set(c.name for c in top.cpu_children) & set(NAMES)))
record("range_times_ok", top.cpu_time_total >= top.self_cpu_time_total >= 0.0)
by_shape = {(e.key, str(e.input_shapes)): e.count for e in prof.key_averages(group_by_input_shape=True)
            if e.key == "aten::linear"}
record("linear_by_shape", sorted(by_shape.items()))
shape_table = prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=4)
record("shape_table_header", shape_table.splitlines()[1].split())
print("top ops by total CPU time (first column only):",
      sorted(set(line.split()[0] for line in lines[3:-3]) & {"model_inference"}))

# 2. a training step with backward, exported as a Chrome trace
with profile(activities=[ProfilerActivity.CPU]) as prof:
    loss = step(X[:16], Y[:16])
record("train_counts", counts(prof.key_averages(), TRAIN_NAMES))
tmp = tempfile.mkdtemp()
trace = os.path.join(tmp, "trace.json")
prof.export_chrome_trace(trace)
with open(trace) as f:
    events = json.load(f)["traceEvents"]
names = [e["name"] for e in events if e.get("ph") == "X"]
record("trace_names", sorted(set(names) & set(TRAIN_NAMES)))
record("trace_fields", all("ts" in e and "dur" in e for e in events if e.get("ph") == "X"))
record("trace_linear", names.count("aten::linear"))

# 3. long-running jobs: a schedule, with traces for TensorBoard written each cycle
seen = []


def on_ready(p):
    seen.append((p.step_num, counts(p.key_averages(), TRAIN_NAMES)))


losses = []
logdir = os.path.join(tmp, "tb")
handler = tensorboard_trace_handler(logdir, worker_name="worker0")
with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
             on_trace_ready=lambda p: (on_ready(p), handler(p))) as prof:
    for i in range(10):
        xb, yb = X[(i * 8) % 64:(i * 8) % 64 + 8], Y[(i * 8) % 64:(i * 8) % 64 + 8]
        losses.append(step(xb, yb).item())
        prof.step()
record("schedule_losses", losses)
record("schedule_ready", seen)
files = sorted(glob.glob(os.path.join(logdir, "*.pt.trace.json")))
record("tb_files", [os.path.basename(f).split(".")[0] for f in files])
with open(files[0]) as f:
    record("tb_has_steps", any(e["name"].startswith("ProfilerStep#") for e in json.load(f)["traceEvents"]))
actions = [str(schedule(wait=1, warmup=1, active=2, repeat=1, skip_first=2)(i)).split(".")[-1] for i in range(9)]
print("schedule actions:", actions)

# 4. the legacy profiler and record_function as a decorator
@record_function("evaluate")
def evaluate():
    with torch.no_grad():
        return (model(X).argmax(1) == Y).float().mean()


with torch.autograd.profiler.profile(record_shapes=True) as legacy:
    acc = evaluate()
record("accuracy", acc)
record("legacy_counts", counts(legacy.key_averages()))
record("legacy_total_ok", legacy.self_cpu_time_total > 0.0)
record("legacy_str", str(legacy).splitlines()[1].split())
record("legacy_total_key", legacy.total_average().key)
record("final_params", dict(model.named_parameters()))
finish()
