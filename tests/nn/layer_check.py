"""Run the same torch and jtorch module on the same weights and inputs; compare outputs,
gradients of inputs and of every parameter, buffers and state_dict keys."""
import numpy as np
import torch

import jtorch
from tests.helpers import assert_close


def copy_weights(tmod, jmod):
    """torch -> numpy -> jtorch through state_dict; keys must be identical."""
    tsd = tmod.state_dict()
    assert list(jmod.state_dict().keys()) == list(tsd.keys())
    jmod.load_state_dict({k: v.detach().numpy() for k, v in tsd.items()})


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def compare(tmod, jmod, inputs, rng, train=True, grad=True, rtol=1e-5, atol=1e-5, copy=True):
    """inputs: numpy arrays (float ones get gradients) or other values passed as they are."""
    if copy:
        copy_weights(tmod, jmod)
    tmod.train(train)
    jmod.train(train)
    tin, jin = [], []
    for a in inputs:
        if isinstance(a, np.ndarray):
            t, j = torch.from_numpy(a.copy()), jtorch.tensor(a.copy())
            if grad and a.dtype.kind == "f":
                t.requires_grad_(True)
                j.requires_grad_(True)
            tin.append(t)
            jin.append(j)
        else:
            tin.append(a)
            jin.append(a)
    tout, jout = tmod(*tin), jmod(*jin)
    assert_close(jout, tout, rtol=rtol, atol=atol)
    if grad:
        touts = [o for o in _as_tuple(tout) if isinstance(o, torch.Tensor) and o.requires_grad]
        jouts = [o for o, t in zip(_as_tuple(jout), _as_tuple(tout)) if isinstance(t, torch.Tensor) and t.requires_grad]
        tl, jl = 0, 0
        for to, jo in zip(touts, jouts):
            g = rng.standard_normal(tuple(to.shape)).astype(np.float32 if to.dtype == torch.float32 else np.float64)
            tl = tl + (to * torch.from_numpy(g)).sum()
            jl = jl + (jo * jtorch.tensor(g)).sum()
        tl.backward()
        jl.backward()
        for t, j in zip(tin, jin):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                assert_close(j.grad, t.grad, rtol=rtol, atol=atol)
        tparams = dict(tmod.named_parameters())
        for name, jp in jmod.named_parameters():
            tp = tparams[name]
            if tp.grad is None:
                assert jp.grad is None, name
            else:
                assert jp.grad is not None, name
                assert_close(jp.grad, tp.grad, rtol=rtol, atol=atol)
    # buffers (running statistics) evolve the same way
    tbuf = dict(tmod.named_buffers())
    for name, jb in jmod.named_buffers():
        assert_close(jb, tbuf[name], rtol=rtol, atol=atol)
    return tout, jout
