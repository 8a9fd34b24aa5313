"""Meta tensors (device='meta'): shapes, dtypes, strides and errors against torch's, and the
big-model init pattern (build on meta, to_empty, reset_parameters / load_state_dict(assign=True))."""
import copy
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.nn as jnn
from helpers import assert_close


def _meta_like(lib, t):
    return t.to("meta") if isinstance(t, lib.Tensor) else t


def assert_same_meta(j, t, strides=True):
    """Same structure, shapes, dtypes, strides, devices and requires_grad as torch's result."""
    if isinstance(t, (tuple, list)):
        assert isinstance(j, (tuple, list)) and len(j) == len(t)
        for a, b in zip(j, t):
            assert_same_meta(a, b, strides)
        return
    assert isinstance(j, jtorch.Tensor), type(j)
    assert j.is_meta and t.is_meta
    assert str(j.device) == str(t.device) == "meta"
    assert j.device.type == "meta"
    assert tuple(j.shape) == tuple(t.shape)
    assert str(j.dtype) == str(t.dtype)
    if strides:
        assert j.stride() == t.stride(), (j.stride(), t.stride())
    assert j.requires_grad == t.requires_grad


# ---------------------------------------------------------------- creation
CREATIONS = {
    "empty": lambda L: L.empty(3, 4, device="meta"),
    "empty_tuple_dtype": lambda L: L.empty((2, 5), dtype=L.float64, device="meta"),
    "zeros": lambda L: L.zeros(3, 4, device="meta"),
    "ones_int": lambda L: L.ones(3, dtype=L.int32, device="meta"),
    "full": lambda L: L.full((2, 3), 7, device="meta"),
    "full_float": lambda L: L.full((2, 3), 0.5, device=L.device("meta")),
    "randn": lambda L: L.randn(4, 5, device="meta"),
    "rand_grad": lambda L: L.rand(4, device="meta", requires_grad=True),
    "randint": lambda L: L.randint(0, 10, (3, 2), device="meta"),
    "arange": lambda L: L.arange(6, device="meta"),
    "tensor": lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0]], device="meta"),
    "tensor_int": lambda L: L.tensor([1, 2, 3], device="meta"),
    "eye": lambda L: L.eye(3, device="meta"),
    "scalar": lambda L: L.empty((), device="meta"),
    "zero_size": lambda L: L.empty(2, 0, device="meta"),
    "empty_like": lambda L: L.empty_like(L.empty(2, 3, device="meta")),
    "zeros_like_dtype": lambda L: L.zeros_like(L.empty(2, 3, device="meta"), dtype=L.float16),
    "randn_like": lambda L: L.randn_like(L.empty(2, 3, device="meta")),
    "new_empty": lambda L: L.empty(2, device="meta").new_empty((4, 1)),
    "new_zeros": lambda L: L.empty(2, device="meta", dtype=L.int64).new_zeros(3),
    "to_meta": lambda L: L.tensor(np.arange(6.0).reshape(2, 3)).to("meta"),
    "to_meta_dtype": lambda L: L.tensor(np.arange(6.0).reshape(2, 3)).to("meta", L.float16),
    "under_device_ctx": lambda L: _in_meta(L, lambda: L.zeros(5, 2)),
    "under_device_ctx_randn": lambda L: _in_meta(L, lambda: L.randn(5)),
    "under_device_ctx_tensor": lambda L: _in_meta(L, lambda: L.tensor([1.0, 2.0])),
}


def _in_meta(L, f):
    with L.device("meta"):
        return f()


@pytest.mark.parametrize("name", sorted(CREATIONS))
def test_creation_matches_torch(name):
    assert_same_meta(CREATIONS[name](jtorch), CREATIONS[name](torch))


def test_device_objects():
    for L in (torch, jtorch):
        d = L.device("meta")
        assert str(d) == "meta" and repr(d) == "device(type='meta')" and d.type == "meta" and d.index is None
    x, tx = jtorch.empty(3, device="meta"), torch.empty(3, device="meta")
    assert x.device == jtorch.device("meta") and x.device == "meta"
    assert x.get_device() == tx.get_device() == -1
    assert x.is_cpu == tx.is_cpu and x.is_cuda == tx.is_cuda
    assert x.data_ptr() == tx.data_ptr() == 0
    assert not jtorch.empty(3).is_meta
    assert x.numel() == 3 and x.element_size() == 4 and x.nbytes == 12 and x.dim() == 1


