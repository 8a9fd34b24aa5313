"""torch.fx passes as the FX tutorials write them: a Conv2d/BatchNorm2d fuser over a symbolically
traced model (find conv -> bn call_module pairs, fold the bn statistics into the conv weights,
`replace_all_uses_with`, `erase_node`, `graph.lint()`, `recompile()`; outputs equal the unfused
model's, fewer nodes), a profiling `Interpreter` subclass (overrides `run_node`, counts per-op runs
and records each node's output shape; its timings are printed only as a count), `ShapeProp`,
a `Transformer` subclass that swaps torch.relu calls for torch.sigmoid, `subgraph_rewriter.replace_pattern`,
graph surgery inserting a node with `inserting_after`, and `GraphModule.code` checked for the names it
must contain."""
import copy
import time

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

from tut_common import finish, np_params, record

rng = np.random.RandomState(91)
x = torch.from_numpy(rng.randn(2, 3, 12, 12).astype(np.float32))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


model = np_params(Net(), 92).eval()
expected = model(x)


# --- the conv/bn fuser ----------------------------------------------------------------------
def fold_bn(conv, bn):
    fused = copy.deepcopy(conv)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.weight = nn.Parameter((conv.weight * scale.reshape(-1, 1, 1, 1)).detach())
    fused.bias = nn.Parameter(((bias - bn.running_mean) * scale + bn.bias).detach())
    return fused


def fuse(model):
    model = copy.deepcopy(model)
    gm = fx.symbolic_trace(model)
    modules = dict(gm.named_modules())
    fused_pairs = []
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], nn.BatchNorm2d):
            continue
        prev = node.args[0]
        if not (isinstance(prev, fx.Node) and prev.op == "call_module" and isinstance(modules[prev.target], nn.Conv2d)):
            continue
        if len(prev.users) > 1:
            continue
        fused = fold_bn(modules[prev.target], modules[node.target])
        parent, _, name = prev.target.rpartition(".")
        setattr(modules[parent] if parent else gm, name, fused)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
        fused_pairs.append((prev.target, node.target))
    gm.graph.lint()
    gm.recompile()
    return gm, fused_pairs


traced = fx.symbolic_trace(model)
record("traced_nodes", [(n.op, n.name, n.target if isinstance(n.target, str) else n.target.__name__)
                        for n in traced.graph.nodes])
fused, pairs = fuse(model)
record("fused_pairs", pairs)
record("fused_nodes", [(n.op, n.name) for n in fused.graph.nodes])
out = fused(x)
record("fused_out", out)
record("fused_eq", torch.allclose(out, expected, atol=1e-5))
record("fused_code_has_bn", "bn1" in fused.code or "bn2" in fused.code)
record("fused_conv_weight", fused.conv1.weight)
print(len(traced.graph.nodes), "->", len(fused.graph.nodes), "nodes")


# --- a profiling interpreter ----------------------------------------------------------------
class ProfilingInterpreter(fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.runs = {}
        self.shapes = {}
        self.seconds = []

    def run_node(self, n):
        start = time.perf_counter()
        result = super().run_node(n)
        self.seconds.append(time.perf_counter() - start)
        key = n.op if n.op in ("placeholder", "output") else f"{n.op}:{n.target if isinstance(n.target, str) else n.target.__name__}"
        self.runs[key] = self.runs.get(key, 0) + 1
        if isinstance(result, torch.Tensor):
            self.shapes[n.name] = tuple(result.shape)
        return result


prof = ProfilingInterpreter(traced)
prof_out = prof.run(x)
record("prof_out_eq", torch.equal(prof_out, traced(x)))
record("prof_runs", prof.runs)
record("prof_shapes", prof.shapes)
print("timed", len(prof.seconds), "nodes; all non-negative:", all(s >= 0 for s in prof.seconds))

ShapeProp(traced).propagate(x)
record("shape_prop", [(n.name, tuple(n.meta["tensor_meta"].shape), n.meta["tensor_meta"].dtype)
                      for n in traced.graph.nodes if "tensor_meta" in n.meta])


# --- a Transformer: relu -> sigmoid ---------------------------------------------------------
class ReluToSigmoid(fx.Transformer):
    def call_function(self, target, args, kwargs):
        if target in (torch.relu, F.relu):
            return super().call_function(torch.sigmoid, args, {})  # (F.relu also passes inplace=)
        return super().call_function(target, args, kwargs)


swapped = ReluToSigmoid(traced).transform()
manual = torch.flatten(F.adaptive_avg_pool2d(torch.sigmoid(model.bn2(model.conv2(torch.sigmoid(model.bn1(model.conv1(x)))))), 1), 1)
record("transformer_out", swapped(x))
record("transformer_eq", torch.allclose(swapped(x), model.fc(manual), atol=1e-6))
record("transformer_targets", sorted(str(n.target.__name__) for n in swapped.graph.nodes if n.op == "call_function"))


# --- pattern rewriting ---------------------------------------------------------------------
class Small(nn.Module):
    def forward(self, a, b):
        y = torch.add(a, b)
        z = torch.mul(y, 2.0)
        w = torch.add(z, b)
        return torch.mul(w, 2.0)


def pattern(p, q):
    return torch.mul(torch.add(p, q), 2.0)


def replacement(p, q):
    return torch.sub(p, q)


small = fx.symbolic_trace(Small())
matches = fx.subgraph_rewriter.replace_pattern(small, pattern, replacement)
a, b = (torch.from_numpy(rng.randn(3, 4).astype(np.float32)) for _ in range(2))
record("rewrite_matches", len(matches))
record("rewrite_out", small(a, b))
record("rewrite_eq", torch.allclose(small(a, b), (a - b) - b))
record("rewrite_ops", [n.target.__name__ for n in small.graph.nodes if n.op == "call_function"])

# --- inserting a node ------------------------------------------------------------------------
g = fx.symbolic_trace(copy.deepcopy(model))
for node in g.graph.nodes:
    if node.op == "call_module" and node.target == "conv2":
        with g.graph.inserting_after(node):
            clamped = g.graph.call_function(torch.clamp, (node,), {"min": 0.0})
        node.replace_all_uses_with(clamped)
        clamped.args = (node,)
g.graph.lint()
g.recompile()
record("inserted_out", g(x))
record("inserted_code", ("torch.clamp" in g.code, "conv2" in g.code))
print([n.op for n in g.graph.nodes])
finish()
