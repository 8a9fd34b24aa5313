"""grad_fn.next_functions: the same graph structure as torch's (node names, entry order, (None, 0) for
inputs without grad, AccumulateGrad leaves with .variable), walked over single ops and small models."""
import numpy as np
import pytest
import torch

import jtorch


def walk(fn, names=None):
    """A nested description of the graph below ``fn``: node names, entries, leaves by name/shape."""
    if fn is None:
        return None
    kind = type(fn).__name__
    if kind == "AccumulateGrad":
        v = fn.variable
        return ("Acc", names.get(id(v), tuple(v.shape)) if names else tuple(v.shape))
    assert fn.name() == kind
    return (kind, tuple((walk(f, names), i) for f, i in fn.next_functions))


def _tensors(lib, rng_arrays):
    a, b, c, w, bias = (lib.tensor(x) for x in rng_arrays)
    a.requires_grad_(); b.requires_grad_(); w.requires_grad_(); bias.requires_grad_()
    return a, b, c, w, bias


def _cases(lib):
    F = lib.nn.functional
    i = lib.tensor([0, 1, 1])
    return {
        "a+b": lambda a, b, c, w, bias: a + b, "a+c": lambda a, b, c, w, bias: a + c,
        "c+a": lambda a, b, c, w, bias: c + a, "a+2": lambda a, b, c, w, bias: a + 2,
        "2+a": lambda a, b, c, w, bias: 2 + a, "a-2": lambda a, b, c, w, bias: a - 2,
        "2-a": lambda a, b, c, w, bias: 2 - a, "a*2.5": lambda a, b, c, w, bias: a * 2.5,
        "a*c": lambda a, b, c, w, bias: a * c, "a/b": lambda a, b, c, w, bias: a / b,
        "a/2": lambda a, b, c, w, bias: a / 2, "a*int": lambda a, b, c, w, bias: a * i[:2, None],
        "a**2": lambda a, b, c, w, bias: a ** 2, "2**a": lambda a, b, c, w, bias: 2 ** a,
        "a**b": lambda a, b, c, w, bias: a ** b, "clamp": lambda a, b, c, w, bias: a.clamp(-0.5, 0.5),
        "where": lambda a, b, c, w, bias: lib.where(c > 0, a, b),
        "where_c": lambda a, b, c, w, bias: lib.where(c > 0, a, c),
        "where_num": lambda a, b, c, w, bias: lib.where(c > 0, a, 2.0),
        "atan2": lambda a, b, c, w, bias: lib.atan2(a, c),
        "maximum": lambda a, b, c, w, bias: lib.maximum(a, c),
        "masked_fill": lambda a, b, c, w, bias: a.masked_fill(c > 0, 2.0),
        "mm_t": lambda a, b, c, w, bias: a @ w.t(), "mm": lambda a, b, c, w, bias: lib.mm(a, w.t()),
        "transpose": lambda a, b, c, w, bias: a.transpose(0, 1), "permute": lambda a, b, c, w, bias: a.permute(1, 0),
        "matmul3d": lambda a, b, c, w, bias: lib.matmul(a[None], w.t()),
        "matmul3d_1d": lambda a, b, c, w, bias: lib.matmul(a[None], b[0]),
        "matmul_batched": lambda a, b, c, w, bias: a[None] @ b[None].transpose(-2, -1),
        "matmul_4d": lambda a, b, c, w, bias: a.expand(2, 2, 2, 3) @ w.t()[None, None, :, :2],
        "bmm": lambda a, b, c, w, bias: lib.bmm(a[None], w.t()[None]),
        "linear2d": lambda a, b, c, w, bias: F.linear(a, w, bias),
        "linear_nobias": lambda a, b, c, w, bias: F.linear(a, w),
        "linear3d": lambda a, b, c, w, bias: F.linear(a[None], w, bias),
        "linear3d_nobias": lambda a, b, c, w, bias: F.linear(a[None], w),
        "linear1d": lambda a, b, c, w, bias: F.linear(a[0], w, bias),
        "linear1d_nobias": lambda a, b, c, w, bias: F.linear(a[0], w),
        "linear_c_input": lambda a, b, c, w, bias: F.linear(c, w, bias),
        "cat": lambda a, b, c, w, bias: lib.cat([a, c, b]), "stack": lambda a, b, c, w, bias: lib.stack([a, b]),
        "view": lambda a, b, c, w, bias: a.view(6), "reshape": lambda a, b, c, w, bias: a.reshape(3, 2),
        "reshape_copy": lambda a, b, c, w, bias: a.t().reshape(6), "flatten": lambda a, b, c, w, bias: a.flatten(),
        "sum": lambda a, b, c, w, bias: a.sum(), "sum1": lambda a, b, c, w, bias: a.sum(1),
        "mean": lambda a, b, c, w, bias: a.mean(), "mean0": lambda a, b, c, w, bias: a.mean(0),
        "relu": lambda a, b, c, w, bias: lib.relu(a), "Frelu": lambda a, b, c, w, bias: F.relu(a),
        "select": lambda a, b, c, w, bias: a[0], "slice": lambda a, b, c, w, bias: a[:, 1:],
        "index_int": lambda a, b, c, w, bias: a[i], "index_bool": lambda a, b, c, w, bias: a[c > 0],
        "none_select": lambda a, b, c, w, bias: a[None, 1], "select_slice": lambda a, b, c, w, bias: a[1, :2],
        "conv": lambda a, b, c, w, bias: F.conv2d(a[None, None], w[None, None, :2, :2], bias[:1]),
        "conv_nobias": lambda a, b, c, w, bias: F.conv2d(a[None, None], w[None, None, :2, :2]),
        "maxpool": lambda a, b, c, w, bias: F.max_pool2d(a[None, None], 2),
        "mse": lambda a, b, c, w, bias: F.mse_loss(a, c),
        "l1_loss": lambda a, b, c, w, bias: F.l1_loss(a, c),
        "l1_loss_sum": lambda a, b, c, w, bias: F.l1_loss(a, b, reduction="sum"),
        "l1_loss_none": lambda a, b, c, w, bias: F.l1_loss(c, a, reduction="none"),
        "cross_entropy": lambda a, b, c, w, bias: F.cross_entropy(a, i[:2] % 3),
        "addmm": lambda a, b, c, w, bias: lib.addmm(bias[:3], a, w.t()[:, :3]),
        "inplace": lambda a, b, c, w, bias: (a * 1).add_(b),
        "layer_norm": lambda a, b, c, w, bias: F.layer_norm(a, (3,), w[0], bias[:3]),
        "batch_norm": lambda a, b, c, w, bias: F.batch_norm(a, lib.zeros(3), lib.ones(3), w[0], bias[:3], True),
        "softmax": lambda a, b, c, w, bias: a.softmax(1), "expand": lambda a, b, c, w, bias: a[None].expand(2, 2, 3),
        "max": lambda a, b, c, w, bias: a.max(), "max_dim": lambda a, b, c, w, bias: a.max(1)[0],
        "chunk": lambda a, b, c, w, bias: lib.cat(a.chunk(3, 1)[::-1]),
        "split_sizes": lambda a, b, c, w, bias: (lambda p, q: p.sum() * q)(*a.split([1, 2], 1)),
        "unbind": lambda a, b, c, w, bias: (lambda p, q: p * q)(*a.unbind(0)),
    }