def test_no_memory_is_allocated():
    # a petabyte of float32: only possible if nothing is allocated (as in torch)
    j = jtorch.empty(1 << 48, device="meta")
    t = torch.empty(1 << 48, device="meta")
    assert_same_meta(j, t)
    assert_same_meta(j.reshape(1 << 24, -1).sum(1), t.reshape(1 << 24, -1).sum(1))
    with jtorch.device("meta"):
        big = jnn.Linear(200_000, 200_000)  # 4e10 weights, initialisation draws nothing
    assert big.weight.is_meta and tuple(big.weight.shape) == (200_000, 200_000)


# ---------------------------------------------------------------- ops
def _x(L):
    return L.empty(3, 4, device="meta")


OPS = {
    "add": lambda L: _x(L) + _x(L),
    "add_scalar": lambda L: _x(L) * 2 + 1,
    "int_plus_float": lambda L: L.empty(3, dtype=L.int64, device="meta") + L.empty(3, device="meta"),
    "int_true_div": lambda L: L.empty(3, dtype=L.int64, device="meta") / 2,
    "cpu_scalar_tensor": lambda L: _x(L) * L.tensor(2.0, dtype=L.float64),
    "broadcast": lambda L: _x(L) + L.empty(4, device="meta"),
    "compare": lambda L: _x(L) > 0,
    "exp": lambda L: _x(L).exp(),
    "sum": lambda L: _x(L).sum(),
    "sum_int": lambda L: L.empty(3, dtype=L.int32, device="meta").sum(),
    "sum_dim": lambda L: _x(L).sum(0),
    "mean_keepdim": lambda L: _x(L).mean(1, keepdim=True),
    "max_dim": lambda L: tuple(_x(L).max(1)),
    "argmax": lambda L: _x(L).argmax(),
    "matmul": lambda L: _x(L) @ L.empty(4, 5, device="meta"),
    "bmm": lambda L: L.bmm(L.empty(2, 3, 4, device="meta"), L.empty(2, 4, 6, device="meta")),
    "t": lambda L: _x(L).t(),
    "t_contiguous": lambda L: _x(L).t().contiguous(),
    "permute": lambda L: L.empty(2, 3, 4, device="meta").permute(2, 0, 1),
    "select": lambda L: _x(L)[1],
    "column": lambda L: _x(L)[:, 1],
    "slice_step": lambda L: _x(L)[::2, 1:],
    "view": lambda L: _x(L).view(2, 6),
    "reshape": lambda L: _x(L).reshape(-1),
    "expand": lambda L: L.empty(3, 1, device="meta").expand(3, 5),
    "unsqueeze": lambda L: _x(L).unsqueeze(1),
    "split": lambda L: _x(L).split(2),
    "cat": lambda L: L.cat([_x(L), _x(L)], 1),
    "stack": lambda L: L.stack([_x(L), _x(L)]),
    "where": lambda L: L.where(L.empty(3, 4, dtype=L.bool, device="meta"), _x(L), 0.0),
    "to_dtype": lambda L: _x(L).to(L.int32),
    "half": lambda L: _x(L).half(),
    "clone": lambda L: _x(L).clone(),
    "softmax": lambda L: _x(L).softmax(-1),
    "index_tensor": lambda L: _x(L)[L.empty(5, dtype=L.int64, device="meta")],
    "index_cpu_indices": lambda L: _x(L)[L.tensor([0, 2]), L.tensor([1, 3])],
    "index_put_cpu_indices": lambda L: _x(L).index_put((L.tensor([0, 2]),), L.empty(2, 4, device="meta")),
    "index_put_cpu_mask": lambda L: _x(L).index_put((L.tensor([True, False, True]),), L.empty(4, device="meta")),
    "index_put_meta_mask": lambda L: _x(L).index_put((L.empty(3, dtype=L.bool, device="meta"),), L.empty(4, device="meta")),
    "setitem_cpu_mask_rows": lambda L: _x(L).__getitem__(L.tensor([True, False, True])),
    "randint_like": lambda L: L.randint_like(_x(L), 5),
    "normal_tensor_std": lambda L: L.normal(_x(L), L.empty(3, 4, device="meta")),
    "gather": lambda L: _x(L).gather(1, L.empty(3, 2, dtype=L.int64, device="meta")),
    "conv2d": lambda L: L.nn.functional.conv2d(L.empty(2, 3, 8, 8, device="meta"),
                                               L.empty(4, 3, 3, 3, device="meta"), padding=1),
    "max_pool": lambda L: L.nn.functional.max_pool2d(L.empty(2, 3, 8, 8, device="meta"), 2),
    "layer_norm": lambda L: L.nn.functional.layer_norm(L.empty(2, 5, 8, device="meta"), (8,)),
    "cross_entropy": lambda L: L.nn.functional.cross_entropy(L.empty(4, 10, device="meta"),
                                                             L.empty(4, dtype=L.int64, device="meta")),
    "embedding": lambda L: L.nn.functional.embedding(L.empty(2, 5, dtype=L.int64, device="meta"),
                                                     L.empty(10, 3, device="meta")),
    "sdpa": lambda L: L.nn.functional.scaled_dot_product_attention(*(L.empty(2, 4, 5, 8, device="meta"),) * 3),
    "dropout": lambda L: L.nn.functional.dropout(_x(L), 0.5),
    "einsum": lambda L: L.einsum("ij,jk->ik", _x(L), L.empty(4, 2, device="meta")),
    "inv": lambda L: L.linalg.inv(L.empty(2, 4, 4, device="meta")),
    "cholesky": lambda L: L.linalg.cholesky(L.empty(4, 4, device="meta")),
    "cholesky_ex": lambda L: tuple(L.linalg.cholesky_ex(L.empty(4, 4, device="meta"))),
    "solve": lambda L: L.linalg.solve(L.empty(4, 4, device="meta"), L.empty(4, 2, device="meta")),
    "sort_indices": lambda L: L.empty(4, 3, device="meta").sort(1)[1],
    "topk": lambda L: tuple(L.empty(4, 3, device="meta").topk(2)),
    "masked_fill": lambda L: _x(L).masked_fill(L.empty(3, 4, dtype=L.bool, device="meta"), 1.0),
    "index_add": lambda L: _x(L).index_add(0, L.empty(2, dtype=L.int64, device="meta"), L.empty(2, 4, device="meta")),
    "scatter": lambda L: _x(L).scatter(1, L.empty(3, 2, dtype=L.int64, device="meta"), 1.0),
    "bernoulli": lambda L: _x(L).bernoulli(),
    "normal_tensor_mean": lambda L: L.normal(_x(L), 2.0),
    "tensor_of_meta": lambda L: L.tensor(_x(L)),
    "embedding_bag": lambda L: L.nn.functional.embedding_bag(L.empty(2, 4, dtype=L.int64, device="meta"),
                                                             L.empty(10, 3, device="meta")),
}


