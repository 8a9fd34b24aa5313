"""Introduction to torch.compile: a function compiled by call and by decorator (outputs equal the
eager ones), a module compiled with `torch.compile(model)` and in place with `model.compile()`,
`mode="reduce-overhead"` / `"max-autotune"` and `dynamic=True` accepted, recompiling for new input
shapes and dtypes, a graph break from `print` inside the compiled function (the print still runs at
every call), `fullgraph=True` turning a graph break (`tensor.tolist()`) into an error at the first call, a data-dependent branch compiled
without fullgraph (both sides taken), `torch.compiler.disable` on a helper, `torch._dynamo.reset()` /
`torch.compiler.reset()`, `torch.compiler.is_compiling()` inside and outside, and a compiled
training loop (forward + backward + SGD) whose losses and weights equal eager training."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(121)


def randn(*shape):
    return torch.from_numpy(rng.randn(*shape).astype(np.float32))


def foo(x, y):
    a = torch.sin(x)
    b = torch.cos(y)
    return a + b


opt_foo1 = torch.compile(foo)
x, y = randn(10, 10), randn(10, 10)
record("foo", (opt_foo1(x, y), torch.allclose(opt_foo1(x, y), foo(x, y), atol=1e-6)))


@torch.compile
def opt_foo2(x, y):
    a = torch.sin(x)
    b = torch.cos(y)
    return a + b


record("foo_decorated", torch.allclose(opt_foo2(x, y), foo(x, y), atol=1e-6))


def inner(x):
    return torch.sin(x)


@torch.compile
def outer(x, y):
    a = inner(x)
    b = torch.cos(y)
    return a + b


record("nested_call", torch.allclose(outer(x, y), foo(x, y), atol=1e-6))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(10, 10)

    def forward(self, x):
        return F.relu(self.lin(x))


mod = np_params(MLP(), 122)
opt_mod = torch.compile(mod)
record("module", (opt_mod(x), torch.allclose(opt_mod(x), mod(x), atol=1e-6)))
record("module_wrapper", (type(opt_mod).__name__, opt_mod._orig_mod is mod, list(opt_mod.state_dict()) == list(mod.state_dict())))
in_place = copy.deepcopy(mod)
in_place.compile()
record("module_compile_inplace", (type(in_place).__name__, torch.allclose(in_place(x), mod(x), atol=1e-6)))

for mode in ("reduce-overhead", "max-autotune"):
    f = torch.compile(foo, mode=mode)
    record(f"mode_{mode}", torch.allclose(f(x, y), foo(x, y), atol=1e-6))
dyn = torch.compile(foo, dynamic=True)
record("dynamic_shapes", [dyn(randn(n, 3), randn(n, 3)).shape for n in (2, 5, 9)])
record("new_dtype", opt_foo1(x.double(), y.double()).dtype)
record("new_shape", opt_foo1(randn(3, 4), randn(3, 4)))


def with_print(x):
    x = x * 2
    print("inside the compiled function, x sums to", round(float(x.sum()), 3))
    return x.relu()


comp_print = torch.compile(with_print)
for i in range(3):
    out = comp_print(randn(4))
record("print_break_out", out)


def branchy(x):
    if x.sum() > 0:
        return x * 2
    return x - 1


pos, neg = randn(5).abs() + 0.1, -randn(5).abs() - 0.1
loose = torch.compile(branchy)
record("branch_both", (loose(pos), loose(neg), loose(pos)))
def via_list(x):
    return torch.tensor(x.tolist()) * 2  # Python values out of a tensor: a graph break


strict = torch.compile(via_list, fullgraph=True)  # the graph break is now an error
try:
    strict(pos)
    record("fullgraph_error", None)
except Exception as e:  # noqa: BLE001 - the type is what is compared
    record("fullgraph_error", isinstance(e, torch._dynamo.exc.Unsupported) or type(e).__name__)


@torch.compiler.disable
def eager_helper(x):
    return x.numpy().sum() if not torch.compiler.is_compiling() else None


@torch.compile
def uses_helper(x):
    return x * 3 + float(eager_helper(x))


record("disabled_helper", uses_helper(pos))
record("is_compiling_outside", torch.compiler.is_compiling())
torch._dynamo.reset()
torch.compiler.reset()
record("after_reset", torch.allclose(opt_foo1(x, y), foo(x, y), atol=1e-6))

# a compiled training loop against eager
X, Y = randn(32, 10), randn(32, 10)
eager_model = np_params(MLP(), 123)
comp_model = copy.deepcopy(eager_model)
compiled_model = torch.compile(comp_model)
logs = []
for model in (eager_model, compiled_model):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for step in range(5):
        opt.zero_grad()
        loss = F.mse_loss(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    logs.append(losses)
record("train_losses", logs)
record("train_weights_equal", torch.allclose(eager_model.lin.weight, comp_model.lin.weight, atol=1e-6))
record("train_weight", comp_model.lin.weight)
finish()
