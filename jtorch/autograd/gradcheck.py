"""Finite-difference checks of analytical gradients (float64 inputs), like torch.autograd.gradcheck."""
import numpy as np

from .. import _dispatch


class GradcheckError(RuntimeError):
    pass


def _numerical_jacobian(fn, inputs, k, eps):
    x = inputs[k]
    base = np.asarray(x.detach()._value).astype(np.float64)
    cols = []
    for i in range(base.size):
        vals = []
        for d in (eps, -eps):
            p = base.copy().reshape(-1)
            p[i] += d
            args = list(inputs)
            from .._ops.creation import tensor
            args[k] = tensor(p.reshape(base.shape), dtype=x.dtype, requires_grad=x.requires_grad)
            out = fn(*args)
            outs = out if isinstance(out, tuple) else (out,)
            vals.append(np.concatenate([np.asarray(o.detach()._value, np.float64).reshape(-1) for o in outs]))
        cols.append((vals[0] - vals[1]) / (2 * eps))
    return np.stack(cols, 1) if cols else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, k):
    from . import grad
    from .._ops.creation import zeros_like
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    rows = []
    for o in outs:
        flat = o.reshape(-1)
        for j in range(flat.numel()):
            if not o.requires_grad:
                rows.append(np.zeros(inputs[k].numel()))
                continue
            g = grad(flat[j], inputs[k], retain_graph=True, allow_unused=True)[0]
            rows.append(np.zeros(inputs[k].numel()) if g is None else np.asarray(g._value, np.float64).reshape(-1))
    return np.stack(rows, 0) if rows else np.zeros((0, 0))


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    T = _dispatch.Tensor
    inputs = (inputs,) if isinstance(inputs, T) else tuple(inputs)
    for k, x in enumerate(inputs):
        if not isinstance(x, T) or not x.requires_grad:
            continue
        num = _numerical_jacobian(func, inputs, k, eps)
        ana = _analytical_jacobian(func, inputs, k)
        if not np.allclose(ana, num.reshape(ana.shape) if num.size == ana.size else num, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {k},\n"
                                     f"numerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, **kwargs):
    from . import grad
    T = _dispatch.Tensor
    inputs = (inputs,) if isinstance(inputs, T) else tuple(inputs)
    diff = [x for x in inputs if isinstance(x, T) and x.requires_grad]

    def first(*args):
        out = func(*args)
        outs = out if isinstance(out, tuple) else (out,)
        from .._ops.creation import ones_like
        gs = grad(outs, [a for a in args if isinstance(a, T) and a.requires_grad],
                  [ones_like(o) for o in outs], create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)
    return gradcheck(first, inputs, **kwargs)