# torch's LAPACK-backed results are column-major; jtorch's (CPU and meta alike) are row-major
COLUMN_MAJOR = {"inv", "cholesky", "cholesky_ex", "solve"}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_give_meta_results_like_torch(name):
    assert_same_meta(OPS[name](jtorch), OPS[name](torch), strides=name not in COLUMN_MAJOR)


def test_in_place_ops_keep_meta():
    for L in (torch, jtorch):
        x = L.empty(3, 4, device="meta")
        v0 = x._version
        x.add_(1).mul_(2)
        x.uniform_(-1, 1)
        x.normal_()
        x.fill_(3)
        x[0] = 1.0
        x[1:].zero_()
        x.copy_(L.tensor(np.ones((3, 4), np.float32)))  # a CPU source is a no-op copy into meta
        assert x.is_meta and tuple(x.shape) == (3, 4)
        assert x._version > v0
    j, t = jtorch.empty(3, 4, device="meta"), torch.empty(3, 4, device="meta")
    assert_same_meta(j.t().add_(1), t.t().add_(1))


# ---------------------------------------------------------------- errors
ERRORS = {
    "item": lambda L: L.empty((), device="meta").item(),
    "item_many": lambda L: _x(L).item(),
    "float": lambda L: float(L.empty(1, device="meta")),
    "bool": lambda L: bool(L.empty((), device="meta")),
    "tolist": lambda L: _x(L).tolist(),
    "numpy": lambda L: _x(L).numpy(),
    "np_asarray": lambda L: np.asarray(_x(L)),
    "cpu": lambda L: _x(L).cpu(),
    "to_cpu_dtype": lambda L: _x(L).to("cpu", L.float64),
    "copy_out": lambda L: L.ones(3, 4).copy_(_x(L)),
    "cat_meta_cpu": lambda L: L.cat([_x(L), L.ones(3, 4)]),
    "cat_cpu_meta": lambda L: L.cat([L.ones(3, 4), _x(L)]),
    "stack_meta_cpu": lambda L: L.stack([_x(L), L.ones(3, 4)]),
    "add_meta_cpu": lambda L: _x(L) + L.ones(3, 4),
    "add_cpu_meta": lambda L: L.ones(3, 4) + _x(L),
    "broadcast_error": lambda L: _x(L) + L.empty(5, device="meta"),
    "view_error": lambda L: _x(L).view(5),
    "mm_error": lambda L: L.mm(_x(L), _x(L)),
    "nonzero": lambda L: _x(L).nonzero(),
    "bool_mask": lambda L: _x(L)[_x(L) > 0],
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as te:
        ERRORS[name](torch)
    with pytest.raises(type(te.value)) as je:
        ERRORS[name](jtorch)
    # the gist of torch's message where it is about meta tensors or devices
    tmsg, jmsg = str(te.value), str(je.value)
    for key in ("cannot be called on meta tensors", "Cannot copy out of meta tensor", "expected device",
                "can't convert meta device type tensor to numpy"):
        if key in tmsg:
            assert key in jmsg, (jmsg, tmsg)
    if "expected device" in tmsg:
        assert jmsg == tmsg


def test_testing_assert_close_on_meta():
    for L in (torch, jtorch):
        L.testing.assert_close(L.empty(3, device="meta"), L.empty(3, device="meta"))
        with pytest.raises(AssertionError, match="shape"):
            L.testing.assert_close(L.empty(3, device="meta"), L.empty(4, device="meta"))
        with pytest.raises(AssertionError, match="device"):
            L.testing.assert_close(L.empty(3, device="meta"), L.ones(3))
        with pytest.raises(AssertionError, match="dtype"):
            L.testing.assert_close(L.empty(3, device="meta"), L.empty(3, device="meta", dtype=L.float64))


def test_repr_like_torch():
    cases = [lambda L: L.empty(3, 4, device="meta"),
             lambda L: L.empty(2, dtype=L.int64, device="meta"),
             lambda L: L.empty(2, dtype=L.bool, device="meta"),
             lambda L: L.empty(2, dtype=L.float64, device="meta"),
             lambda L: L.empty((), device="meta"),
             lambda L: L.empty(2, 0, device="meta"),
             lambda L: L.empty(3, device="meta", requires_grad=True),
             lambda L: L.empty(3, device="meta", requires_grad=True).sum(),
             lambda L: L.nn.Parameter(L.empty(2, device="meta"))]
    for c in cases:
        assert repr(c(jtorch)) == repr(c(torch))
        assert str(c(jtorch)) == str(c(torch))


# ---------------------------------------------------------------- autograd
def test_backward_gives_meta_gradients():
    res = {}
    for L in (torch, jtorch):
        w = L.empty(4, 3, device="meta", requires_grad=True)
        b = L.empty(3, device="meta", requires_grad=True)
        x = L.empty(5, 4, device="meta")
        loss = ((x @ w + b).tanh() ** 2).mean()
        loss.backward()
        res[L] = (loss, w.grad, b.grad)
    for j, t in zip(res[jtorch], res[torch]):
        assert_same_meta(j, t)
    assert res[jtorch][0].grad_fn.name() == res[torch][0].grad_fn.name()


def test_double_backward_on_meta():
    res = {}
    for L in (torch, jtorch):
        y = L.empty(3, device="meta", requires_grad=True)
        (g,) = L.autograd.grad((y * y).sum(), y, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), y)
        res[L] = (g, gg)
    for j, t in zip(res[jtorch], res[torch]):
        assert_same_meta(j, t)


