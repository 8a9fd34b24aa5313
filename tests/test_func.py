"""jtorch.func against torch.func on the same functions and modules."""
import jax
import numpy as np
import optax
import pytest
import torch

import jtorch
import jtorch.nn as jnn
from jtorch import func as jfunc
from helpers import assert_close, both


def f_scalar(lib):
    return lambda x, y: (x.sin() * y).sum() + (x * x).mean()


def f_vec(lib):
    return lambda x, y: x.exp() * y + x.sum()


def test_grad_and_grad_and_value(rng):
    tx, jx = both(rng.standard_normal(4).astype(np.float32))
    ty, jy = both(rng.standard_normal(4).astype(np.float32))
    for argnums in (0, 1, (0, 1)):
        assert_close(jfunc.grad(f_scalar(jtorch), argnums)(jx, jy),
                     torch.func.grad(f_scalar(torch), argnums)(tx, ty))
        jg, jv = jfunc.grad_and_value(f_scalar(jtorch), argnums)(jx, jy)
        tg, tv = torch.func.grad_and_value(f_scalar(torch), argnums)(tx, ty)
        assert_close(jg, tg)
        assert_close(jv, tv)

    def aux(lib):
        return lambda x: ((x ** 3).sum(), {"double": x * 2})
    jg, ja = jfunc.grad(aux(jtorch), has_aux=True)(jx)
    tg, ta = torch.func.grad(aux(torch), has_aux=True)(tx)
    assert_close(jg, tg)
    assert_close(ja["double"], ta["double"])
    jg, (jv, ja) = jfunc.grad_and_value(aux(jtorch), has_aux=True)(jx)
    tg, (tv, ta) = torch.func.grad_and_value(aux(torch), has_aux=True)(tx)
    assert_close(jv, tv)
    assert_close(ja["double"], ta["double"])
    # second order through nesting
    assert_close(jfunc.grad(jfunc.grad(lambda x: x.sin() * x))(jx[0]),
                 torch.func.grad(torch.func.grad(lambda x: x.sin() * x))(tx[0]))
    for lib, fn, x in ((torch, torch.func, tx), (jtorch, jfunc, jx)):
        with pytest.raises(RuntimeError, match="scalar Tensor"):
            fn.grad(lambda x: x * 2)(x)
        with pytest.raises(RuntimeError, match="positional inputs"):
            fn.grad(f_scalar(lib), argnums=2)(x, x)
    # the tape is untouched: nothing requires grad afterwards
    assert not jx.requires_grad and jx.grad is None


def test_vjp_jvp_linearize(rng):
    tx, jx = both(rng.standard_normal(3).astype(np.float32))
    ty, jy = both(rng.standard_normal(3).astype(np.float32))
    tc, jc = both(rng.standard_normal(3).astype(np.float32))
    jo, jfn = jfunc.vjp(f_vec(jtorch), jx, jy)
    to, tfn = torch.func.vjp(f_vec(torch), tx, ty)
    assert_close(jo, to)
    assert_close(jfn(jc), tfn(tc))
    jo, jfn, jaux = jfunc.vjp(lambda x: (x.cos(), x.sum()), jx, has_aux=True)
    to, tfn, taux = torch.func.vjp(lambda x: (x.cos(), x.sum()), tx, has_aux=True)
    assert_close(jfn(jc), tfn(tc))
    assert_close(jaux, taux)
    assert_close(jfunc.jvp(f_vec(jtorch), (jx, jy), (jc, jc)), torch.func.jvp(f_vec(torch), (tx, ty), (tc, tc)))
    assert_close(jfunc.jvp(lambda x: (x.tanh(), x * 3), (jx,), (jc,), has_aux=True),
                 torch.func.jvp(lambda x: (x.tanh(), x * 3), (tx,), (tc,), has_aux=True))
    jo, jl = jfunc.linearize(lambda x: x.sin() * x, jx)
    to, tl = torch.func.linearize(lambda x: x.sin() * x, tx)
    assert_close(jo, to)
    assert_close(jl(jc), tl(tc))
    for fn, x in ((torch.func, tx), (jfunc, jx)):
        with pytest.raises(RuntimeError, match="primals to be a tuple"):
            fn.jvp(lambda x: x, [x], [x])


