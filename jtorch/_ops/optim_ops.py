"""Optimizer update rules: one jitted, pure function per optimizer over a whole param group.

Each kernel takes lists of arrays (params, grads, state) and a dict of hyper-parameters
(traced scalars, so changing ``lr`` never recompiles) and returns the new arrays; structural
options (maximize, amsgrad, nesterov, ...) are static. ``run`` writes the results back into
the same tensor objects (``_set_array``), so optimizer state keeps its identity and
``jtorch.compile`` can trace a whole training step including ``optimizer.step()``. With
``differentiable=True``, ``run_differentiable`` records the same rule as one autograd op instead.

The arithmetic follows torch's single-tensor CPU path operation by operation (same
scalar rounding: scalars torch computes in Python doubles are computed here in float64,
then cast to the tensor's dtype where torch passes them to a kernel).
"""
import functools
import sys

import jax
import jax.numpy as jnp

from .. import _lazy
from .._meta import MetaArgument
from .._symbolic import _SymNumber
from .pointwise import _clamp

F64 = jnp.float64


def _c(x, ref):
    """A scalar cast to ``ref``'s dtype, like torch passing a Python scalar to a kernel."""
    return jnp.asarray(x, F64).astype(ref.dtype)


def _lerp(a, b, w):
    # torch's lerp kernel: two formulas depending on the weight, for accuracy near 1
    w = _c(w, a)
    return jnp.where(jnp.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


def _grad(g, p, hp, maximize, wd):
    g = -g if maximize else g
    if wd:
        g = g + _c(hp["weight_decay"], p) * p
    return g


def _step(s):
    """New step count and its value as a float64 scalar (torch's ``_get_value(step)``)."""
    s = s + 1
    return s, s.astype(F64)


_KERNELS = {}
_DONATING = {}
_RULES = {}    # name -> the update rule unjitted (differentiable=True records it as one op)
_WRITTEN = {}  # (name, input keys, statics) -> the keys the kernel returns (the state it overwrites)


_LOW = (jnp.bfloat16, jnp.float16)


def _as_real(x):
    return jnp.stack([x.real, x.imag], -1) if jnp.iscomplexobj(x) else x


def _from_real(y, dt):
    if jnp.issubdtype(dt, jnp.complexfloating):
        return jax.lax.complex(y[..., 0], y[..., 1]).astype(dt)
    return y.astype(dt)


def kernel(*statics):
    """Declare ``fn(arrays: dict[str, list], hp: dict, **statics) -> dict[str, list]``.

    Half-precision tensors are updated in float32 and rounded back, as torch computes its
    half-precision kernels in float32 (a scalar such as momentum=0.9 is not rounded to bfloat16).
    Complex tensors are updated as real tensors with a trailing (real, imag) axis, as torch's
    kernels do through ``view_as_real``: second moments and signs are taken per component."""
    def deco(fn):
        @functools.wraps(fn)
        def upcast(a, hp, **st):
            dts = {k: [x.dtype for x in v] for k, v in a.items()}
            a = {k: [_as_real(x).astype(jnp.float32) if x.dtype in _LOW else _as_real(x) for x in v]
                 for k, v in a.items()}
            out = fn(a, hp, **st)
            return {k: [_from_real(y, dt) for y, dt in zip(v, dts[k])] for k, v in out.items()}
        _RULES[fn.__name__] = upcast
        _KERNELS[fn.__name__] = jax.jit(upcast, static_argnames=statics)

        # eager steps donate the state they overwrite (see ``run``): the same kernel over
        # (written arrays, read-only arrays), the first argument donated so XLA updates in place
        def split(w, r, hp, **st):
            return upcast({**w, **r}, hp, **st)
        _DONATING[fn.__name__] = jax.jit(split, static_argnames=statics, donate_argnums=0)
        return fn
    return deco


def _hyper(v):
    # tensors give their arrays; jax values stay traced (jtorch.compile lifts ``lr``), and so do the
    # symbolic numbers it traces (``g["lr"] = lr`` with ``lr`` a SymFloat argument)
    if isinstance(v, (list, tuple)):
        return [_hyper(x) for x in v]
    if isinstance(v, _SymNumber):
        return v.node
    return v._value if hasattr(v, "_value") else v if isinstance(v, jax.Array) else float(v)


def run(name, tensors, hp, **statics):
    """Apply kernel ``name`` to ``tensors`` (dict of lists of Tensors) and write the results
    back in place. Hyper-parameters may be Python numbers or 0-dim tensors."""
    if _lazy._CUR[0].nodes:
        _lazy.flush()  # pending ops may read the parameters: compute them, so the state can be donated
    hp = {k: _hyper(v) for k, v in hp.items()}
    # keyed by list lengths too: a kernel returns a state list only when it got a non-empty one
    key = (name, tuple((k, len(v)) for k, v in tensors.items()), tuple(sorted(statics.items())))
    written = _WRITTEN.get(key)
    try:
        _run(name, tensors, hp, statics, key, written)
    except MetaArgument:
        # meta parameters (a model built on the meta device): nothing to update, as torch's meta
        # kernels; a group mixing meta and real tensors is torch's device error
        _meta_devices(tensors)


def _buffers(hp, ref):
    """The hyper-parameters' Python numbers as reusable device buffers on ``ref``'s device: jit would
    send each number to the device at every step (~90 us each on a GPU machine)."""
    from .. import _dispatch

    def conv(xs):
        return _dispatch._device_scalars([ref, *xs])[1:]
    return {k: conv(v) if isinstance(v, list) else conv([v])[0] for k, v in hp.items()}


def _meta_devices(tensors):
    devs = {t.device for v in tensors.values() for t in v if t.numel() and t.ndim}
    if len(devs) > 1:
        a, b = sorted(devs, key=str)
        raise RuntimeError(f"Tensor on device {a} is not on the expected device {b}!")


def _run(name, tensors, hp, statics, key, written):
    from .. import _dispatch
    if _dispatch.TRACE is None:  # eagerly: the numbers as the cached buffers eager ops use
        hp = _buffers(hp, next((v[0]._value for v in tensors.values() if v), None))
    if written is not None and _donatable(tensors, written):
        # every overwritten array is held by its storage alone: XLA may update it in place
        # (what torch's in-place foreach kernels do), saving an allocation and a copy per state
        w = {k: [t._st.array for t in tensors[k]] for k in written}
        r = {k: [t._value for t in v] for k, v in tensors.items() if k not in written}
        out = _DONATING[name](w, r, hp, **statics)
    else:
        arrays = {k: [t._value for t in v] for k, v in tensors.items()}
        out = _KERNELS[name](arrays, hp, **statics)
        if all(k in tensors for k in out):
            _WRITTEN[key] = tuple(out)
    for k, new in out.items():
        for t, a in zip(tensors[k], new):
            t._set_array(a)


def _donatable(tensors, written):
    from .. import _dispatch
    if _dispatch.TRACE is not None:
        return False
    seen = set()
    for k in written:
        for t in tensors[k]:
            st = t._st
            # 2 references: the storage's and getrefcount's argument (a view, a host-shared
            # buffer, a saved tensor of a retained graph or a user's handle all keep it)
            if t._vfn or st.host is not None or sys.getrefcount(st.array) > 2 or id(st) in seen:
                return False
            seen.add(id(st))
    # a read-only input sharing a donated storage (e.g. ``p.grad = p.data``) would read a freed buffer
    return not any(id(t._st) in seen for k, v in tensors.items() if k not in written for t in v)


# ---------------------------------------------------------------- differentiable=True
def run_differentiable(name, tensors, hp, **statics):
    """``run`` for ``differentiable=True``: update rule ``name`` is recorded in autograd as one op over the
    group's tensors and hyper-parameters (its backward is the rule's own VJP, itself an op, so gradients of
    any order flow to parameters, gradients, state and tensor hyper-parameters), and its results are
    copied into the same tensors in place, recorded as torch records its in-place updates. The values
    are ``run``'s; with nothing requiring grad it is ``run``."""
    from .. import _dispatch
    T = _dispatch.Tensor
    leaves, tree = jax.tree_util.tree_flatten((tensors, hp))
    diff = tuple(isinstance(x, T) and x.requires_grad for x in leaves)
    if not (_dispatch.GRAD.enabled and any(diff)):
        return run(name, tensors, hp, **statics)
    leaves = [x if isinstance(x, T) else _hyper(x) for x in leaves]
    statics = tuple(sorted(statics.items()))
    outs, reach = _dependence(name, tree, statics, leaves)
    grad_mask = sum(1 << i for i, d in enumerate(diff) if d)
    # an output computed without the inputs that require grad (the step count) stays out of the graph
    recorded = [bool(r & grad_mask) for r in reach]
    for k, i in outs:
        t = tensors[k][i]
        if t.is_leaf and t.requires_grad:  # (checked before anything is written)
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    try:
        res = _dispatch.apply(_recorded_op(name, tree, statics, reach), leaves, ())
    except MetaArgument:
        return _meta_devices(tensors)
    node = next((new.grad_fn for rec, new in zip(recorded, res) if rec), None)
    if node is not None:
        # the inputs' values are kept by the node (jax arrays do not change), and the step writes some of them
        # in place right below: no version checks on them (see _keep_like_torch for torch's)
        node.versions = []
    for (k, i), rec, new in zip(outs, recorded, res):
        tensors[k][i].copy_(new if rec else new.detach())
    _keep_like_torch(name, dict(statics), tensors, hp, node)


_RECORDED_OPS = {}
_DEPENDENCE = {}


def _recorded_op(name, tree, statics, reach):
    """The rule as one op over the flattened (tensors, hp); ``reach``: per output, the mask of inputs it is
    computed from (_dependence)."""
    op = _RECORDED_OPS.get((name, tree, statics, reach))
    if op is None:
        from .. import _dispatch
        rule, kw = _RULES[name], dict(statics)

        def step(*leaves):
            tensors, hp = jax.tree_util.tree_unflatten(tree, leaves)
            return tuple(jax.tree_util.tree_leaves(rule(tensors, hp, **kw)))  # (keys in sorted order)
        op = _dispatch.OpDef.raw(step, name + "_step", tree.num_leaves)

        def unreached(statics, saved, grads):
            # torch's step is many small ops: an input that no output with a gradient is computed from gets
            # no gradient (None), not the zeros of this one op's VJP
            used = 0
            for r, g in zip(reach, grads):
                if g is not None:
                    used |= r
            return {i for i in range(len(saved)) if not used >> i & 1}
        op.undefined_grad = unreached
        _RECORDED_OPS[(name, tree, statics, reach)] = op
    return op


def _dependence(name, tree, statics, leaves):
    """The rule's outputs as (key, index) in the op's order, and per output the mask of the inputs (leaf
    positions) it is computed from as torch's ``requires_grad`` flows: through every op but ``detach`` (here
    stop_gradient), never to integer or bool values. Read from the rule's jaxpr."""
    from .._dispatch import Tensor
    avals = tuple(jax.ShapeDtypeStruct(tuple(x.shape), x.dtype.np) if isinstance(x, Tensor)
                  else x if isinstance(x, float) else jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))
                  for x in leaves)
    key = (name, tree, statics, tuple(a if isinstance(a, float) else (a.shape, a.dtype) for a in avals))
    hit = _DEPENDENCE.get(key)
    if hit is None:
        rule = _RULES[name]
        closed, shapes = jax.make_jaxpr(lambda *xs: rule(*jax.tree_util.tree_unflatten(tree, xs), **dict(statics)),
                                        return_shape=True)(*avals)
        outs = [(k, i) for k in sorted(shapes) for i in range(len(shapes[k]))]  # (the op's order: tree_leaves)
        reach = _reach(closed.jaxpr, [1 << i for i in range(len(avals))])
        hit = _DEPENDENCE[key] = (outs, tuple(reach))
    return hit


