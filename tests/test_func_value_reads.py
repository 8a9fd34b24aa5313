"""torch.func transforms and Python reads of tensor values (.item(), .tolist(), bool(), float()) and
integer inputs to grad: torch's RuntimeError, not JAX's tracer errors; an in-place write of a per-sample
value into an input vmap does not map over is torch's RuntimeError too."""
import pytest
import torch

import jtorch

READS = {"item": lambda a: a.sum().item(), "tolist": lambda a: a.tolist(), "float": lambda a: float(a.sum()),
         "bool": lambda a: bool(a.sum() > 0), "branch": lambda a: a * 2 if a.sum() > 0 else a}


@pytest.mark.parametrize("read", sorted(READS))
def test_vmap_value_reads_raise_runtime_error(read):
    for lib in (torch, jtorch):
        with pytest.raises(RuntimeError):
            lib.func.vmap(READS[read])(lib.ones(2, 3))


@pytest.mark.parametrize("read", ["item", "float"])
def test_grad_of_python_number_raises_runtime_error(read):
    for lib in (torch, jtorch):
        with pytest.raises(RuntimeError):
            lib.func.grad(READS[read])(lib.ones(3))


def test_grad_integer_input():
    for lib in (torch, jtorch):
        with pytest.raises(RuntimeError, match="floating point"):
            lib.func.grad(lambda a: a.sum())(lib.arange(3))
        with pytest.raises(RuntimeError, match="floating point"):
            lib.func.grad(lambda a, b: (a * b).sum(), argnums=1)(lib.ones(3), lib.arange(3))
        # an integer argument that is not differentiated is fine
        g = lib.func.grad(lambda a, b: (a * b).sum())(lib.ones(3), lib.arange(3))
        assert g.tolist() == [0.0, 1.0, 2.0]


def test_compiled_vmap_still_works():
    f = jtorch.compile(lambda x: jtorch.func.vmap(lambda r: r.sin() * 2)(x))
    x = jtorch.arange(6.).view(2, 3)
    assert jtorch.allclose(f(x), x.sin() * 2)
    assert jtorch.allclose(f(x), x.sin() * 2)


def test_vmap_inplace_into_unbatched_input():
    for lib in (torch, jtorch):
        a, b = lib.arange(6.).view(2, 3), lib.zeros(3)
        with pytest.raises(RuntimeError):
            lib.func.vmap(lambda x, y: y.add_(x), in_dims=(0, None))(a, b)
        # the other way round, and out of place, are fine
        assert lib.func.vmap(lambda x, y: x.add_(y), in_dims=(0, None))(a.clone(), b).tolist() == a.tolist()
        assert lib.func.vmap(lambda x, y: y * x, in_dims=(0, None))(a, b + 1).tolist() == a.tolist()
