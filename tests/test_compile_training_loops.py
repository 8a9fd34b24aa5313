"""jtorch.compile on the training-loop patterns users compile (issue #7): each loop is written once
against a library ``lib`` and run three ways: PyTorch eager (the oracle), jtorch eager and jtorch with
the step compiled. The same initial weights (copied from jtorch into torch) and data (numpy) feed all
three; results must agree to float32 tolerance, the compiled step must not graph-break (warnings are
errors) and must trace no more programs than torch.compile would compile. Loops with dropout compare
compiled jtorch with eager jtorch only (the two libraries draw different random masks)."""
import copy
import warnings

import numpy as np
import pytest
import torch as real

import jtorch as torch

LIBS = {"torch": real, "jtorch": torch}


class Run:
    """One run of a loop: ``lib`` is torch or jtorch; ``compile`` wraps a step or model (identity
    for the eager runs) and remembers the compiled functions for the counter checks."""

    def __init__(self, lib, compiled):
        self.lib, self.compiled, self.fns = lib, compiled, []

    def compile(self, fn, **kw):
        if not self.compiled:
            return fn
        c = torch.compile(fn, **kw)
        self.fns.append(c._compiled_call if isinstance(c, torch.nn.Module) else c)
        return c

    def tensor(self, a):
        return self.lib.from_numpy(np.array(a))


def mlp(lib, dropout=0.0, bn=False, seed=0):
    """The same small model in both libraries, jtorch's initial weights copied into torch's."""
    def build(L):
        layers = [L.nn.Linear(6, 16)]
        if bn:
            layers.append(L.nn.BatchNorm1d(16))
        layers += [L.nn.Tanh()] + ([L.nn.Dropout(dropout)] if dropout else []) + [L.nn.Linear(16, 3)]
        return L.nn.Sequential(*layers)
    torch.manual_seed(seed)
    model = build(torch)
    if lib is torch:
        return model
    ref = build(real)
    ref.load_state_dict({k: real.from_numpy(v.detach().numpy().copy()) for k, v in model.state_dict().items()})
    return ref


def data(run, n=4, batch=5, seed=1, sizes=None):
    rng = np.random.default_rng(seed)
    sizes = sizes or [batch] * n
    return [(run.tensor(rng.standard_normal((b, 6)).astype(np.float32)), run.tensor(rng.integers(0, 3, b)))
            for b in sizes]


def values(x):
    """Everything a loop returns, as numpy / Python values (dicts by key, in order)."""
    if isinstance(x, (real.Tensor, torch.Tensor)):
        return x.detach().double().numpy()
    if isinstance(x, dict):
        return {k: values(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return [values(e) for e in x]
    return x


def snapshot(model, opt=None):
    out = {"param." + k: values(v) for k, v in model.state_dict().items()}
    out.update({"grad." + k: None if p.grad is None else values(p.grad) for k, p in model.named_parameters()})
    if opt is not None:
        for i, st in opt.state_dict()["state"].items():
            for k, v in st.items():
                out[f"opt.{i}.{k}"] = values(v)
        out["lrs"] = [g["lr"] for g in opt.param_groups]
    return out


def assert_same(a, b, tol, where="result"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], tol, f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, tol, f"{where}[{i}]")
    elif a is None or isinstance(a, (bool, str)):
        assert a == b, where
    else:
        if isinstance(a, (int, float)):
            # a Python number returned stays one, of the same type, as in eager
            assert type(a) is type(b), f"{where}: {type(a).__name__} against {type(b).__name__}"
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                   rtol=tol, atol=tol, err_msg=where)