_CALLS = {"pjit": "jaxpr", "jit": "jaxpr", "closed_call": "call_jaxpr", "custom_jvp_call": "call_jaxpr",
          "checkpoint": "jaxpr", "remat": "jaxpr"}  # primitives that call a program once: name -> its param


def _reach(jaxpr, masks):
    """Per output of ``jaxpr``, the union of the masks of the inputs it is computed from (see _dependence);
    calls are looked into, loops and branches taken whole."""
    from jax.extend.core import Literal
    env = dict(zip(jaxpr.invars, masks))

    def read(v):
        return 0 if isinstance(v, Literal) else env.get(v, 0)
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        inner = eqn.params.get(_CALLS[name]) if name in _CALLS else None
        inner = getattr(inner, "jaxpr", inner)  # (a ClosedJaxpr's)
        if name == "stop_gradient":
            outs = [0] * len(eqn.outvars)
        elif inner is not None and len(inner.invars) == len(ins) and len(inner.outvars) == len(eqn.outvars):
            outs = _reach(inner, ins)
        else:
            m = 0
            for x in ins:
                m |= x
            outs = [m] * len(eqn.outvars)
        for v, m in zip(eqn.outvars, outs):
            env[v] = m if jnp.issubdtype(v.aval.dtype, jnp.inexact) else 0
    return [read(v) for v in jaxpr.outvars]


