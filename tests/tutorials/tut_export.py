"""torch.export as its tutorial walks through it: a small conv + linear model exported with example
inputs, the ExportedProgram's graph signature (input kinds, parameter / buffer / user-input targets,
outputs), its state_dict, `ep.module()` called like the original (and refusing a wrong shape), a
batch dimension made dynamic with `torch.export.Dim` (min/max, range_constraints, other batch sizes
run, a size outside the range refused), two inputs sharing one Dim (unequal sizes refused), `Dim.AUTO`,
data-dependent control flow that fails to export and the same with `torch.cond`, a constant
(non-tensor) argument baked in, a buffer updated in forward (its output specs, the count it keeps),
`run_decompositions()`, and `torch.export.save` / `load` round trips. Only outputs, signatures and
error types are compared: the printed graphs name nodes by each framework's tracer."""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.export import Dim, export

from tut_common import finish, np_params, record

rng = np.random.RandomState(81)


def randn(*shape):
    return torch.from_numpy(rng.randn(*shape).astype(np.float32))


def error_name(call):
    try:
        call()
        return None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e).__name__


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(x, 1))


def spec_summary(ep):
    sig = ep.graph_signature
    return ([(s.kind.name, s.target) for s in sig.input_specs], [s.kind.name for s in sig.output_specs],
            sorted(sig.parameters), sorted(sig.buffers), len(sig.user_inputs), len(sig.user_outputs))


model = np_params(ConvNet(), 82).eval()
x = randn(2, 3, 8, 8)
ep = export(model, (x,))
record("static_signature", spec_summary(ep))
record("static_state_keys", sorted(ep.state_dict))
record("static_out", ep.module()(x))
record("static_eq_eager", torch.allclose(ep.module()(x), model(x), atol=1e-6))
record("static_wrong_batch", error_name(lambda: ep.module()(randn(3, 3, 8, 8))))
record("exported_type", (type(ep).__name__, type(ep.module()).__name__, isinstance(ep.module(), nn.Module)))

# a dynamic batch dimension
batch = Dim("batch", min=1, max=16)
dyn = export(model, (x,), dynamic_shapes={"x": {0: batch}})
record("dyn_outputs", [dyn.module()(randn(n, 3, 8, 8)) for n in (1, 5, 16)])
record("dyn_range", [str(r) for r in dyn.range_constraints.values()])
record("dyn_too_big", error_name(lambda: dyn.module()(randn(17, 3, 8, 8))))
record("dyn_bad_hw", error_name(lambda: dyn.module()(randn(2, 3, 6, 6))))
print("dims", [(s.kind.name, s.target) for s in dyn.graph_signature.input_specs][-1])


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 6)

    def forward(self, a, b):
        return self.lin(a) + b


two = np_params(TwoInputs(), 83)
n = Dim("n", max=32)
ep2 = export(two, (randn(4, 6), randn(4, 6)), dynamic_shapes=((n, Dim.STATIC), (n, Dim.STATIC)))
record("shared_dim", ep2.module()(randn(7, 6), randn(7, 6)))
record("shared_dim_mismatch", error_name(lambda: ep2.module()(randn(7, 6), randn(5, 6))))
ep_auto = export(two, (randn(4, 6), randn(4, 6)), dynamic_shapes=({0: Dim.AUTO}, {0: Dim.AUTO}))
record("auto_dim", ep_auto.module()(randn(9, 6), randn(9, 6)))


# data-dependent branching: fails to export; torch.cond exports both branches
class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x.sin()
        return x.cos()


class CondNet(nn.Module):
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda t: t.sin(), lambda t: t.cos(), (x,))


pos, neg = randn(3, 4).abs(), -randn(3, 4).abs()
record("branch_export_error", error_name(lambda: export(Branchy(), (pos,))))
cond_ep = export(CondNet(), (pos,))
record("cond_outputs", (cond_ep.module()(pos), cond_ep.module()(neg)))
record("cond_eq", (torch.allclose(cond_ep.module()(pos), pos.sin()), torch.allclose(cond_ep.module()(neg), neg.cos())))


class WithConst(nn.Module):
    def forward(self, x, scale):
        return x * scale


const_ep = export(WithConst(), (randn(2, 3), 3.0))
record("const_in_spec", [(s.kind.name, type(s.arg).__name__) for s in const_ep.graph_signature.input_specs])
record("const_out", const_ep.module()(torch.ones(2, 3), 3.0))


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(1))
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        self.calls.add_(1)
        return self.lin(x)


counter = np_params(Counter(), 84)
with torch.no_grad():
    counter.calls.zero_()
counter_ep = export(counter, (randn(2, 3),))
record("mutation_spec", [(s.kind.name, s.target) for s in counter_ep.graph_signature.output_specs])
record("mutation_buffers", dict(counter_ep.graph_signature.buffers_to_mutate))
cm = counter_ep.module()
cm(randn(2, 3))
cm(randn(2, 3))
record("mutation_count", cm.calls)

# decompositions keep the results
decomposed = ep.run_decompositions()
record("decomposed_eq", torch.allclose(decomposed.module()(x), ep.module()(x), atol=1e-6))
record("decomposed_signature", spec_summary(decomposed))

# save / load round trips
buf = io.BytesIO()
torch.export.save(dyn, buf)
buf.seek(0)
loaded = torch.export.load(buf)
y = randn(6, 3, 8, 8)
record("loaded_eq", torch.equal(loaded.module()(y), dyn.module()(y)))
record("loaded_signature", spec_summary(loaded))
record("loaded_range", [str(r) for r in loaded.range_constraints.values()])
print(type(loaded).__name__, sorted(loaded.state_dict) == sorted(dyn.state_dict))
finish()
