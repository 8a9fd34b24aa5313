"""op_db under jtorch.compile: the first float32 sample of a representative set of PyTorch's OpInfos, run as
``f(*tensors)`` compiled, against jtorch's eager result and torch's (scripts/conformance.py --compile, whose
per-sample check this reuses: values, shapes, dtypes, strides where eager is contiguous, the same exception
type where eager raises, and a third call that reuses the second call's program).

Ops whose output shape depends on tensor values graph-break, as torch's do without
capture_scalar_outputs: _KNOWN lists them with the reason, and each must still break, with
``fullgraph=False`` giving eager's result with one graph-break warning."""
import os
import sys

import pytest
import torch

import jtorch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import conformance as C  # noqa: E402
import conformance_compile as CC  # noqa: E402

_POINTWISE = ["abs", "add", "div[no_rounding_mode]", "pow", "exp", "sin", "tanh", "sigmoid", "clamp", "where",
              "lerp", "addcmul", "nan_to_num", "logit", "xlogy"]
_REDUCTION = ["sum", "mean", "argmax", "std", "logsumexp", "cumsum", "aminmax", "max[reduction_with_dim]", "sort",
              "topk", "histogram"]
_INDEXING = ["gather", "scatter", "scatter_reduce[sum]", "index_select", "index_add", "index_put", "masked_fill",
             "take_along_dim", "__getitem__", "searchsorted", "nonzero_static"]
_SHAPE = ["cat", "stack", "reshape", "permute", "transpose", "t", "squeeze", "repeat", "flip", "diagonal",
          "as_strided", "linspace", "linspace[tensor_overload]", "arange"]
_LINALG = ["matmul", "addmm", "einsum", "linalg.solve", "linalg.inv", "linalg.cholesky", "linalg.qr", "linalg.svd",
           "linalg.eigh", "linalg.ldl_factor", "matrix_exp"]
_NN = ["softmax", "nn.functional.layer_norm", "nn.functional.group_norm", "nn.functional.batch_norm",
       "nn.functional.conv2d", "nn.functional.linear", "nn.functional.max_pool2d",
       "nn.functional.interpolate[bilinear]", "nn.functional.pad[reflect]", "nn.functional.embedding",
       "nn.functional.cross_entropy", "nn.functional.scaled_dot_product_attention", "nn.functional.max_unpool2d"]
_RANDOM = ["nn.functional.dropout", "multinomial", "normal"]  # (shapes and dtypes only)

# ops that still differ under compile, with the reason; each is asserted to still give this verdict
_KNOWN = {
    "nonzero": ("break", "output shape depends on the values (torch breaks too without capture_scalar_outputs)"),
    "masked_select": ("break", "output shape depends on the mask's values"),
    "unique": ("break", "output shape depends on the values"),
    "argwhere": ("break", "output shape depends on the values"),
    "item": ("break", "returns a Python number read from the tensor"),
    "equal": ("break", "returns a Python bool read from the tensors"),
    "chalf": ("break", "complex32 tensors hold no jax array (jtorch/_chalf.py): not traced"),
    "histogramdd": ("break", "computed on the host with numpy (jtorch/_ops/histograms.py), though its shapes "
                             "depend on the bins only"),
}

_OPS = _POINTWISE + _REDUCTION + _INDEXING + _SHAPE + _LINALG + _NN + _RANDOM + sorted(_KNOWN)


@pytest.fixture(scope="module")
def infos():
    from torch.testing._internal.common_methods_invocations import op_db
    return {label: (info, name) for info, name, label in C._selected(op_db, _Everything())}


class _Everything:
    ops, top_level_only = "", False


@pytest.mark.parametrize("label", _OPS)
def test_first_float32_sample_compiled_matches_eager_and_torch(label, infos, rng):
    info, name = infos[label]
    torch.manual_seed(int(rng.integers(2 ** 31)))  # op_db draws its samples from torch's generator
    s = next(iter(info.sample_inputs("cpu", torch.float32, requires_grad=False)))
    call = C._j_caller(info, name, jtorch)
    assert call is not None, f"jtorch lacks {label}"
    expected = _KNOWN.get(label, ("ok", None))[0]
    # clean ops: fullgraph=True (no graph break, one program reused); known breaks: both modes
    verdict, msg = CC.run_sample(info, name, s, call, torch, jtorch,
                                 modes=(True,) if expected == "ok" else (False, True))
    assert verdict == expected, f"{label}: {verdict}: {msg}"


