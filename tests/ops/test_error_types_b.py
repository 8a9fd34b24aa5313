"""Argument checks beyond op_db's error inputs (tests/ops/test_op_db_errors.py): the same checks in sibling ops
and other spellings (the 1-D fft functions, conv_transpose, torch.prelu, vstack, tensor_split, out=, ...).
Each case runs through torch and jtorch: torch's exception type, or torch's values where it does not raise."""
import numpy as np
import torch

import jtorch
from tests.helpers import assert_close


def _outcome(f):
    try:
        return f(), None
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return None, e


def _check(cases, inputs):
    """Run each ``(label, f)`` as ``f(lib, *tensors)`` with torch and with jtorch on the same ``inputs``."""
    for label, f in cases:
        t_res, t_err = _outcome(lambda: f(torch, *[torch.from_numpy(a.copy()) for a in inputs]))
        j_res, j_err = _outcome(lambda: f(jtorch, *[jtorch.tensor(a.copy()) for a in inputs]))
        if t_err is not None:
            assert isinstance(j_err, type(t_err)), f"{label}: torch raised {t_err!r}, jtorch {j_err!r}"
        else:
            assert j_err is None, f"{label}: torch returned, jtorch raised {j_err!r}"
            try:
                assert_close(j_res, t_res)
            except AssertionError as e:
                raise AssertionError(f"{label}: {e}") from None


def test_fft_dims_of_a_0dim_tensor_and_one_sided_transforms(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    s = np.array(rng.standard_normal(), np.float32)
    cases = [(f"{f}{kw}", lambda T, x, s, f=f, kw=kw: getattr(T.fft, f)(s, **kw))
             for f in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "irfftn", "hfftn", "fftn", "rfftn")
             for kw in ({}, {"dim": 0}, {"dim": -1})]
    cases += [
        ("fftn s longer than ndim", lambda T, x, s: T.fft.fftn(s, s=(2,))),
        ("fftn s longer than ndim 2-D", lambda T, x, s: T.fft.fftn(x, s=(2, 3, 4))),
        ("fftn s an int", lambda T, x, s: T.fft.fftn(x, s=3)),
        ("fftn dim ()", lambda T, x, s: T.fft.fftn(x, dim=())),
        ("fft2 dim out of range", lambda T, x, s: T.fft.fft2(x, dim=(0, 2))),
    ]
    cases += [(f"{f} no dims", lambda T, x, s, f=f, kw=kw: getattr(T.fft, f)(x, **kw))
              for f in ("rfftn", "irfftn", "hfftn", "ihfftn") for kw in ({"dim": ()}, {"s": ()})]
    _check(cases, [x, s])


def test_dims_of_a_0dim_tensor_roll_movedim(rng):
    s = np.array(rng.standard_normal(), np.float32)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    _check([
        ("roll dim -1", lambda T, s, x: T.roll(s, 1, -1)),
        ("roll no dims", lambda T, s, x: T.roll(s, 1)),
        ("movedim 0-dim", lambda T, s, x: T.movedim(s, 0, -1)),
        ("movedim 0-dim repeated", lambda T, s, x: T.movedim(s, (0, -1), (0, 0))),
        ("moveaxis repeated destination", lambda T, s, x: T.moveaxis(x, (0, 1), (2, -1))),
        ("movedim lengths differ", lambda T, s, x: x.movedim((0, 1), (2,))),
    ], [s, x])


def test_splits_narrow_and_stacks(rng):
    x = rng.standard_normal((4, 6, 2)).astype(np.float32)
    s = np.array(rng.standard_normal(), np.float32)
    _check([
        ("tensor_split 0 sections", lambda T, x, s: T.tensor_split(x, 0, 1)),
        ("tensor_split negative sections", lambda T, x, s: T.tensor_split(x, -2)),
        ("tensor_split a string", lambda T, x, s: T.tensor_split(x, "ab")),
        ("tensor_split 0-dim", lambda T, x, s: T.tensor_split(s, 1)),
        ("tensor_split indices", lambda T, x, s: T.tensor_split(x, [1, 5], 1)),
        ("hsplit 0 on an empty dim", lambda T, x, s: T.hsplit(x[:, :0], 0)),
        ("hsplit negative", lambda T, x, s: T.hsplit(x, -3)),
        ("hsplit float indices", lambda T, x, s: T.hsplit(x, [1, 2.5])),
        ("hsplit a 1-D tensor", lambda T, x, s: T.hsplit(x, T.tensor([1, 3]))),
        ("hsplit a 0-dim tensor", lambda T, x, s: T.hsplit(x, T.tensor(3))),
        ("vsplit float", lambda T, x, s: x.vsplit(2.0)),
        ("dsplit 0", lambda T, x, s: x.dsplit(0)),
        ("narrow negative length", lambda T, x, s: x.narrow(1, 5, -1)),
        ("narrow 0-dim", lambda T, x, s: T.narrow(s, 5, 0, -1)),
        ("narrow_copy negative length", lambda T, x, s: T.narrow_copy(x, 1, -1, -1)),
        ("narrow_copy dim past the end", lambda T, x, s: x.narrow_copy(3, 0, 1)),
        ("narrow_copy out resized", lambda T, x, s: T.narrow_copy(x, 1, 2, 3, out=T.empty(2))),
        ("vstack []", lambda T, x, s: T.vstack([])),
        ("dstack ()", lambda T, x, s: T.dstack(())),
        ("column_stack []", lambda T, x, s: T.column_stack([])),
        ("row_stack []", lambda T, x, s: T.row_stack([])),
    ], [x, s])