def test_jacobians_and_hessian(rng):
    tx, jx = both(rng.standard_normal(3).astype(np.float64))
    ty, jy = both(rng.standard_normal(3).astype(np.float64))
    for argnums in (0, (0, 1)):
        assert_close(jfunc.jacrev(f_vec(jtorch), argnums)(jx, jy), torch.func.jacrev(f_vec(torch), argnums)(tx, ty))
        assert_close(jfunc.jacfwd(f_vec(jtorch), argnums)(jx, jy), torch.func.jacfwd(f_vec(torch), argnums)(tx, ty))
    assert_close(jfunc.hessian(f_scalar(jtorch))(jx, jy), torch.func.hessian(f_scalar(torch))(tx, ty))
    assert_close(jfunc.hessian(f_scalar(jtorch), argnums=(0, 1))(jx, jy),
                 torch.func.hessian(f_scalar(torch), argnums=(0, 1))(tx, ty))
    jj, ja = jfunc.jacrev(lambda x: (x.sin(), x.sum()), has_aux=True)(jx)
    tj, ta = torch.func.jacrev(lambda x: (x.sin(), x.sum()), has_aux=True)(tx)
    assert_close(jj, tj)
    assert_close(ja, ta)


def test_vmap(rng):
    tx, jx = both(rng.standard_normal((5, 3)).astype(np.float32))
    ty, jy = both(rng.standard_normal(3).astype(np.float32))
    tz, jz = both(rng.standard_normal((3, 5)).astype(np.float32))

    def dot(lib):
        return lambda a, b: (a * b).sum()
    assert_close(jfunc.vmap(dot(jtorch), in_dims=(0, None))(jx, jy),
                 torch.func.vmap(dot(torch), in_dims=(0, None))(tx, ty))
    assert_close(jfunc.vmap(dot(jtorch), in_dims=(0, 1))(jx, jz), torch.func.vmap(dot(torch), in_dims=(0, 1))(tx, tz))
    assert_close(jfunc.vmap(lambda a: a.cumsum(0), out_dims=1)(jx), torch.func.vmap(lambda a: a.cumsum(0), out_dims=1)(tx))
    # nested vmap: an outer product
    assert_close(jfunc.vmap(jfunc.vmap(lambda a, b: a * b, (None, 0)), (0, None))(jx[:, 0], jy),
                 torch.func.vmap(torch.func.vmap(lambda a, b: a * b, (None, 0)), (0, None))(tx[:, 0], ty))
    # per-sample gradients: vmap over grad
    loss = lambda w, x: (w * x).sin().sum()  # noqa: E731
    assert_close(jfunc.vmap(jfunc.grad(loss), in_dims=(None, 0))(jy, jx),
                 torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0))(ty, tx))
    assert_close(jfunc.vmap(dot(jtorch), in_dims=(0, None), chunk_size=2)(jx, jy),
                 torch.func.vmap(dot(torch), in_dims=(0, None), chunk_size=2)(tx, ty))
    # randomness: error / same / different, like torch
    for lib, fn, x in ((torch, torch.func, tx), (jtorch, jfunc, jx)):
        noisy = lambda a: a + lib.rand(())  # noqa: E731
        with pytest.raises(RuntimeError, match="randomness"):
            fn.vmap(noisy)(x)
        same = fn.vmap(noisy, randomness="same")(x) - x
        diff = fn.vmap(noisy, randomness="different")(x) - x
        assert same.shape == diff.shape == x.shape
        assert float((same - same[0, 0]).abs().max()) < 1e-5
        assert float((diff[:, 0] - diff[0, 0]).abs().max()) > 1e-3
        with pytest.raises(ValueError):
            fn.vmap(dot(lib), in_dims=(0,))(x, x)


def _mlp_pair(rng):
    """The same small MLP in torch and jtorch (jtorch's weights copied from torch's)."""
    torch.manual_seed(int(rng.integers(1000)))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    jm = jnn.Sequential(jnn.Linear(3, 5), jnn.Tanh(), jnn.Linear(5, 2))
    jm.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, jm