@pytest.mark.parametrize("name", list(_cases(torch)))
def test_single_op_structure(name, rng):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (2, 3), (2, 3), (4, 3), (4,)]]
    tt = _tensors(torch, arrays)
    tj = _tensors(jtorch, arrays)
    rt, rj = _cases(torch)[name](*tt), _cases(jtorch)[name](*tj)
    expected = walk(rt.grad_fn)
    assert walk(rj.grad_fn) == expected
    # after backward (saved values freed) the structure is unchanged
    rt.sum().backward()
    rj.sum().backward()
    assert walk(rj.grad_fn) == expected


@pytest.mark.parametrize("how", ["split", "split_sizes", "chunk", "unbind", "tensor_split"])
def test_pieces_output_nr_is_their_index(how, rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    res = {}
    for lib in (torch, jtorch):
        a = lib.tensor(x, requires_grad=True) * 2
        parts = {"split": lambda: a.split(2, 1), "split_sizes": lambda: a.split([1, 3, 2], 1),
                 "chunk": lambda: a.chunk(2), "unbind": lambda: a.unbind(1),
                 "tensor_split": lambda: a.tensor_split(3, 1)}[how]()
        res[lib.__name__] = [(p.output_nr, p.grad_fn.name()) for p in parts] + [(a.output_nr, a.grad_fn.name())]
    assert res["jtorch"] == res["torch"]


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.ReLU(), lib.nn.Dropout(0.0), lib.nn.Linear(8, 3))