def test_second_walk_of_a_linear_graph_allocates_nothing():
    # add/sum save no tensor, so torch walks their graph again; a petabyte input proves no zeros are made
    res = {}
    for L in (torch, jtorch):
        x = L.empty(1 << 48, device="meta", requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()
        res[L] = x.grad
    assert_same_meta(res[jtorch], res[torch])


def test_to_meta_is_differentiable_like_torch():
    for L in (torch, jtorch):
        c = L.ones(3, requires_grad=True)
        m = c.to("meta")
        assert m.is_meta and m.requires_grad and m.grad_fn.name() == "ToCopyBackward0"


# ---------------------------------------------------------------- modules: the big-model init pattern
def _model(nn):
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 6), nn.LayerNorm(6), nn.Linear(6, 2))


def _state(seed):
    """numpy values for _model's state dict (same for both libraries)."""
    tm = _model(torch.nn)
    rng = np.random.default_rng(seed)
    sd = {k: (rng.standard_normal(v.shape).astype(np.float32) if v.dtype.is_floating_point
              else np.asarray(v.numpy())) for k, v in tm.state_dict().items()}
    sd["1.running_var"] = np.abs(sd["1.running_var"]) + 0.5
    return sd


def test_module_built_on_meta_matches_torch():
    with torch.device("meta"):
        tm = _model(torch.nn)
    with jtorch.device("meta"):
        jm = _model(jnn)
    tsd, jsd = tm.state_dict(), jm.state_dict()
    assert list(tsd) == list(jsd)
    for k in tsd:
        assert_same_meta(jsd[k], tsd[k])
    for (jn, jp), (tn, tp) in zip(jm.named_parameters(), tm.named_parameters()):
        assert jn == tn and type(jp).__name__ == "Parameter" and jp.requires_grad
    x = jtorch.empty(2, 3, 5, 5, device="meta")
    tx = torch.empty(2, 3, 5, 5, device="meta")
    assert_same_meta(jm(x), tm(tx))
    jm(x).sum().backward()
    tm(tx).sum().backward()
    for jp, tp in zip(jm.parameters(), tm.parameters()):
        assert_same_meta(jp.grad, tp.grad)
    assert not jtorch.empty(2).is_meta  # the context ended