# torch's differentiable steps keep some of the new state in their graph (an input of a later op: ``keeps``)
# and update it in place at the next step, so a backward through two steps raises torch's in-place error.
# Per rule and options: (keeps, the tensors or hyper-parameters whose requiring grad makes torch record that op).
# (Not derived from the rule's jaxpr like _dependence: what torch saves follows its op-by-op spelling of the step
# (addcdiv_ against mul then div, a lerp weight, sqrt keeping its result) and each op's saving conventions, none
# of which the fused rule shows; a derivation would need that same knowledge as a per-primitive table.)
_TORCH_KEEPS = {
    # param.addcmul_(buf, lr, value=-1): the buffer is the update itself without Nesterov
    "sgd": lambda st: (("momentum_buffer",), ("lr",)) if st["fresh"] is not None and not st["nesterov"] else None,
    # torch.maximum(max_exp_avg_sq, exp_avg_sq)
    "adam": lambda st: (("exp_avg_sq",), ("exp_avg_sq", "max_exp_avg_sq")) if st["amsgrad"] else None,
    # param.addcdiv_(exp_avg, exp_inf, value=-clr)
    "adamax": lambda st: (("exp_avg", "exp_inf"), ("param", "exp_avg", "exp_inf")),
    # exp_avg * (-lr * mu_next / (1 - mu_product_next))
    "nadam": lambda st: (("exp_avg",), ("lr", "mu_product")),
    # square_avg.addcmul(grad_avg, grad_avg, value=-1)
    "rmsprop": lambda st: (("grad_avg",), ("square_avg", "grad_avg")) if st["centered"] else None,
    # param.addcmul_(grad.sign(), step_size, value=-1)
    "rprop": lambda st: (("step_size",), ("grad",)),
}