def test_factories(rng):
    lo = float(rng.uniform(-4, -1))
    _check([
        ("eye negative n", lambda T: T.eye(-1, 2)),
        ("eye out dtype", lambda T: T.eye(2, 3, out=T.empty(0, dtype=T.int32))),
        ("arange nan step", lambda T: T.arange(0, 1, float("nan"))),
        ("arange nan end", lambda T: T.arange(0, float("nan"))),
        ("arange inf start", lambda T: T.arange(float("-inf"), 1.0)),
        ("arange int64 truncated step", lambda T: T.arange(0, 10, 0.3, dtype=T.int64)),
        ("arange int64 truncated bounds", lambda T: T.arange(lo, 6.5, 1.5, dtype=T.int64)),
        ("arange int32 truncated step", lambda T: T.arange(lo, 3, 0.7, dtype=T.int32)),
        ("arange int16 negative step", lambda T: T.arange(7, -6, -3, dtype=T.int16)),
        ("arange out float", lambda T: T.arange(0, 6, 2, out=T.empty(0))),
        ("arange out int64 truncates", lambda T: T.arange(lo, 6.5, 1.5, out=T.empty(3, dtype=T.int64))),
        ("empty_permuted negative dim", lambda T: T.empty_permuted((2, 3), (-1, 0))),
        ("empty_permuted shape", lambda T: T.empty_permuted((2, 3, 4), (2, 0, 1)).stride()),
    ], [])