def _cnn(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(4, 3))


class _Attn:
    """A tiny self-attention block written with matmuls, softmax, transposes and views."""

    @staticmethod
    def build(lib, fused=False):
        lib.manual_seed(0)
        proj = {"qkv": lib.nn.Linear(4, 12)} if fused else \
            {"q": lib.nn.Linear(4, 4), "k": lib.nn.Linear(4, 4), "v": lib.nn.Linear(4, 4)}
        return lib.nn.ModuleDict({**proj, "out": lib.nn.Linear(4, 4),
                                  "norm": lib.nn.LayerNorm(4)})

    @staticmethod
    def run(lib, m, x):
        if "qkv" in m:
            q, k, v = m["qkv"](x).chunk(3, dim=-1)
        else:
            q, k, v = (m[n](x) for n in ("q", "k", "v"))
        att = (q @ k.transpose(-2, -1) / 2.0).softmax(-1)
        return m["norm"](x + m["out"](att @ v))


@pytest.mark.parametrize("model", ["mlp", "cnn", "attn", "attn_fused_qkv"])
def test_model_graph_structure(model, rng):
    graphs = []
    for lib in (torch, jtorch):
        if model == "mlp":
            m = _mlp(lib)
            x = lib.tensor(rng.standard_normal((6, 5)).astype(np.float32)) if lib is torch else x_j
            out = lib.nn.functional.cross_entropy(m(x), lib.tensor([0, 1, 2, 0, 1, 2]))
        elif model == "cnn":
            m = _cnn(lib)
            x = lib.tensor(rng.standard_normal((2, 1, 6, 6)).astype(np.float32)) if lib is torch else x_j
            out = m(x).pow(2).mean()
        else:
            m = _Attn.build(lib, fused=model == "attn_fused_qkv")
            x = lib.tensor(rng.standard_normal((2, 5, 4)).astype(np.float32)) if lib is torch else x_j
            out = _Attn.run(lib, m, x).sum()
        if lib is torch:
            x_j = jtorch.tensor(x.numpy())
        names = {id(p): n for n, p in m.named_parameters()}
        graphs.append(walk(out.grad_fn, names))
    assert graphs[1] == graphs[0]


def test_entries_are_stable_and_leaves_are_the_parameters(rng):
    lin = jtorch.nn.Linear(3, 2)
    x = jtorch.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    fn = lin(x).grad_fn
    assert fn.next_functions is fn.next_functions
    bias_acc, x_entry, t_entry = fn.next_functions
    assert bias_acc[0].variable is lin.bias and x_entry == (None, 0)
    assert type(t_entry[0]).__name__ == "TBackward0" and t_entry[0].next_functions[0][0].variable is lin.weight
    # utils.checkpoint-style leaf discovery reaches both parameters through the steps
    seen, stack, leaves = set(), [fn], []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if hasattr(n, "variable"):
            leaves.append(n.variable)
        stack.extend(f for f, _ in n.next_functions if f is not None)
    assert {id(p) for p in leaves} == {id(lin.weight), id(lin.bias)}


