"""The same nested tensors in torch and jtorch, and comparisons of nested results (layout, dtype,
ragged structure, components, padded value)."""
import warnings

import numpy as np
import torch

import jtorch
from helpers import assert_close

warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors is in prototype stage")


def components(rng, lengths=(2, 5, 3), inner=(4,), dtype=np.float32, ragged=0):
    """Random numpy components: ``inner`` with the length inserted at ``ragged``."""
    out = []
    for n in lengths:
        shape = list(inner)
        shape.insert(ragged, n)
        out.append(rng.standard_normal(shape).astype(dtype))
    return out


def pair(comps, layout="jagged", requires_grad=False, **kw):
    """``nested_tensor`` of the same components in torch and jtorch."""
    t = torch.nested.nested_tensor([torch.tensor(c) for c in comps], layout=getattr(torch, layout),
                                   requires_grad=requires_grad, **kw)
    j = jtorch.nested.nested_tensor([jtorch.tensor(c) for c in comps], layout=getattr(jtorch, layout),
                                    requires_grad=requires_grad, **kw)
    return t, j


def assert_nested_same(j, t, rtol=1e-5, atol=1e-6, padded=True):
    assert j.is_nested and t.is_nested
    assert str(j.layout) == str(t.layout), (j.layout, t.layout)
    assert str(j.dtype) == str(t.dtype), (j.dtype, t.dtype)
    assert j.dim() == t.dim()
    assert j.requires_grad == t.requires_grad
    if t.layout == torch.jagged:
        assert j._ragged_idx == t._ragged_idx
        assert [str(s).startswith("j") for s in j.shape] == [str(s).startswith("j") for s in t.shape]
        assert [s for s in j.shape if isinstance(s, int)] == [s for s in t.shape if isinstance(s, int)]
    jc, tc = j.unbind(), t.unbind()
    assert len(jc) == len(tc)
    for a, b in zip(jc, tc):
        assert_close(a, b, rtol=rtol, atol=atol)
    if padded and t.dtype.is_floating_point:  # (torch pads a tensor with lengths to a longer size: not compared)
        assert_close(j.to_padded_tensor(0.0), t.to_padded_tensor(0.0), rtol=rtol, atol=atol)


def raises_same(fj, ft):
    """Both calls raise, with the same exception type."""
    try:
        ft()
    except Exception as e:  # noqa: BLE001
        te = type(e)
    else:
        raise AssertionError("torch did not raise")
    try:
        fj()
    except Exception as e:  # noqa: BLE001
        assert type(e) is te or issubclass(type(e), te), (type(e), te, e)
        return e
    raise AssertionError(f"jtorch did not raise ({te.__name__} expected)")