# a few integer ops (first int64 sample): integer arithmetic and index checks that a trace cannot read
_INT64 = ["bitwise_left_shift", "floor_divide", "unravel_index", "bincount"]
_KNOWN_INT64 = {"bincount": ("break", "output length is the largest value plus one")}


@pytest.mark.parametrize("label", _INT64)
def test_first_int64_sample_compiled_matches_eager_and_torch(label, infos, rng):
    info, name = infos[label]
    torch.manual_seed(int(rng.integers(2 ** 31)))
    s = next(iter(info.sample_inputs("cpu", torch.int64, requires_grad=False)))
    expected = _KNOWN_INT64.get(label, ("ok", None))[0]
    verdict, msg = CC.run_sample(info, name, s, C._j_caller(info, name, jtorch), torch, jtorch,
                                 modes=(True,) if expected == "ok" else (False, True))
    assert verdict == expected, f"{label}: {verdict}: {msg}"


def test_as_strided_of_partial_views_compiled_matches_eager_and_torch(infos, rng):
    """Every partial_views sample (a view of base[5:15], as_strided at its own offset, at 0 and at 10: outside
    the view's elements). A compiled function's view argument is its base's storage (jtorch/_compile_args.py)."""
    info, name = infos["as_strided[partial_views]"]
    torch.manual_seed(int(rng.integers(2 ** 31)))
    for dtype in (torch.float32, torch.int64):
        for s in info.sample_inputs("cpu", dtype, requires_grad=False):
            verdict, msg = CC.run_sample(info, name, s, C._j_caller(info, name, jtorch), torch, jtorch, modes=(True,))
            assert verdict == "ok", f"{dtype} {s.kwargs}: {verdict}: {msg}"


def test_narrow_tensor_start_and_index_put_mask_compiled_match_eager_and_torch(infos, rng):
    """int64 samples that read a tensor's value where torch's trace does not: narrow's 0-dim tensor start (a
    traced slice start) and index_put's bool mask with row-shaped values (a where())."""
    torch.manual_seed(int(rng.integers(2 ** 31)))
    picked = []
    for label, want in (("narrow", lambda s: isinstance(s.args[1], torch.Tensor)),
                        ("index_put", lambda s: s.args[0][0].dtype == torch.bool)):
        info, name = infos[label]
        picked += [(info, name, s) for s in info.sample_inputs("cpu", torch.int64, requires_grad=False) if want(s)]
    assert len(picked) >= 3
    for info, name, s in picked[:1] + [p for p in picked if p[1] == "index_put"]:
        verdict, msg = CC.run_sample(info, name, s, C._j_caller(info, name, jtorch), torch, jtorch, modes=(True,))
        assert verdict == "ok", f"{name} {s.args}: {verdict}: {msg}"


def test_nonzero_static_pads_cuts_and_checks_size_like_torch(rng):
    a = (rng.standard_normal((3, 4)) > 0.3).astype("float32")
    for size, fill in [(0, -1), (2, -1), (12, 7)]:
        want = torch.nonzero_static(torch.from_numpy(a), size=size, fill_value=fill)
        got = jtorch.nonzero_static(jtorch.tensor(a), size=size, fill_value=fill)
        assert got.dtype == jtorch.int64 and got.tolist() == want.tolist()
    assert tuple(jtorch.tensor(1.5).nonzero_static(size=2).shape) == tuple(torch.tensor(1.5).nonzero_static(size=2).shape)
    with pytest.raises(RuntimeError, match="non-negative"):
        jtorch.nonzero_static(jtorch.tensor(a), size=-1)


def test_complex32_argument_breaks_the_graph_with_eagers_result(rng):
    """(A known limitation: complex32 tensors hold no jax array, jtorch/_chalf.py; this was a crash inside
    jtorch.compile's recording call.)"""
    a = rng.standard_normal((2, 3)).astype("float32")
    x = jtorch.tensor(a).chalf()
    f = jtorch.compile(lambda x: x * 2)
    with pytest.warns(UserWarning, match="complex32 argument"):
        outs = [f(x) for _ in range(3)]
    want = (torch.from_numpy(a).chalf() * 2).to(torch.complex64).numpy()
    for o in outs:
        assert o.dtype == jtorch.complex32
        assert (o.to(jtorch.complex64).numpy() == want).all()
    with pytest.raises(jtorch._dynamo.exc.Unsupported, match="complex32 argument"):  # (fullgraph=True)
        jtorch.compile(lambda x: x * 2, fullgraph=True)(x)