def _keep_like_torch(name, statics, tensors, hp, node):
    """Have ``node``'s backward check, as torch's does, that the state torch's graph keeps is not modified
    in place later (by the next step)."""
    rule = _TORCH_KEEPS.get(name)
    rule = rule and rule(statics)
    if rule is None or node is None:
        return
    keeps, triggers = rule
    for i in range(len(tensors["param"])):
        if any(tensors[k][i].requires_grad if k in tensors else getattr(hp.get(k), "requires_grad", False)
               for k in triggers):
            node.versions.extend((t._st, t._st.version, t) for t in (tensors[k][i] for k in keeps))


# ---------------------------------------------------------------- SGD
@kernel("maximize", "wd", "nesterov", "fresh")
def sgd(a, hp, maximize, wd, nesterov, fresh):
    ps, bufs = [], []
    mom = fresh is not None
    for i, (p, g) in enumerate(zip(a["param"], a["grad"])):
        g = _grad(g, p, hp, maximize, wd)
        if mom:
            if fresh[i]:
                b = jax.lax.stop_gradient(g)  # torch starts the buffer as a detached copy of the gradient
            else:
                b = a["momentum_buffer"][i]
                b = b * _c(hp["momentum"], b) + _c(1 - hp["dampening"], b) * g
            bufs.append(b)
            g = g + _c(hp["momentum"], g) * b if nesterov else b
        ps.append(p + _c(-hp["lr"], p) * g)
    return {"param": ps, "momentum_buffer": bufs} if mom else {"param": ps}