def test_custom_function_entries(rng):
    arr = rng.standard_normal(3).astype(np.float32)
    res = []
    for lib in (torch, jtorch):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                return x * y * k

            @staticmethod
            def backward(ctx, g):
                return g, g, None

        a = lib.tensor(arr, requires_grad=True)
        c = lib.tensor(arr)
        res.append(walk(Scale.apply(a, c, 2.0).grad_fn)[1])
    assert res[1] == res[0]


def _leaves(fn, seen):
    if fn is None or id(fn) in seen:
        return []
    seen.add(id(fn))
    if hasattr(fn, "variable"):
        return [fn.variable]
    return [v for f, _ in fn.next_functions for v in _leaves(f, seen)]


WIDE = {
    "adv_index": lambda a, i, F, L: a[i, 1:3], "index_select": lambda a, i, F, L: a.index_select(0, i),
    "gather": lambda a, i, F, L: a.gather(1, i[None].expand(4, 3)), "einsum": lambda a, i, F, L: L.einsum("ij,kj->ik", a, a),
    "embedding": lambda a, i, F, L: F.embedding(i, a), "lstm": lambda a, i, F, L: L.nn.LSTM(6, 3)(a[None])[0],
    "sort": lambda a, i, F, L: a.sort(1)[0], "masked_select": lambda a, i, F, L: a.masked_select(a > 0),
    "unfold": lambda a, i, F, L: a.unfold(1, 2, 2), "pad": lambda a, i, F, L: F.pad(a, (1, 1)),
    "mha": lambda a, i, F, L: L.nn.MultiheadAttention(6, 2)(a[None], a[None], a[None])[0],
    "encoder_layer": lambda a, i, F, L: L.nn.TransformerEncoderLayer(6, 2, 8)(a[None]),
    "ce_smoothing": lambda a, i, F, L: F.cross_entropy(a, i.repeat(2)[:4], label_smoothing=0.1),
    "baddbmm": lambda a, i, F, L: L.baddbmm(a[None, :, :4], a[None], a.t()[None]),
    "view_as_complex": lambda a, i, F, L: L.view_as_complex(a.reshape(4, 3, 2)).abs(),
    "conv1d": lambda a, i, F, L: F.conv1d(a[None], a[:2, None, :3].repeat(1, 4, 1)),
}


@pytest.mark.parametrize("name", list(WIDE))
def test_walk_reaches_the_leaf_before_and_after_backward(name, rng):
    # for ops whose torch graph is not mirrored node by node: the walk works and reaches the same leaves
    arr = rng.standard_normal((4, 6)).astype(np.float32)
    reached = []
    for lib in (torch, jtorch):
        lib.manual_seed(0)
        a = lib.tensor(arr, requires_grad=True)
        out = WIDE[name](a, lib.tensor([0, 2, 1]), lib.nn.functional, lib)
        before = _leaves(out.grad_fn, set())
        out.abs().sum().backward()
        after = _leaves(out.grad_fn, set())
        assert [id(v) for v in after] == [id(v) for v in before]
        reached.append(sorted(tuple(v.shape) for v in before))
        assert any(v is a for v in before)
    assert reached[1] == reached[0]


def test_dropout_p0_returns_the_input(rng):
    # torch returns the input itself for p=0 (and in eval mode), in place or not: no node, no write
    arr = rng.standard_normal(3).astype(np.float32)
    res = []
    for lib in (torch, jtorch):
        F = lib.nn.functional
        w = lib.tensor(arr, requires_grad=True)
        x = w * 2
        out = (F.dropout(x, 0.0) is x, F.dropout(x, 0.5, training=False) is x,
               F.dropout(x, 0.0, inplace=True) is x, x._version, type(F.dropout(x, 0.0).grad_fn).__name__)
        res.append(out)
    assert res[1] == res[0]