def test_to_empty_reset_parameters_then_load():
    sd = _state(0)
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)
    outs = {}
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        with L.device("meta"):
            m = _model(nn)
        m.to_empty(device="cpu")
        for k, v in m.state_dict().items():
            assert v.device.type == "cpu" and not v.is_meta, k
        for mod in m.modules():
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
        np.testing.assert_array_equal(np.asarray(m[1].running_var.detach()), np.ones(4, np.float32))
        m.load_state_dict({k: L.tensor(v) for k, v in sd.items()})
        outs[L] = m.eval()(L.tensor(x))
    assert_close(outs[jtorch], outs[torch], atol=1e-5)


def test_load_state_dict_assign_into_meta_model():
    sd = _state(2)
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 5)).astype(np.float32)
    outs = {}
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        with L.device("meta"):
            m = _model(nn)
        state = {k: L.tensor(v) for k, v in sd.items()}
        r = m.load_state_dict(state, assign=True)
        assert not r.missing_keys and not r.unexpected_keys
        for (k, v), p in zip(m.state_dict().items(), state.values()):
            assert not v.is_meta and v.device.type == "cpu"
        assert all(type(p).__name__ == "Parameter" and p.requires_grad for p in m.parameters())
        outs[L] = m.eval()(L.tensor(x))
    assert_close(outs[jtorch], outs[torch], atol=1e-5)


def test_load_state_dict_into_meta_without_assign_warns_and_stays_meta():
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        with L.device("meta"):
            m = nn.Linear(4, 3)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m.load_state_dict({"weight": L.ones(3, 4), "bias": L.ones(3)})
        assert any("meta parameter" in str(x.message) and "no-op" in str(x.message) for x in w)
        assert m.weight.is_meta and m.bias.is_meta


def test_skip_init_and_module_to_meta():
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        m = nn.utils.skip_init(nn.Linear, 5, 3)
        assert m.weight.device.type == "cpu" and tuple(m.weight.shape) == (3, 5) and not m.weight.is_meta
        m = nn.Linear(3, 3)
        m(L.ones(2, 3)).sum().backward()
        w = m.weight
        m.to("meta")  # torch makes new Parameters when the device changes to or from meta
        assert m.weight is not w and not w.is_meta
        assert m.weight.is_meta and m.weight.requires_grad and type(m.weight).__name__ == "Parameter"
        assert m.weight.grad.is_meta and tuple(m.weight.grad.shape) == (3, 3)
        m.to_empty(device="cpu")
        assert not m.weight.is_meta and not m.weight.grad.is_meta
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        class NoDevice(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.w = nn.Parameter(L.ones(n))
        with pytest.raises(RuntimeError, match="device"):
            nn.utils.skip_init(NoDevice, 3)
        with pytest.raises(RuntimeError, match="Expected a Module"):
            nn.utils.skip_init(int)


def test_transformer_and_lstm_on_meta_match_torch():
    res = {}
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        with L.device("meta"):
            emb = nn.Embedding(100, 16)
            enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True), 2)
            lstm = nn.LSTM(16, 8, batch_first=True)
        ids = L.empty(2, 5, dtype=L.int64, device="meta")
        h = enc(emb(ids))
        out, (hn, cn) = lstm(h)
        out.sum().backward()
        res[L] = [h, out, hn, cn, emb.weight.grad, lstm.weight_hh_l0.grad]
    for j, t in zip(res[jtorch], res[torch]):
        assert_same_meta(j.detach(), t.detach())