# ---------------------------------------------------------------- Adam / AdamW
@kernel("maximize", "wd", "decoupled", "amsgrad")
def adam(a, hp, maximize, wd, decoupled, amsgrad):
    out = {"param": [], "step": [], "exp_avg": [], "exp_avg_sq": [], "max_exp_avg_sq": []}
    b1, b2, lr = hp["beta1"], hp["beta2"], hp["lr"]
    for i, (p, g, s, m, v) in enumerate(zip(a["param"], a["grad"], a["step"], a["exp_avg"], a["exp_avg_sq"])):
        g = -g if maximize else g
        s, n = _step(s)
        if wd and decoupled:
            p = p * _c(1 - lr * hp["weight_decay"], p)
        elif wd:
            g = g + _c(hp["weight_decay"], p) * p
        m = _lerp(m, g, 1 - b1)
        v = v * _c(b2, v) + _c(1 - b2, v) * g * g  # addcmul: (value * t1) * t2
        bc1 = 1 - b1 ** n
        bc2_sqrt = (1 - b2 ** n) ** 0.5
        if amsgrad:
            vmax = jnp.maximum(a["max_exp_avg_sq"][i], v)
            out["max_exp_avg_sq"].append(vmax)
            denom = jnp.sqrt(vmax) / _c(bc2_sqrt, p) + _c(hp["eps"], p)
        else:
            denom = jnp.sqrt(v) / _c(bc2_sqrt, p) + _c(hp["eps"], p)
        p = p + _c(-(lr / bc1), p) * m / denom  # addcdiv: (value * t1) / t2
        for k, x in (("param", p), ("step", s), ("exp_avg", m), ("exp_avg_sq", v)):
            out[k].append(x)
    if not amsgrad:
        del out["max_exp_avg_sq"]
    return out


# ---------------------------------------------------------------- RMSprop
@kernel("maximize", "wd", "centered", "momentum")
def rmsprop(a, hp, maximize, wd, centered, momentum):
    out = {"param": [], "step": [], "square_avg": []}
    if centered:
        out["grad_avg"] = []
    if momentum:
        out["momentum_buffer"] = []
    alpha = hp["alpha"]
    for i, (p, g, s, sq) in enumerate(zip(a["param"], a["grad"], a["step"], a["square_avg"])):
        s, _ = _step(s)
        g = _grad(g, p, hp, maximize, wd)
        sq = sq * _c(alpha, sq) + _c(1 - alpha, sq) * g * g  # addcmul: (value * t1) * t2
        if centered:
            ga = _lerp(a["grad_avg"][i], g, 1 - alpha)
            out["grad_avg"].append(ga)
            avg = jnp.sqrt(sq - ga * ga)
        else:
            avg = jnp.sqrt(sq)
        avg = avg + _c(hp["eps"], avg)
        if momentum:
            buf = a["momentum_buffer"][i]
            buf = buf * _c(hp["momentum"], buf) + g / avg
            out["momentum_buffer"].append(buf)
            p = p + _c(-hp["lr"], p) * buf
        else:
            p = p + _c(-hp["lr"], p) * g / avg
        out["param"].append(p)
        out["step"].append(s)
        out["square_avg"].append(sq)
    return out


# ---------------------------------------------------------------- Adagrad
@kernel("maximize", "wd")
def adagrad(a, hp, maximize, wd):
    out = {"param": [], "step": [], "sum": []}
    for p, g, s, acc in zip(a["param"], a["grad"], a["step"], a["sum"]):
        s, n = _step(s)
        g = _grad(g, p, hp, maximize, wd)
        clr = hp["lr"] / (1 + (n - 1) * hp["lr_decay"])
        acc = acc + g * g
        std = jnp.sqrt(acc) + _c(hp["eps"], acc)
        out["param"].append(p + _c(-clr, p) * g / std)
        out["step"].append(s)
        out["sum"].append(acc)
    return out


# ---------------------------------------------------------------- Adadelta
@kernel("maximize", "wd")
def adadelta(a, hp, maximize, wd):
    out = {"param": [], "step": [], "square_avg": [], "acc_delta": []}
    rho, eps = hp["rho"], hp["eps"]
    for p, g, s, sq, acc in zip(a["param"], a["grad"], a["step"], a["square_avg"], a["acc_delta"]):
        s, _ = _step(s)
        g = _grad(g, p, hp, maximize, wd)
        sq = sq * _c(rho, sq) + _c(1 - rho, sq) * g * g  # addcmul: (value * t1) * t2
        std = jnp.sqrt(sq + _c(eps, sq))
        delta = jnp.sqrt(acc + _c(eps, acc)) / std * g
        acc = acc * _c(rho, acc) + _c(1 - rho, acc) * delta * delta
        out["param"].append(p + _c(-hp["lr"], p) * delta)
        out["step"].append(s)
        out["square_avg"].append(sq)
        out["acc_delta"].append(acc)
    return out


