"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp built on the tape."""
from .. import _dispatch


def _tup(x):
    T = _dispatch.Tensor
    return (x,) if isinstance(x, T) else tuple(x)


def _prep(inputs, create_graph):
    """Inputs the function sees. With create_graph, an input that requires grad stays connected (an
    alias of it), so what is computed from the results can be differentiated back to it."""
    return tuple(i.view_as(i) if create_graph and i.requires_grad else i.detach().requires_grad_(True)
                 for i in _tup(inputs))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False):
    """autograd.grad over the outputs in the graph, zeros for the inputs no gradient reaches: like torch's
    functional API, an output that does not require grad (a gradient constant in the inputs, as the
    gradient of a linear function) contributes zero instead of raising."""
    from . import grad as autograd_grad
    from .._ops.creation import zeros_like
    outputs = _tup(outputs)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _tup(grad_outputs)
    live = [(o, v) for o, v in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return tuple(zeros_like(x) for x in inputs)
    return autograd_grad([o for o, _ in live], inputs, [v for _, v in live], retain_graph=retain_graph,
                         create_graph=create_graph, allow_unused=True, materialize_grads=True)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    single = isinstance(inputs, _dispatch.Tensor)
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    outs = _tup(out)
    vs = _tup(v) if v is not None else (None,) * len(outs)
    gs = grad(outs, xs, vs, create_graph=create_graph)
    detach = (lambda t: t) if create_graph else (lambda t: t.detach())
    o = detach(out) if isinstance(out, _dispatch.Tensor) else tuple(detach(x) for x in out)
    return o, (detach(gs[0]) if single else tuple(detach(g) for g in gs))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    from .._ops.creation import zeros
    single_in = isinstance(inputs, _dispatch.Tensor)
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    single_out = isinstance(out, _dispatch.Tensor)
    outs = _tup(out)
    result = []
    for o in outs:
        flat = o.reshape(-1)
        per_in = [[] for _ in xs]
        for j in range(flat.numel()):
            gs = grad(flat[j], xs, retain_graph=True, create_graph=create_graph)
            for k, g in enumerate(gs):
                per_in[k].append(g)
        row = []
        for k, x in enumerate(xs):
            from .._ops.join import stack
            if per_in[k]:
                j = stack(per_in[k]).reshape(tuple(o.shape) + tuple(x.shape))
            else:
                j = zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype)
            row.append(j if create_graph else j.detach())
        result.append(row[0] if single_in else tuple(row))
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    single = isinstance(inputs, _dispatch.Tensor)

    def g(*xs):
        gs = grad(func(*xs), xs, create_graph=True)
        return gs[0] if single else gs
    return jacobian(g, inputs, create_graph=create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    # double-vjp trick: J v = d/du (u^T J)^T v
    from .._ops.creation import zeros_like
    single = isinstance(inputs, _dispatch.Tensor)
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    outs = _tup(out)
    us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
    gs = grad(outs, xs, us, create_graph=True)
    vs = _tup(v) if v is not None else tuple(zeros_like(x) + 1 for x in xs)
    jv = grad(gs, us, vs, create_graph=create_graph)
    d = (lambda t: t) if create_graph else (lambda t: t.detach())
    o = d(out) if isinstance(out, _dispatch.Tensor) else tuple(d(x) for x in out)
    return o, (d(jv[0]) if isinstance(out, _dispatch.Tensor) else tuple(d(x) for x in jv))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    single = isinstance(inputs, _dispatch.Tensor)
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    gs = grad(out, xs, create_graph=True)
    vs = _tup(v)
    h = grad(gs, xs, vs, create_graph=create_graph)
    keep = (lambda t: t) if create_graph else (lambda t: t.detach())
    return keep(out), (keep(h[0]) if single else tuple(keep(x) for x in h))


vhp = hvp
