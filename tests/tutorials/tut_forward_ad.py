"""Forward-mode AD tutorial: dual tensors (make_dual / unpack_dual in a dual_level) through plain
functions, views and in-place ops, a module's parameters made dual (by setattr and through
functional_call), directional derivatives checked against backward-mode Jacobians; torch.func.jvp
against jacfwd/jacrev, linearize, a Hessian-vector product as forward-over-reverse, and jacfwd under
vmap for per-sample Jacobians."""
import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, hessian, jacfwd, jacrev, jvp, linearize, vmap

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)


def fn(x, y):
    return x ** 2 + y ** 2


primal = torch.from_numpy(rng.randn(10, 10).astype(np.float32))
tangent = torch.from_numpy(rng.randn(10, 10).astype(np.float32))
y = torch.from_numpy(rng.randn(10, 10).astype(np.float32))

# 1. basics: the tangent of fn's output is the directional derivative along `tangent`
with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    assert fwAD.unpack_dual(dual_input).tangent is tangent
    # a tensor that is not dual has no tangent
    assert fwAD.unpack_dual(y).tangent is None
    dual_output = fn(dual_input, y)
    jvp_out = fwAD.unpack_dual(dual_output).tangent
    record("basic_primal", fwAD.unpack_dual(dual_output).primal)
    record("basic_tangent", jvp_out)
    record("basic_expected", 2 * primal * tangent)
print("unpacked is a namedtuple:", fwAD.unpack_dual(primal)._fields)

# 2. a longer chain: pointwise, reductions, matmul, views, indexing, cat, in-place
W = torch.from_numpy(rng.randn(10, 6).astype(np.float32))


def chain(x):
    h = torch.tanh(x @ W) * torch.sigmoid(x[:, :6])
    h = h.view(5, 12).t().contiguous()
    z = torch.cat([h.exp(), h.sin().unsqueeze(0).squeeze(0)], dim=0)
    z = z.clone()
    z.mul_(2.0)
    z[0] = z[0] + z[1]
    return F.softmax(z, dim=1).log().sum(0) + z.norm() + z.max(dim=1).values.mean()


with fwAD.dual_level():
    out = chain(fwAD.make_dual(primal, tangent))
    record("chain_primal", fwAD.unpack_dual(out).primal)
    record("chain_tangent", fwAD.unpack_dual(out).tangent)
# the same directional derivative from backward mode: J @ v
J = torch.autograd.functional.jacobian(chain, primal)
record("chain_from_jacobian", (J.reshape(J.shape[0], -1) @ tangent.reshape(-1)))

# 3. modules: parameters made dual by replacing them
model = np_params(nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 3)), 1)
inp = torch.from_numpy(rng.randn(16, 5).astype(np.float32))
params = {name: p for name, p in model.named_parameters()}
tangents = {name: torch.from_numpy(rng.randn(*p.shape).astype(np.float32)) for name, p in params.items()}

with fwAD.dual_level():
    for name, p in params.items():
        mod_name, attr = name.rsplit(".", 1)
        mod = model.get_submodule(mod_name)
        delattr(mod, attr)
        setattr(mod, attr, fwAD.make_dual(p, tangents[name]))
    out = model(inp)
    jvp_setattr = fwAD.unpack_dual(out).tangent
record("module_jvp_setattr", jvp_setattr)
# restore the parameters
for name, p in params.items():
    mod_name, attr = name.rsplit(".", 1)
    mod = model.get_submodule(mod_name)
    delattr(mod, attr)
    mod.register_parameter(attr, p)

# the same through functional_call
with fwAD.dual_level():
    dual_params = {name: fwAD.make_dual(p, tangents[name]) for name, p in params.items()}
    out = functional_call(model, dual_params, (inp,))
    record("module_jvp_functional", fwAD.unpack_dual(out).tangent)


# and through torch.func.jvp over the parameters
def model_of_params(p):
    return functional_call(model, p, (inp,))


out, jt = jvp(model_of_params, (params,), (tangents,))
record("module_jvp_func", jt)
record("module_out", out)

# 4. torch.func: jvp vs jacfwd vs jacrev, linearize, forward-over-reverse
x = torch.from_numpy(rng.randn(7).astype(np.float32))
v = torch.from_numpy(rng.randn(7).astype(np.float32))


def f(x):
    return torch.stack([x.sin().sum(), (x ** 3).prod(), x.logsumexp(0), (x[:-1] * x[1:]).sum()])


_, jvp_val = jvp(f, (x,), (v,))
record("func_jvp", jvp_val)
record("func_jacfwd_v", jacfwd(f)(x) @ v)
record("func_jacrev_v", jacrev(f)(x) @ v)
out_lin, jvp_fn = linearize(f, x)
record("linearize", (out_lin, jvp_fn(v)))


def loss(x):
    return (x.sin() * x.cos().exp()).sum()


# Hessian-vector product: forward-mode over the reverse-mode gradient
_, hvp = jvp(torch.func.grad(loss), (x,), (v,))
record("hvp", hvp)
record("hvp_from_hessian", hessian(loss)(x) @ v)

# per-sample Jacobians with jacfwd under vmap (wide inputs: forward mode is the cheaper one)
lin = np_params(nn.Linear(7, 3), 2)


def predict(weight, bias, xs):
    return torch.tanh(F.linear(xs, weight, bias))


xs = torch.from_numpy(rng.randn(4, 7).astype(np.float32))
jac_w = vmap(jacfwd(predict, argnums=2), in_dims=(None, None, 0))(lin.weight, lin.bias, xs)
jac_r = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(lin.weight, lin.bias, xs)
record("per_sample_jacfwd", jac_w)
record("per_sample_jacrev", jac_r)
print("per-sample Jacobian shape:", tuple(jac_w.shape))

# 5. gradients still flow backward through a computation that carried tangents
a = torch.from_numpy(rng.randn(5).astype(np.float32)).requires_grad_()
with fwAD.dual_level():
    d = fwAD.make_dual(a, torch.ones(5))
    o = (d.exp() * d).sum()
    p_, t_ = fwAD.unpack_dual(o)
    (p_ + t_).backward()
record("backward_through_dual", a.grad)
finish()