# ---------------------------------------------------------------- Adamax
@kernel("maximize", "wd")
def adamax(a, hp, maximize, wd):
    out = {"param": [], "step": [], "exp_avg": [], "exp_inf": []}
    b1, b2 = hp["beta1"], hp["beta2"]
    for p, g, s, m, u in zip(a["param"], a["grad"], a["step"], a["exp_avg"], a["exp_inf"]):
        s, n = _step(s)
        g = _grad(g, p, hp, maximize, wd)
        m = _lerp(m, g, 1 - b1)
        u = jnp.maximum(u * _c(b2, u), jnp.abs(g) + _c(hp["eps"], g))
        clr = hp["lr"] / (1 - b1 ** n)
        out["param"].append(p + _c(-clr, p) * m / u)
        out["step"].append(s)
        out["exp_avg"].append(m)
        out["exp_inf"].append(u)
    return out


# ---------------------------------------------------------------- NAdam
@kernel("maximize", "wd", "decoupled")
def nadam(a, hp, maximize, wd, decoupled):
    out = {"param": [], "step": [], "mu_product": [], "exp_avg": [], "exp_avg_sq": []}
    b1, b2, lr, md = hp["beta1"], hp["beta2"], hp["lr"], hp["momentum_decay"]
    for p, g, s, mp, m, v in zip(a["param"], a["grad"], a["step"], a["mu_product"], a["exp_avg"], a["exp_avg_sq"]):
        g = -g if maximize else g
        s, n = _step(s)
        bc2 = 1 - b2 ** n
        if wd and decoupled:
            p = p * _c(1 - lr * hp["weight_decay"], p)
        elif wd:
            g = g + _c(hp["weight_decay"], p) * p
        mu = b1 * (1.0 - 0.5 * 0.96 ** (n * md))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((n + 1) * md))
        mp = mp * _c(mu, mp)
        m = _lerp(m, g, 1 - b1)
        v = v * _c(b2, v) + _c(1 - b2, v) * g * g  # addcmul: (value * t1) * t2
        denom = jnp.sqrt(v / _c(bc2, v)) + _c(hp["eps"], v)
        mp64 = mp.astype(F64)
        p = p + _c(-lr * (1.0 - mu) / (1.0 - mp64), p) * g / denom
        p = p + _c(-lr * mu_next / (1.0 - mp64 * mu_next), p) * m / denom
        for k, x in (("param", p), ("step", s), ("mu_product", mp), ("exp_avg", m), ("exp_avg_sq", v)):
            out[k].append(x)
    return out


# ---------------------------------------------------------------- RAdam
@kernel("maximize", "wd", "decoupled")
def radam(a, hp, maximize, wd, decoupled):
    out = {"param": [], "step": [], "exp_avg": [], "exp_avg_sq": []}
    b1, b2, lr = hp["beta1"], hp["beta2"], hp["lr"]
    for p, g, s, m, v in zip(a["param"], a["grad"], a["step"], a["exp_avg"], a["exp_avg_sq"]):
        g = -g if maximize else g
        s, n = _step(s)
        if wd and decoupled:
            p = p * _c(1 - lr * hp["weight_decay"], p)
        elif wd:
            g = g + _c(hp["weight_decay"], p) * p
        m = _lerp(m, g, 1 - b1)
        v = v * _c(b2, v) + _c(1 - b2, v) * g * g  # addcmul: (value * t1) * t2
        bc1 = 1 - b1 ** n
        bc2 = 1 - b2 ** n
        corrected = m / _c(bc1, m)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * n * b2 ** n / bc2
        # rectification only once the variance estimate is tractable (rho_t > 5), as torch
        safe = jnp.where(rho_t > 5.0, rho_t, 6.0)
        rect = ((safe - 4) * (safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe)) ** 0.5
        # (the rectified branch's v only where it is taken: a zero v elsewhere would make its gradient NaN)
        adaptive = _c(bc2 ** 0.5, v) / (jnp.sqrt(jnp.where(rho_t > 5.0, v, 1)) + _c(hp["eps"], v))
        upd_rect = corrected * _c(lr, p) * adaptive * _c(rect, p)
        upd_plain = corrected * _c(lr, p)
        p = p - jnp.where(rho_t > 5.0, upd_rect, upd_plain)
        for k, x in (("param", p), ("step", s), ("exp_avg", m), ("exp_avg_sq", v)):
            out[k].append(x)
    return out