def test_functional_call_matches_torch(rng):
    tm, jm = _mlp_pair(rng)
    tx, jx = both(rng.standard_normal((4, 3)).astype(np.float32))
    new = {k: rng.standard_normal(tuple(v.shape)).astype(np.float32) for k, v in tm.state_dict().items()}
    tnew = {k: torch.tensor(v) for k, v in new.items()}
    jnew = {k: jtorch.tensor(v) for k, v in new.items()}
    assert_close(jfunc.functional_call(jm, jnew, (jx,)), torch.func.functional_call(tm, tnew, (tx,)))
    # a tuple of dicts, and args given bare
    half = len(new) // 2
    keys = list(new)
    assert_close(jfunc.functional_call(jm, ({k: jnew[k] for k in keys[:half]}, {k: jnew[k] for k in keys[half:]}), jx),
                 torch.func.functional_call(tm, tnew, tx))
    # the module's own parameters are back afterwards
    assert_close(jm(jx), tm(tx))
    # gradients with respect to the given parameters
    def loss(lib, fn, m):
        return lambda p, x: fn.functional_call(m, p, (x,)).pow(2).sum()
    jg = jfunc.grad(loss(jtorch, jfunc, jm))(jnew, jx)
    tg = torch.func.grad(loss(torch, torch.func, tm))(tnew, tx)
    assert sorted(jg) == sorted(tg)
    for k in tg:
        assert_close(jg[k], tg[k], rtol=1e-4, atol=1e-5)
    # torch's errors
    for fn, m, p, x in ((torch.func, tm, tnew, tx), (jfunc, jm, jnew, jx)):
        with pytest.raises(RuntimeError, match="Missing key"):
            fn.functional_call(m, {"0.weight": p["0.weight"]}, (x,), strict=True)
        with pytest.raises(ValueError, match="multiple dictionaries"):
            fn.functional_call(m, (p, {"0.weight": p["0.weight"]}), (x,))


def test_functional_call_restores_on_error_and_ties_weights(rng):
    tm, jm = _mlp_pair(rng)
    before = {k: v.clone() for k, v in jm.state_dict().items()}
    with pytest.raises(RuntimeError):
        jfunc.functional_call(jm, {"0.weight": jtorch.ones(5, 3)}, (jtorch.ones(4, 7),))
    for k, v in jm.state_dict().items():
        assert v is not None and bool((v == before[k]).all()), k
    assert jm[0].weight is dict(jm.named_parameters())["0.weight"]

    class Tied(jnn.Module):
        def __init__(self):
            super().__init__()
            self.a = jnn.Linear(2, 2, bias=False)
            self.b = jnn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    class TTied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(2, 2, bias=False)
            self.b = torch.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))
    w = rng.standard_normal((2, 2)).astype(np.float32)
    tx, jx = both(rng.standard_normal((3, 2)).astype(np.float32))
    for tie in (True, False):
        assert_close(jfunc.functional_call(Tied(), {"a.weight": jtorch.tensor(w)}, (jx,), tie_weights=tie)
                     if tie else jfunc.functional_call(Tied(), {"a.weight": jtorch.tensor(w), "b.weight": jtorch.tensor(w)},
                                                       (jx,), tie_weights=False),
                     torch.func.functional_call(TTied(), {"a.weight": torch.tensor(w)}, (tx,), tie_weights=tie)
                     if tie else torch.func.functional_call(TTied(), {"a.weight": torch.tensor(w),
                                                                      "b.weight": torch.tensor(w)}, (tx,),
                                                            tie_weights=False))


def test_model_ensembling_with_stack_module_state(rng):
    pairs = [_mlp_pair(rng) for _ in range(3)]
    tx, jx = both(rng.standard_normal((4, 3)).astype(np.float32))
    tp, tb = torch.func.stack_module_state([t for t, _ in pairs])
    jp, jb = jfunc.stack_module_state([j for _, j in pairs])
    assert sorted(tp) == sorted(jp)
    for k in tp:
        assert_close(jp[k], tp[k])
        assert jp[k].requires_grad == tp[k].requires_grad
    tbase, jbase = pairs[0]
    tout = torch.func.vmap(lambda p, b, x: torch.func.functional_call(tbase, (p, b), (x,)), (0, 0, None))(tp, tb, tx)
    jout = jfunc.vmap(lambda p, b, x: jfunc.functional_call(jbase, (p, b), (x,)), (0, 0, None))(jp, jb, jx)
    assert_close(jout, tout)