def test_reductions_tolerances_weights_out(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    e = np.zeros((0, 3), np.float32)
    _check([
        ("aminmax empty full", lambda T, x, e: T.aminmax(e)),
        ("aminmax empty dim", lambda T, x, e: T.aminmax(e, dim=0)),
        ("aminmax non-empty dim of an empty tensor", lambda T, x, e: T.aminmax(e, dim=1)),
        ("aminmax out int", lambda T, x, e: T.aminmax(x, dim=1, out=(T.empty(0, dtype=T.int64), T.empty(0)))),
        ("aminmax out", lambda T, x, e: tuple(T.aminmax(x, dim=1, keepdim=True, out=(T.empty(0), T.empty(0))))),
        ("amin out double", lambda T, x, e: T.amin(x, 0, out=T.empty(0, dtype=T.float64))),
        ("amax out", lambda T, x, e: T.amax(x, (0, 1), out=T.empty(2))),
        ("allclose negative atol", lambda T, x, e: T.allclose(x, x, atol=-1e-3)),
        ("isclose method negative rtol", lambda T, x, e: x.isclose(x, rtol=-1.0)),
        ("cov negative fweight", lambda T, x, e: T.cov(x, fweights=T.tensor([1, 0, -1, 2]))),
        ("complex out dtype", lambda T, x, e: T.complex(x, x, out=T.empty(0, dtype=T.complex128))),
        ("complex out", lambda T, x, e: T.complex(x, x, out=T.empty(0, dtype=T.complex64))),
        ("polar out dtype", lambda T, x, e: T.polar(x, x, out=T.empty(0, dtype=T.complex128))),
    ], [x, e])


def test_norms_prelu_embedding(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((3, 1)).astype(np.float32)
    F = "nn.functional"
    _check([
        ("layer_norm ()", lambda T, x, w: T.nn.functional.layer_norm(x, ())),
        ("layer_norm bias shape", lambda T, x, w: T.nn.functional.layer_norm(x, (4,), None, w[:, 0])),
        ("LayerNorm ()", lambda T, x, w: T.nn.LayerNorm(())(x)),
        ("RMSNorm ()", lambda T, x, w: T.nn.RMSNorm(())(x)),
        ("torch.prelu 2-D weight", lambda T, x, w: T.prelu(x, w)),
        ("Tensor.prelu 2-D weight", lambda T, x, w: x.prelu(w)),
        ("prelu 1-D input, channels", lambda T, x, w: T.prelu(x[0, 0], w[:, 0])),
        ("prelu 1-D input", lambda T, x, w: T.prelu(x[0, 0], w[:1, 0])),
        (f"{F}.prelu", lambda T, x, w: T.nn.functional.prelu(x, w[:, 0])),
        ("torch.embedding 1-D weight", lambda T, x, w: T.embedding(w[:, 0], T.tensor([[0, 2]]))),
        ("embedding 3-D weight", lambda T, x, w: T.nn.functional.embedding(T.tensor([1]), x)),
    ], [x, w])


def test_pooling_checks(rng):
    x = rng.standard_normal((1, 2, 5, 5, 5)).astype(np.float32)
    _check([
        ("max_pool2d negative pad", lambda T, x: T.nn.functional.max_pool2d(x[0], 2, 2, -1)),
        ("avg_pool2d negative pad", lambda T, x: T.nn.functional.avg_pool2d(x[0], 2, 2, -1)),
        ("avg_pool3d negative pad", lambda T, x: T.nn.functional.avg_pool3d(x, 2, 2, -1)),
        ("max_pool2d empty channels", lambda T, x: T.nn.functional.max_pool2d(x[:, :0, 0], 1)),
        ("avg_pool2d empty channels", lambda T, x: T.nn.functional.avg_pool2d(x[:, :0, 0], 1)),
        ("avg_pool3d empty spatial", lambda T, x: T.nn.functional.avg_pool3d(x[:, :, :0], 1)),
        ("max_pool2d empty batch", lambda T, x: T.nn.functional.max_pool2d(x[:0, :, 0], 2)),
        ("avg_pool1d empty length", lambda T, x: T.nn.functional.avg_pool1d(x[0, :, 0, 0, :0], 1)),
        ("adaptive_avg_pool2d one size", lambda T, x: T.nn.functional.adaptive_avg_pool2d(x[0], (2,))),
        ("adaptive_max_pool3d one size", lambda T, x: T.nn.functional.adaptive_max_pool3d(x, [2])),
        ("AdaptiveAvgPool2d one size", lambda T, x: T.nn.AdaptiveAvgPool2d((2,))(x[0])),
        ("adaptive_avg_pool1d two sizes", lambda T, x: T.nn.functional.adaptive_avg_pool1d(x[0, 0], (1, 2))),
        ("adaptive_max_pool1d negative", lambda T, x: T.nn.functional.adaptive_max_pool1d(x[0, 0], -1)),
        ("adaptive_avg_pool2d an int on 2-D", lambda T, x: T.nn.functional.adaptive_avg_pool2d(x[0, 0, 0], 2)),
        ("adaptive_avg_pool2d empty output", lambda T, x: T.nn.functional.adaptive_avg_pool2d(x[0], (0, 2))),
        ("adaptive_max_pool2d empty output",
         lambda T, x: T.nn.functional.adaptive_max_pool2d(x[0], (2, 0), return_indices=True)),
        ("adaptive_max_pool2d None size", lambda T, x: T.nn.functional.adaptive_max_pool2d(x[0], (None, 2))),
    ], [x])


def test_conv_transpose_and_conv_checks(rng):
    x = rng.standard_normal((1, 2, 5)).astype(np.float32)
    w = rng.standard_normal((2, 2, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    ct = "conv_transpose1d"
    _check([
        (f"{ct} negative padding", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, padding=-1)),
        (f"{ct} stride 0", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, stride=0)),
        (f"{ct} negative dilation", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, dilation=-1)),
        (f"{ct} groups 0", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, groups=0)),
        (f"{ct} groups 3", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, groups=3)),
        (f"{ct} 2-D weight", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w[0])),
        (f"{ct} 4-D weight", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w[None])),
        (f"{ct} bias size", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, b)),
        (f"{ct} float64 bias", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, b[:2].double())),
        (f"{ct} groups 2", lambda T, x, w, b: T.nn.functional.conv_transpose1d(x, w, b[:2], groups=2)),
        ("ConvTranspose1d bias", lambda T, x, w, b: T.nn.ConvTranspose1d(2, 2, 3)(x).shape),
        ("conv1d padding string", lambda T, x, w, b: T.nn.functional.conv1d(x, w, padding="full")),
        ("conv1d float64 bias", lambda T, x, w, b: T.nn.functional.conv1d(x, w, b[:2].double())),
        ("conv1d float64 weight", lambda T, x, w, b: T.nn.functional.conv1d(x, w.double())),
        ("conv2d 'same' 3-D weight", lambda T, x, w, b: T.nn.functional.conv2d(x[None], w, padding="same")),
        ("conv1d unbatched", lambda T, x, w, b: T.nn.functional.conv1d(x[0], w, b[:2], padding="same")),
    ], [x, w, b])