# ---------------------------------------------------------------- ASGD
@kernel("maximize", "wd")
def asgd(a, hp, maximize, wd):
    out = {"param": [], "step": [], "eta": [], "mu": [], "ax": []}
    lr, lambd = hp["lr"], hp["lambd"]
    for p, g, s, eta, mu, ax in zip(a["param"], a["grad"], a["step"], a["eta"], a["mu"], a["ax"]):
        g = -g if maximize else g
        s, n = _step(s)
        if wd:
            g = g + _c(hp["weight_decay"], p) * p
        e = jax.lax.stop_gradient(eta).astype(F64)  # torch reads eta as a Python number (``.item()``)
        p = p * _c(1 - lambd * e, p)
        p = p + _c(-e, p) * g
        ax = jnp.where(mu != 1, ax + (p - ax) * mu.astype(ax.dtype), p)
        eta = _c(lr / (1 + lambd * lr * n) ** hp["alpha"], eta)
        mu = _c(1 / jnp.maximum(1.0, n - hp["t0"]), mu)
        for k, x in (("param", p), ("step", s), ("eta", eta), ("mu", mu), ("ax", ax)):
            out[k].append(x)
    return out


# ---------------------------------------------------------------- Rprop
@kernel("maximize")
def rprop(a, hp, maximize):
    out = {"param": [], "step": [], "prev": [], "step_size": []}
    for p, g, s, prev, size in zip(a["param"], a["grad"], a["step"], a["prev"], a["step_size"]):
        g = -g if maximize else g
        s, _ = _step(s)
        sign = jnp.sign(g * prev)
        up, down = sign > 0, sign < 0
        # torch's factor is the sign with its values replaced (a NaN stays NaN)
        factor = jnp.where(up, _c(hp["etaplus"], g), jnp.where(down, _c(hp["etaminus"], g),
                                                              jnp.where(sign == 0, jnp.ones_like(g), sign)))
        # (torch's clamp: the gradient passes at the bounds, where a step size stays once it reaches one)
        size = _clamp(size * factor, _c(hp["step_size_min"], size), _c(hp["step_size_max"], size))
        g = jnp.where(down, jnp.zeros_like(g), g)
        p = p - jnp.sign(g) * size
        for k, x in (("param", p), ("step", s), ("prev", g), ("step_size", size)):
            out[k].append(x)
    return out


# ---------------------------------------------------------------- Adafactor
@kernel("maximize", "wd")
def adafactor(a, hp, maximize, wd):
    out = {"param": [], "step": [], "row_var": [], "col_var": [], "variance": []}
    lr, d = hp["lr"], hp["d"]
    for p, g, s, eps1 in zip(a["param"], a["grad"], a["step"], hp["eps1"]):
        g = -g if maximize else g
        s, n = _step(s)
        decay = n ** hp["beta2_decay"]          # 1 - beta2_t
        rho = jnp.minimum(lr, 1 / n ** 0.5)     # relative step size
        rms_p = jnp.sqrt(jnp.sum(p * p)).astype(F64) / p.size ** 0.5
        alpha = jnp.maximum(hp["eps2"], rms_p) * rho
        if wd:
            p = p * _c(1 - lr * hp["weight_decay"], p)
        if g.ndim > 1:
            # factored second moment: row and column means of g**2
            row_mean = jnp.sqrt(jnp.sum(g * g, axis=-1, keepdims=True)) ** 2 / g.shape[-1]
            col_mean = jnp.sqrt(jnp.sum(g * g, axis=-2, keepdims=True)) ** 2 / g.shape[-2]
            rv = _lerp(a["row_var"][len(out["row_var"])], row_mean, decay)
            cv = _lerp(a["col_var"][len(out["col_var"])], col_mean, decay)
            out["row_var"].append(rv)
            out["col_var"].append(cv)
            var = (rv @ cv) / jnp.maximum(jnp.mean(rv, axis=-2, keepdims=True), _c(eps1, rv))
        else:
            var = _lerp(a["variance"][len(out["variance"])], g * g, decay)
            out["variance"].append(var)
        upd = jax.lax.rsqrt(jnp.maximum(var, _c(eps1 * eps1, var))) * g
        denom = jnp.maximum(1.0, jnp.sqrt(jnp.sum(upd * upd)).astype(F64) / (upd.size ** 0.5 * d))
        out["param"].append(p + _c(-alpha / denom, p) * upd)
        out["step"].append(s)
    return {k: v for k, v in out.items() if v or k in ("param", "step")}