def test_module_as_pure_jax_function_with_optax(rng):
    tm, jm = _mlp_pair(rng)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    apply, params = jfunc.module_function(jm)
    assert sorted(params) == sorted(dict(tm.named_parameters()))

    def loss(p, xb, yb):
        return ((apply(p, xb) - yb) ** 2).mean()
    opt = optax.sgd(0.1)
    state = opt.init(params)

    @jax.jit
    def step(p, s, xb, yb):
        value, g = jax.value_and_grad(loss)(p, xb, yb)
        updates, s = opt.update(g, s)
        return optax.apply_updates(p, updates), s, value, g

    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(3):
        params, state, value, g = step(params, state, x, y)
        topt.zero_grad()
        tloss = ((tm(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        tloss.backward()
        np.testing.assert_allclose(float(value), tloss.item(), rtol=1e-5)
        for k, p in tm.named_parameters():
            np.testing.assert_allclose(np.asarray(g[k]), p.grad.numpy(), rtol=1e-4, atol=1e-6)
        topt.step()
    for k, p in tm.named_parameters():
        np.testing.assert_allclose(np.asarray(params[k]), p.detach().numpy(), rtol=1e-4, atol=1e-6)
    # the module itself was not modified by the pure function
    assert not np.allclose(np.asarray(jm[0].weight.detach()), np.asarray(params["0.weight"]))


def test_functionalize_and_batch_norm_replacement(rng):
    tx, jx = both(rng.standard_normal((4, 3)).astype(np.float32))

    def f(x):
        y = x.clone()
        y.add_(1)
        return y * 2
    assert_close(jfunc.functionalize(f)(jx), torch.func.functionalize(f)(tx))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    jm = jnn.Sequential(jnn.Linear(3, 3), jnn.BatchNorm1d(3))
    torch.func.replace_all_batch_norm_modules_(tm)
    jfunc.replace_all_batch_norm_modules_(jm)
    for m in (tm[1], jm[1]):
        assert m.running_mean is None and m.running_var is None and not m.track_running_stats
    jm.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    assert_close(jm(jx), tm(tx), rtol=1e-4, atol=1e-5)


def test_dict_trees_keep_their_key_order():
    """JAX sorts a plain dict's keys; torch.func keeps the order of the dict it was given, and code
    zips grad(f)(params) with params.items()."""
    for m in (torch, jtorch):
        m.manual_seed(0)
    rng = np.random.default_rng(0)
    w = {k: rng.standard_normal(s).astype(np.float32) for k, s in
         [("z.weight", (2, 3)), ("a.bias", (2,)), ("m.scale", (1,))]}
    x = rng.standard_normal((4, 3)).astype(np.float32)

    def loss(mod, p, x):
        return ((x @ p["z.weight"].T + p["a.bias"]) * p["m.scale"]).pow(2).sum()

    res = {}
    for mod in (torch, jtorch):
        p = {k: mod.tensor(v) for k, v in w.items()}
        X = mod.tensor(x)
        g = mod.func.grad(lambda p: loss(mod, p, X))(p)
        j = mod.func.jacrev(lambda p: loss(mod, p, X))(p)
        _, pull = mod.func.vjp(lambda p: loss(mod, p, X), p)
        out = mod.func.vmap(lambda d: {"y": d["b"] * 2, "c": d["a"] + 1}, in_dims=({"b": 0, "a": 0},))(
            {"a": mod.tensor(x[0]), "b": mod.tensor(x[1])})
        res[mod] = (g, j, pull(mod.tensor(1.0))[0], out)
    for jt, tt in zip(res[jtorch], res[torch]):
        assert list(jt) == list(tt)
        for k in tt:
            assert_close(jt[k], tt[k], rtol=1e-5, atol=1e-5)


def test_vmap_output_backpropagates_to_its_inputs(rng):
    """A loss of vmap's outputs reaches the tensors passed in (model ensembling trained through
    stack_module_state's parameters), with dict outputs, in_dims None, and no graph under no_grad."""
    w = rng.standard_normal((3, 4, 5)).astype(np.float32)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    res = []
    for m in (torch, jtorch):
        W, X, B = m.tensor(w, requires_grad=True), m.tensor(x), m.tensor(b, requires_grad=True)

        def f(w, x, b):
            return {"y": m.tanh(x @ w.T + b), "s": (w * w).sum(), "n": (x > 0).sum()}

        out = m.func.vmap(f, in_dims=(0, None, None))(W, X, B)
        (out["y"].pow(2).sum() + out["s"].sum()).backward()
        with m.no_grad():
            no_graph = m.func.vmap(f, in_dims=(0, None, None))(W, X, B)["y"].requires_grad
        res.append((out["y"], out["n"], W.grad, B.grad, out["y"].requires_grad, no_graph))
    for a, b_ in zip(res[1], res[0]):
        if isinstance(b_, bool):
            assert a == b_
        else:
            assert_close(a, b_, atol=1e-5)