def check(loop, max_programs, torch_oracle=True, tol=2e-5):
    """Run ``loop(run)`` (returns (per-step results, final snapshot)) in torch, jtorch and compiled
    jtorch; compare all three; the compiled functions traced at most ``max_programs`` programs each
    (a dict: per function name) and none went eager."""
    eager = values(loop(Run(torch, False)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break, no recompile-limit warning
        run = Run(torch, True)
        compiled = values(loop(run))
    assert_same(compiled, eager, tol, "compiled vs eager")
    if torch_oracle:
        assert_same(eager, values(loop(Run(real, False))), tol, "jtorch vs torch")
    assert run.fns, "nothing was compiled"
    for f in run.fns:
        assert not f.eager and f.entries, f"{f.__name__} went eager"
        limit = max_programs if isinstance(max_programs, int) else max_programs[f.__name__]
        assert f.compiles <= limit, f"{f.__name__}: {f.compiles} programs traced, expected at most {limit}"
    return run


# ------------------------------------------------------------------ gradient accumulation
ACCUM = 3


def accumulate_outside(run):
    L = run.lib
    model = mlp(L)
    opt = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)

    def step(x, y):
        loss = L.nn.functional.cross_entropy(model(x), y) / ACCUM
        loss.backward()
        return loss
    step = run.compile(step)
    out = []
    for i, (x, y) in enumerate(data(run, 8)):
        out.append(step(x, y).item())
        if (i + 1) % ACCUM == 0:
            opt.step()
            opt.zero_grad()
    return out, snapshot(model, opt)


def test_gradient_accumulation_outside_the_compiled_step():
    # .grads None on the first compiled call, then set: two programs (torch guards the same)
    check(accumulate_outside, 2)


def accumulate_inside(run):
    L = run.lib
    model = mlp(L)
    opt = L.optim.Adam(model.parameters(), lr=0.01)

    def train_step(x, y, i):
        loss = L.nn.functional.cross_entropy(model(x), y) / ACCUM
        loss.backward()
        if (i + 1) % ACCUM == 0:
            opt.step()
            opt.zero_grad()
        return loss
    step = run.compile(train_step)
    out = [step(x, y, i).item() for i, (x, y) in enumerate(data(run, 10))]
    return out, snapshot(model, opt)


def test_gradient_accumulation_inside_the_compiled_step():
    # the step index changes every call: torch makes it a SymInt and guards on the branch taken
    # ((i + 1) % 3 == 0 or not): jtorch likewise, one program per branch and per which .grads are
    # None, never one per index (10 steps). Six: the first optimizer step creates Adam's state, so
    # the programs traced before it (no state yet) are traced again with it
    check(accumulate_inside, 6)


# ------------------------------------------------------------------ train / eval switching
def train_eval(run, mode):
    L = run.lib
    model = mlp(L, bn=True)
    opt = L.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = L.optim.lr_scheduler.StepLR(opt, 2, 0.5)
    crit = L.nn.CrossEntropyLoss()

    def train_step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def eval_step(x, y):
        with (L.no_grad() if mode == "no_grad" else L.inference_mode()):
            logits = model(x)
            return crit(logits, y), (logits.argmax(1) == y).sum()
    train_step, eval_step = run.compile(train_step), run.compile(eval_step)
    batches = data(run, 6)
    out = []
    for epoch in range(3):
        model.train()
        for x, y in batches[:4]:
            out.append(train_step(x, y).item())
            sched.step()
        model.eval()
        for x, y in batches[4:]:
            loss, correct = eval_step(x, y)
            assert not loss.requires_grad
            out.append((loss.item(), correct.item()))
    return out, snapshot(model, opt)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_train_and_eval_steps_alternate_without_recompiling(mode):
    # BatchNorm uses batch statistics in training and its running ones in eval: both steps
    # compiled, the scheduler stepped every train step, model.train()/eval() around them
    check(lambda run: train_eval(run, mode), {"train_step": 2, "eval_step": 1})


# ------------------------------------------------------------------ AMP
def amp_loop(run, overflow=(5,)):
    L = run.lib
    model = mlp(L)
    opt = L.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = L.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)

    def train_step(x, y):
        opt.zero_grad()
        with L.autocast("cpu", dtype=L.bfloat16):
            logits = model(x)
        loss = L.nn.functional.cross_entropy(logits.float(), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        norm = L.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        return loss, norm
    step = run.compile(train_step)
    batches = data(run, 4)
    out = []
    for i in range(10):
        x, y = batches[i % 4]
        if i in overflow:  # an overflowing batch: the scaler skips the step and backs off
            x = x.clone()
            x[0, 0] = float("inf")
        loss, norm = step(x, y)
        out.append((loss.item(), norm.item(), scaler.get_scale()))
    return out, snapshot(model, opt)


@pytest.mark.parametrize("overflow", [(5,), (0, 1, 6)])
def test_autocast_and_grad_scaler_inside_the_compiled_step(overflow):
    # torch.compile graph-breaks at scaler.step (it reads found_inf with .item()); jtorch traces the
    # skip as a select, so the whole step is one program. Skipped first steps (0, 1: no optimizer
    # state yet, which a select cannot un-create) run eagerly until a step made the state.
    # bfloat16: XLA fuses and rounds differently
    check(lambda run: amp_loop(run, overflow), 2, tol=2e-2)


def test_grad_scaler_misuse_raises_like_torch():
    def misuse(L, what):
        model = mlp(L)
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        scaler = L.amp.GradScaler("cpu")
        x = L.from_numpy(np.ones((2, 6), np.float32))
        if what == "update first":
            scaler.scale(model(x).sum())
            scaler.update()
        scaler.scale(model(x).sum()).backward()
        scaler.unscale_(opt)
        if what == "unscale twice":
            scaler.unscale_(opt)
        scaler.step(opt)
        if what == "step twice":
            scaler.step(opt)
        if what == "unscale after step":
            scaler.unscale_(opt)
        scaler.update()
        return scaler.state_dict()
    for what in ["update first", "unscale twice", "step twice", "unscale after step"]:
        errors = []
        for L in (real, torch):
            with pytest.raises((RuntimeError, AssertionError)) as e:
                misuse(L, what)
            errors.append(e.type)
        assert errors[0] is errors[1], what
    assert misuse(torch, "") == misuse(real, "")


# ------------------------------------------------------------------ optimizers and groups
@pytest.mark.parametrize("opt_name", ["sgd_nesterov", "adamw", "adam_wd"])
@pytest.mark.parametrize("set_to_none", [True, False])
def test_param_groups_optimizers_and_zero_grad(opt_name, set_to_none):
    def loop(run):
        L = run.lib
        model = mlp(L)
        groups = [{"params": model[0].parameters(), "lr": 0.03},
                  {"params": model[2].parameters(), "weight_decay": 0.05 if opt_name != "adam_wd" else 0.01}]
        opt = {"sgd_nesterov": lambda: L.optim.SGD(groups, lr=0.1, momentum=0.8, nesterov=True),
               "adamw": lambda: L.optim.AdamW(groups, lr=0.01),
               "adam_wd": lambda: L.optim.Adam(groups, lr=0.01)}[opt_name]()
        sched = L.optim.lr_scheduler.OneCycleLR(opt, [0.05, 0.2], total_steps=20)

        def train_step(x, y):
            opt.zero_grad(set_to_none=set_to_none)
            loss = L.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            norm = L.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            return loss, norm
        step = run.compile(train_step)
        out = []
        for i, (x, y) in enumerate(data(run, 8)):
            loss, norm = step(x, y)
            sched.step()  # lr (and momentum / betas) move every step
            out.append((loss.item(), norm.item()))
        return out, snapshot(model, opt)
    # set_to_none: grads None on the first compiled call, then set; OneCycleLR moves momentum/betas:
    # lifted after the first change (one retrace)
    check(loop, 3)


# ------------------------------------------------------------------ compiled modules
class Noisy:
    """A module whose forward branches on ``self.training`` (dropout plus an extra scaling)."""

    @staticmethod
    def make(L):
        class Net(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = mlp(L)
                self.drop = L.nn.Dropout(0.25)

            def forward(self, x):
                h = self.body[0](x).tanh()
                if self.training:
                    h = self.drop(h) * 0.9
                return self.body[2](h)
        return Net()


def module_training_flag(run):
    L = run.lib
    net = Noisy.make(L)
    cnet = run.compile(net)
    opt = L.optim.Adam(net.parameters(), lr=0.01)
    out = []
    for i, (x, y) in enumerate(data(run, 9)):
        if i % 3 == 2:
            net.eval()
            with L.no_grad():
                out.append(values(cnet(x)))
            net.train()
            continue
        opt.zero_grad()
        loss = L.nn.functional.cross_entropy(cnet(x), y)
        loss.backward()  # eagerly, through the compiled forward, into the original parameters
        opt.step()
        out.append(loss.item())
    return out, snapshot(net, opt)


def test_compiled_module_with_training_branch_and_dropout():
    # training and eval forwards: two programs (the training flag is guarded); dropout masks as eager
    check(module_training_flag, 2, torch_oracle=False)


def test_compiled_module_backward_outside_lands_in_the_original_parameters():
    def loop(run):
        L = run.lib
        model = mlp(L, bn=True)
        cm = run.compile(model)
        out = []
        for x, _ in data(run, 4):
            model.zero_grad()
            cm(x).sum().backward()
            out.append([values(p.grad) for p in model.parameters()])
        return out, snapshot(model)
    check(loop, 1)


# ------------------------------------------------------------------ what a step returns
def returns(run):
    L = run.lib
    model = mlp(L)
    opt = L.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        opt.zero_grad()
        logits = model(x)
        loss = L.nn.functional.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "stats": (logits.argmax(1), logits.std()), "n": x.shape[0],
                "lr": opt.param_groups[0]["lr"], "tag": "train"}
    step = run.compile(train_step)
    return [step(x, y) for x, y in data(run, 4)], snapshot(model, opt)


def test_a_step_returning_dicts_tuples_and_python_numbers():
    check(returns, 2)


# ------------------------------------------------------------------ shapes, seeds, state
def last_batch_smaller(run):
    L = run.lib
    model = mlp(L)
    opt = L.optim.Adam(model.parameters(), lr=0.01)

    def train_step(x, y):
        opt.zero_grad()
        loss = L.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step = run.compile(train_step)
    out = []
    for epoch in range(3):
        for x, y in data(run, sizes=[8, 8, 3]):
            out.append(step(x, y).item())
    return out, snapshot(model, opt)


def test_a_smaller_last_batch_compiles_once_then_both_shapes_are_cached():
    run = check(last_batch_smaller, 3)  # grads None, full batches, the last batch
    assert len(run.fns[0].entries) == 2


def seeded_dropout(run):
    L = run.lib
    model = mlp(L, dropout=0.4)
    opt = L.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        opt.zero_grad()
        loss = L.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step = run.compile(train_step)
    out = []
    for i, (x, y) in enumerate(data(run, 6)):
        L.manual_seed(i % 2)  # the same masks every other step, as eager draws them
        out.append(step(x, y).item())
    return out, snapshot(model, opt)


def test_manual_seed_between_compiled_calls_gives_eager_dropout_masks():
    check(seeded_dropout, 2, torch_oracle=False)


def reload_state(run):
    L = run.lib
    model = mlp(L)
    opt = L.optim.Adam(model.parameters(), lr=0.02)

    def train_step(x, y):
        opt.zero_grad()
        loss = L.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step = run.compile(train_step)
    batches = data(run, 3)
    out, saved = [], None
    for i in range(10):
        if i == 3:
            saved = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
        if i == 6:  # back to the checkpoint: the compiled program must see the loaded values
            model.load_state_dict(saved[0])
            opt.load_state_dict(saved[1])
        out.append(step(*batches[i % 3]).item())
    return out, snapshot(model, opt)


def test_load_state_dict_between_compiled_steps():
    check(reload_state, 2)


def freezing(run):
    L = run.lib
    model = mlp(L)
    opt = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def train_step(x, y):
        opt.zero_grad()
        loss = L.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step = run.compile(train_step)
    batches = data(run, 3)
    out = []
    for i in range(9):
        if i == 3:
            model[0].requires_grad_(False)  # freeze the first layer
        if i == 6:
            model[0].requires_grad_(True)
        out.append(step(*batches[i % 3]).item())
    return out, snapshot(model, opt)


def test_freezing_parameters_between_calls_recompiles_and_matches():
    # requires_grad is guarded, and so is which .grads are None (as torch guards both): the steady
    # program; frozen with the old grads still set; frozen with them None (zero_grad); unfrozen with
    # them None; then the steady program again, no new one
    check(freezing, 4)


def test_parameters_replaced_by_assign_between_calls_are_read():
    # load_state_dict(assign=True) puts new tensor objects in the module: the compiled function reads
    # them (its state is found again), as eager does
    def loop(run):
        L = run.lib
        model = mlp(L, bn=True)
        model.eval()
        f = run.compile(lambda x: model(x).sum())
        rng = np.random.default_rng(3)
        out = []
        for i, (x, _) in enumerate(data(run, 6)):
            if i == 3:
                new = {k: run.tensor((rng.standard_normal(tuple(v.shape)) * 0.3).astype(np.float32))
                       if v.is_floating_point() else v.clone() for k, v in model.state_dict().items()}
                model.load_state_dict(new, assign=True)
            out.append(f(x).item())
        return out, snapshot(model)
    check(loop, 2)


def test_submodule_replaced_between_calls_is_read():
    # ``model[2] = nn.Linear(...)`` replaces a submodule of a container holding no state of its own: the
    # compiled function reads the new layer (its state is found again), as eager does
    def loop(run):
        L = run.lib
        model = mlp(L)
        model.eval()
        f = run.compile(lambda x: model(x).sum())
        rng = np.random.default_rng(4)
        out = []
        for i, (x, _) in enumerate(data(run, 6)):
            if i == 3:
                old = model[-1]
                new = L.nn.Linear(old.in_features, old.out_features)
                with L.no_grad():
                    for p in new.parameters():
                        p.copy_(run.tensor((rng.standard_normal(tuple(p.shape)) * 0.3).astype(np.float32)))
                model[-1] = new
            out.append(f(x).item())
        return out, snapshot(model)
    check(loop, 2)