# ---------------------------------------------------------------- SparseAdam
@kernel("maximize")
def sparse_adam(a, hp, maximize):
    """torch's SparseAdam updates only the entries the sparse gradient specifies: ``grad`` is its
    coalesced sum made dense, ``present`` marks the specified entries."""
    out = {"param": [], "exp_avg": [], "exp_avg_sq": []}
    b1, b2 = hp["beta1"], hp["beta2"]
    for p, g, present, m, v, n in zip(a["param"], a["grad"], a["present"], a["exp_avg"], a["exp_avg_sq"],
                                      hp["steps"]):
        g = -g if maximize else g
        dm = (g - m) * _c(1 - b1, m)
        dv = (g * g - v) * _c(1 - b2, v)
        m_new = jnp.where(present, m + dm, m)
        v_new = jnp.where(present, v + dv, v)
        n = jnp.asarray(n, F64)
        step_size = hp["lr"] * jnp.sqrt(1 - b2 ** n) / (1 - b1 ** n)
        upd = _c(-step_size, p) * ((dm + m) / (jnp.sqrt(dv + v) + _c(hp["eps"], v)))
        out["param"].append(jnp.where(present, p + upd, p))
        out["exp_avg"].append(m_new)
        out["exp_avg_sq"].append(v_new)
    return out


# ---------------------------------------------------------------- Muon
def _bf16(x):
    """x rounded to bfloat16, a rounding XLA keeps: under jit it may otherwise carry bfloat16 intermediates
    in float32 (excess precision), and the iteration amplifies that into differences from torch's."""
    return jax.lax.reduce_precision(x.astype(jnp.bfloat16), exponent_bits=8, mantissa_bits=7)


def _newton_schulz(x, coeffs, steps, eps):
    """Approximate orthogonalisation U V^T of x (quintic Newton-Schulz, in bfloat16 like torch)."""
    f32 = jnp.float32
    # the hyper-parameters arrive as float64 device buffers: cast them as torch casts Python scalars (to the
    # float32 op math of bfloat16 matmuls, to bfloat16 for the clamp), or they would promote the iteration
    a, b, c = (jnp.asarray(k).astype(f32) for k in coeffs)
    y = _bf16(x)
    tall = x.shape[0] > x.shape[1]
    if tall:
        y = y.T
    norm = _bf16(jnp.sqrt(jnp.sum(y.astype(f32) ** 2)))
    y = _bf16(y.astype(f32) / jnp.maximum(norm, _bf16(jnp.asarray(eps))).astype(f32))
    for _ in range(steps):
        # each addmm accumulates in float32 and rounds once to bfloat16, as torch's does
        gram = _bf16(jnp.matmul(y, y.T, preferred_element_type=f32))
        upd = _bf16(b * gram.astype(f32) + c * jnp.matmul(gram, gram, preferred_element_type=f32))
        y = _bf16(a * y.astype(f32) + jnp.matmul(upd, y, preferred_element_type=f32))
    return y.T if tall else y


@kernel("nesterov", "ns_steps")
def muon(a, hp, nesterov, ns_steps):
    out = {"param": [], "momentum_buffer": []}
    mom = hp["momentum"]
    for p, g, buf, scale in zip(a["param"], a["grad"], a["momentum_buffer"], hp["lr_scale"]):
        buf = _lerp(buf, g, 1 - mom)
        upd = _lerp(g, buf, mom) if nesterov else buf
        o = _newton_schulz(upd, hp["ns_coefficients"], ns_steps, hp["eps"])
        p = p * _c(1 - hp["lr"] * hp["weight_decay"], p)
        p = p + _c(-(hp["lr"] * scale), p) * o.astype(p.dtype)
        out["param"].append(p)
        out["momentum_buffer"].append(buf)
    return out