MODULES = {
    "gru": (lambda nn: nn.GRU(4, 6, num_layers=2, bidirectional=True), ((5, 2, 4),)),
    "mha": (lambda nn: nn.MultiheadAttention(8, 2), ((5, 2, 8), (5, 2, 8), (5, 2, 8))),
    "decoder": (lambda nn: nn.TransformerDecoderLayer(8, 2, 16), ((5, 2, 8), (4, 2, 8))),
    "conv_transpose": (lambda nn: nn.ConvTranspose2d(3, 4, 3, stride=2), ((2, 3, 5, 5),)),
    "group_norm": (lambda nn: nn.GroupNorm(2, 4), ((2, 4, 3, 3),)),
    "bilinear": (lambda nn: nn.Bilinear(3, 4, 5), ((2, 3), (2, 4))),
    "lstm_proj": (lambda nn: nn.LSTM(4, 6, proj_size=3), ((5, 2, 4),)),
    "upsample": (lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"), ((2, 4, 3, 3),)),
}


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for z in x for y in _flat(z)]
    return [x] if x is not None else []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_forward_backward_on_meta(name):
    make, shapes = MODULES[name]
    res = {}
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        with L.device("meta"):
            m = make(nn)
        outs = _flat(m(*[L.empty(*s, device="meta") for s in shapes]))
        if outs[0].requires_grad:
            outs[0].sum().backward()
        res[L] = [o.detach() for o in outs] + [p.grad for p in m.parameters() if p.grad is not None]
    assert len(res[jtorch]) == len(res[torch])
    for j, t in zip(res[jtorch], res[torch]):
        assert_same_meta(j, t)


def test_deepcopy_and_optimizer_on_meta():
    for L, nn in ((torch, torch.nn), (jtorch, jnn)):
        with L.device("meta"):
            m = nn.Linear(4, 2)
        m(L.empty(3, 4, device="meta")).sum().backward()
        c = copy.deepcopy(m)
        assert c.weight.is_meta and c.weight is not m.weight and m.weight.grad.is_meta
        for opt in (L.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), L.optim.Adam(m.parameters())):
            opt.step()
        assert m.weight.is_meta and m.bias.is_meta


def test_save_load_meta_tensors_both_ways(tmp_path):
    def make(L):
        return {"a": L.empty(3, 4, device="meta"), "b": L.ones(2),
                "p": L.nn.Parameter(L.empty(2, device="meta", dtype=L.float64)),
                "g": L.empty(5, device="meta", requires_grad=True)}
    torch.save(make(torch), tmp_path / "t.pt")
    jtorch.save(make(jtorch), tmp_path / "j.pt")
    for path in ("t.pt", "j.pt"):
        t = torch.load(tmp_path / path)
        j = jtorch.load(tmp_path / path)
        for k in ("a", "p", "g"):
            assert_same_meta(j[k], t[k])
            assert type(j[k]).__name__ == type(t[k]).__name__
        assert_close(j["b"], t["b"])
    import pickle
    for k, v in make(jtorch).items():
        if v.is_meta:
            r = pickle.loads(pickle.dumps(v))
            assert r.is_meta and tuple(r.shape) == tuple(v.shape) and r.dtype is v.dtype
            assert r.requires_grad == v.requires_grad and type(r) is type(v)


@pytest.mark.parametrize("dim", [1, -1, None])
def test_take_along_dim_on_meta_like_torch(dim):
    """take_along_dim checks negative indices by value on real tensors only: meta gives torch's meta result."""
    outs = []
    for lib in (torch, jtorch):
        x = lib.empty(3, 4, device="meta")
        idx = lib.empty((3, 2) if dim is not None else (5,), dtype=lib.long, device="meta")
        outs.append(lib.take_along_dim(x, idx, dim=dim) if dim is not None else lib.take_along_dim(x, idx))
    t, j = outs
    assert j.device.type == "meta" and tuple(j.shape) == tuple(t.shape) and str(j.dtype) == str(t.dtype)
