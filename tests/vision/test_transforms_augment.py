"""Tone/histogram ops, perspective and elastic warps, and the augmentation policies
(AutoAugment, RandAugment, TrivialAugmentWide, AugMix) against torchvision: the functional forms
and every policy op with fixed magnitudes on tensors and PIL images; the random classes through
fixed parameters, their parameter ranges, and their sampling statistics."""
import numpy as np
import pytest
import torch
from PIL import Image

import jtorch
import jtorch.vision.transforms as JT
import jtorch.vision.transforms.functional as JF
from helpers import assert_close
from tv import torchvision

tv = torchvision()
T = tv.transforms
TF = T.functional


def _u8(rng, shape):
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _pil(rng, h=17, w=23):
    return Image.fromarray(_u8(rng, (h, w, 3)))


def _same(j, t, atol=0):
    if isinstance(t, Image.Image):
        assert isinstance(j, Image.Image) and j.mode == t.mode
        np.testing.assert_array_equal(np.array(j), np.array(t))
        return
    assert j.dtype == getattr(jtorch, str(t.dtype).split(".")[-1])
    if atol:
        assert_close(j, t, atol=atol, rtol=0)
    else:
        np.testing.assert_array_equal(np.asarray(j), t.numpy())


def _both(fn_name, x, *args, atol=0, **kwargs):
    if isinstance(x, Image.Image):
        _same(getattr(JF, fn_name)(x, *args, **kwargs), getattr(TF, fn_name)(x, *args, **kwargs))
    else:
        _same(getattr(JF, fn_name)(jtorch.from_numpy(x.copy()), *args, **kwargs),
              getattr(TF, fn_name)(torch.from_numpy(x.copy()), *args, **kwargs), atol=atol)


@pytest.mark.parametrize("shape", [(3, 17, 23), (2, 1, 9, 11), (17, 23)])
def test_tone_ops_uint8(rng, shape):
    x = _u8(rng, shape)
    if len(shape) == 2:  # torchvision wants a channel axis for the others
        for name, args in (("posterize", (3,)), ("solarize", (9,)), ("autocontrast", ()), ("equalize", ())):
            with pytest.raises(TypeError):
                getattr(TF, name)(torch.from_numpy(x), *args)
            with pytest.raises(TypeError):
                getattr(JF, name)(jtorch.from_numpy(x), *args)
        return
    for f in (0.0, 0.4, 1.8):
        _both("adjust_sharpness", x, f)
    for bits in (0, 1, 4, 8):
        _both("posterize", x, bits)
    for thr in (0, 100, 255):
        _both("solarize", x, thr)
    _both("autocontrast", x)
    _both("equalize", x)


def test_tone_ops_float_and_constant_channels(rng):
    x = rng.random((2, 3, 9, 10)).astype(np.float32)
    x[0, 1] = 0.25  # a constant channel: autocontrast leaves it
    _both("solarize", x, 0.5)
    _both("autocontrast", x, atol=1e-6)
    _both("adjust_sharpness", x, 1.7, atol=1e-6)
    u = _u8(rng, (3, 8, 8))
    u[2] = 7
    _both("autocontrast", u)
    _both("equalize", u)


def test_tone_ops_pil(rng):
    img = _pil(rng)
    _both("posterize", img, 3)
    _both("solarize", img, 120)
    _both("adjust_sharpness", img, 1.6)
    _both("autocontrast", img)
    _both("equalize", img)


def test_tone_op_errors(rng):
    x = jtorch.from_numpy(rng.random((3, 5, 5)).astype(np.float32))
    with pytest.raises(TypeError):
        JF.posterize(x, 3)
    with pytest.raises(TypeError):
        JF.equalize(x)
    with pytest.raises(ValueError):
        JF.posterize(jtorch.zeros(3, 4, 4, dtype=jtorch.uint8), 9)
    with pytest.raises(TypeError, match="Threshold"):
        JF.solarize(x, 2.0)
    with pytest.raises(ValueError):
        JF.adjust_sharpness(x, -1.0)
    with pytest.raises(TypeError):
        JF.autocontrast(jtorch.zeros(2, 4, 4))
    with pytest.raises(TypeError):
        JF.solarize(np.zeros((3, 4, 4)), 1)


SP = [[0, 0], [22, 0], [22, 16], [0, 16]]
EP = [[2, 3], [20, 1], [23, 15], [1, 14]]


@pytest.mark.parametrize("interp", [JT.InterpolationMode.BILINEAR, JT.InterpolationMode.NEAREST])
def test_perspective(rng, interp):
    tinterp = T.InterpolationMode(interp.value)
    u = _u8(rng, (2, 3, 17, 23))
    f = rng.random((3, 17, 23)).astype(np.float32)
    for fill in (None, 7, [1, 2, 3]):
        j = JF.perspective(jtorch.from_numpy(u), SP, EP, interp, fill)
        t = TF.perspective(torch.from_numpy(u), SP, EP, tinterp, fill)
        # the float32 grid may differ in the last bit: a rare pixel can round the other way
        assert (np.asarray(j).astype(int) != t.numpy()).mean() < 0.01
        assert np.abs(np.asarray(j).astype(int) - t.numpy()).max() <= (1 if interp.value == "bilinear" else 255)
    _same(JF.perspective(jtorch.from_numpy(f), SP, EP, interp), TF.perspective(torch.from_numpy(f), SP, EP, tinterp),
          atol=1e-5 if interp.value == "bilinear" else 0)
    img = _pil(rng)
    _same(JF.perspective(img, SP, EP, interp, fill=[4, 5, 6]), TF.perspective(img, SP, EP, tinterp, fill=[4, 5, 6]))
    with pytest.raises(ValueError, match="four corners"):
        JF.perspective(img, SP[:3], EP)


def test_elastic_transform(rng):
    f = rng.random((2, 3, 12, 14)).astype(np.float32)
    d = rng.normal(0, 0.1, (1, 12, 14, 2)).astype(np.float32)
    _same(JF.elastic_transform(jtorch.from_numpy(f), jtorch.from_numpy(d)),
          TF.elastic_transform(torch.from_numpy(f), torch.from_numpy(d)), atol=1e-5)
    u = _u8(rng, (3, 12, 14))
    for interp in (JT.InterpolationMode.NEAREST, JT.InterpolationMode.BILINEAR):
        j = JF.elastic_transform(jtorch.from_numpy(u), jtorch.from_numpy(d), interp, fill=[9.0, 8.0, 7.0])
        t = TF.elastic_transform(torch.from_numpy(u), torch.from_numpy(d), T.InterpolationMode(interp.value),
                                 fill=[9.0, 8.0, 7.0])
        assert np.abs(np.asarray(j).astype(int) - t.numpy()).max() <= 1
    img = Image.fromarray(u.transpose(1, 2, 0))
    _same(JF.elastic_transform(img, jtorch.from_numpy(d)), TF.elastic_transform(img, torch.from_numpy(d)))
    with pytest.raises(ValueError, match="displacement shape"):
        JF.elastic_transform(jtorch.from_numpy(u), jtorch.zeros(1, 12, 13, 2))
    with pytest.raises(TypeError):
        JF.elastic_transform(jtorch.from_numpy(u), d)


OPS = [("ShearX", 0.2), ("ShearY", -0.25), ("TranslateX", 4.6), ("TranslateY", -3.0), ("Rotate", 17.0),
       ("Brightness", 0.3), ("Color", -0.4), ("Contrast", 0.5), ("Sharpness", 0.6), ("Posterize", 3.0),
       ("Solarize", 140.0), ("AutoContrast", 0.0), ("Equalize", 0.0), ("Invert", 0.0), ("Identity", 0.0)]


@pytest.mark.parametrize("op,magnitude", OPS)
def test_policy_ops_match_torchvision(rng, op, magnitude):
    from jtorch.vision.transforms.autoaugment import _apply_op as j_apply
    from torchvision.transforms.autoaugment import _apply_op as t_apply
    u = _u8(rng, (3, 15, 18))
    j = j_apply(jtorch.from_numpy(u), op, magnitude, JT.InterpolationMode.NEAREST, [1.0, 2.0, 3.0])
    t = t_apply(torch.from_numpy(u), op, magnitude, T.InterpolationMode.NEAREST, [1.0, 2.0, 3.0])
    _same(j, t)
    img = _pil(rng, 15, 18)
    _same(j_apply(img, op, magnitude, JT.InterpolationMode.BILINEAR, None),
          t_apply(img, op, magnitude, T.InterpolationMode.BILINEAR, None))
    with pytest.raises(ValueError, match="not recognized"):
        j_apply(img, "Blur", 1.0, JT.InterpolationMode.NEAREST, None)


@pytest.mark.parametrize("policy", ["IMAGENET", "CIFAR10", "SVHN"])
def test_autoaugment_policies_and_fixed_draws(rng, monkeypatch, policy):
    j, t = JT.AutoAugment(JT.AutoAugmentPolicy[policy]), T.AutoAugment(T.AutoAugmentPolicy[policy])
    assert j.policies == t.policies and repr(j) == repr(t)
    for k, (mags, signed) in t._augmentation_space(10, (31, 47)).items():
        jm, js = j._augmentation_space(10, (31, 47))[k]
        assert js == signed
        assert_close(jm, mags)
    u = _u8(rng, (3, 16, 20))
    for pid in range(len(t.policies)):  # every sub-policy, both ops on, random signs
        probs, signs = [0.0, 0.0], [int(s) for s in rng.integers(0, 2, 2)]
        monkeypatch.setattr(T.AutoAugment, "get_params",
                            staticmethod(lambda n: (pid, torch.tensor(probs), torch.tensor(signs))))
        monkeypatch.setattr(JT.AutoAugment, "get_params",
                            staticmethod(lambda n: (pid, jtorch.tensor(probs), jtorch.tensor(signs))))
        got, want = np.asarray(j(jtorch.from_numpy(u))), t(torch.from_numpy(u)).numpy()
        # nearest-neighbour warps: a sample exactly between two pixels may round either way in float32
        assert (got != want).any(axis=0).mean() <= 0.01, pid
    with pytest.raises(ValueError):
        JT.AutoAugment("imagenet")


def test_autoaugment_get_params_ranges():
    jtorch.manual_seed(0)
    ids = [JT.AutoAugment.get_params(25)[0] for _ in range(300)]
    assert min(ids) == 0 and max(ids) == 24
    _, probs, signs = JT.AutoAugment.get_params(25)
    assert tuple(probs.shape) == (2,) and tuple(signs.shape) == (2,) and set(np.asarray(signs)) <= {0, 1}


@pytest.mark.parametrize("cls,args", [("RandAugment", (31, (33, 47))), ("TrivialAugmentWide", (31,)),
                                      ("AugMix", (10, (33, 47)))])
def test_augmentation_spaces_and_repr(cls, args):
    j, t = getattr(JT, cls)(), getattr(T, cls)()
    assert repr(j) == repr(t)
    js, ts = j._augmentation_space(*args), t._augmentation_space(*args)
    assert list(js) == list(ts)
    for k in ts:
        assert js[k][1] == ts[k][1]
        assert_close(js[k][0], ts[k][0])
    if cls == "AugMix":
        j2, t2 = JT.AugMix(all_ops=False), T.AugMix(all_ops=False)
        assert list(j2._augmentation_space(*args)) == list(t2._augmentation_space(*args))
        with pytest.raises(ValueError, match="severity"):
            JT.AugMix(severity=11)


def test_random_policies_sample_like_torchvision(rng):
    """Shapes, dtypes and kinds are kept; with every op in reach, most draws change the image."""
    jtorch.manual_seed(1)
    u = _u8(rng, (3, 16, 20))
    x = jtorch.from_numpy(u)
    for m in (JT.RandAugment(), JT.TrivialAugmentWide(), JT.AugMix(), JT.AutoAugment(),
              JT.RandAugment(num_ops=3, magnitude=20, fill=[1, 2, 3])):
        outs = [m(x) for _ in range(12)]
        assert all(tuple(o.shape) == (3, 16, 20) and o.dtype == jtorch.uint8 for o in outs)
        assert sum(not np.array_equal(np.asarray(o), u) for o in outs) >= 6
        assert isinstance(m(_pil(rng)), Image.Image)
    out = JT.AugMix(all_ops=False, chain_depth=2, mixture_width=2)(x)
    assert out.dtype == jtorch.uint8 and tuple(out.shape) == (3, 16, 20)


@pytest.mark.parametrize("name,args", [("RandomPosterize", (3,)), ("RandomSolarize", (90,)),
                                       ("RandomAdjustSharpness", (1.9,)), ("RandomAutocontrast", ()),
                                       ("RandomEqualize", ())])
def test_random_tone_transforms(rng, name, args):
    u = rng.integers(40, 120, (3, 32, 32), dtype=np.uint8)  # low contrast, enough pixels: every op changes it
    fn = {"RandomPosterize": "posterize", "RandomSolarize": "solarize", "RandomAdjustSharpness": "adjust_sharpness",
          "RandomAutocontrast": "autocontrast", "RandomEqualize": "equalize"}[name]
    assert repr(getattr(JT, name)(*args, p=0.3)) == repr(getattr(T, name)(*args, p=0.3))
    x = jtorch.from_numpy(u)
    _same(getattr(JT, name)(*args, p=1.0)(x), getattr(TF, fn)(torch.from_numpy(u), *args))
    np.testing.assert_array_equal(np.asarray(getattr(JT, name)(*args, p=0.0)(x)), u)
    img = _pil(rng)
    _same(getattr(JT, name)(*args, p=1.0)(img), getattr(TF, fn)(img, *args))
    jtorch.manual_seed(0)
    m = getattr(JT, name)(*args, p=0.3)
    applied = sum(not np.array_equal(np.asarray(m(x)), u) for _ in range(200))
    assert 35 <= applied <= 85  # about 30% of 200


def test_random_perspective(rng, monkeypatch):
    jtorch.manual_seed(0)
    for _ in range(50):
        start, end = JT.RandomPerspective.get_params(23, 17, 0.6)
        assert start == [[0, 0], [22, 0], [22, 16], [0, 16]]
        dw, dh = int(0.6 * 11), int(0.6 * 8)
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = end
        assert 0 <= x0 <= dw and 0 <= y0 <= dh and 22 - dw <= x1 <= 22 and 0 <= y1 <= dh
        assert 22 - dw <= x2 <= 22 and 16 - dh <= y2 <= 16 and 0 <= x3 <= dw and 16 - dh <= y3 <= 16
    monkeypatch.setattr(JT.RandomPerspective, "get_params", staticmethod(lambda w, h, d: (SP, EP)))
    img = _pil(rng)
    _same(JT.RandomPerspective(p=1.0, fill=3)(img), TF.perspective(img, SP, EP, fill=3))
    assert JT.RandomPerspective(p=0.0)(img) is img
    with pytest.raises(TypeError):
        JT.RandomPerspective(fill=object())


def test_elastic_transform_class(rng, monkeypatch):
    jtorch.manual_seed(0)
    d = JT.ElasticTransform.get_params([20.0, 10.0], [2.0, 3.0], [30, 40])
    assert tuple(d.shape) == (1, 30, 40, 2) and d.dtype == jtorch.float32
    a = np.asarray(d)
    assert np.abs(a[..., 0]).max() <= 20.0 / 30 and np.abs(a[..., 1]).max() <= 10.0 / 40
    assert a[..., 0].std() > 0.01 and a[..., 1].std() > 0.005
    # blurred noise is smooth: neighbours are far more alike than independent draws
    assert np.abs(np.diff(a[0, :, :, 0], axis=1)).mean() < 0.3 * np.abs(a[..., 0]).mean()
    u = _u8(rng, (3, 12, 14))
    fixed = rng.normal(0, 0.1, (1, 12, 14, 2)).astype(np.float32)
    monkeypatch.setattr(JT.ElasticTransform, "get_params", staticmethod(lambda *a: jtorch.from_numpy(fixed)))
    monkeypatch.setattr(T.ElasticTransform, "get_params", staticmethod(lambda *a: torch.from_numpy(fixed)))
    j = JT.ElasticTransform(interpolation=JT.InterpolationMode.NEAREST, fill=5)(jtorch.from_numpy(u))
    t = T.ElasticTransform(interpolation=T.InterpolationMode.NEAREST, fill=5)(torch.from_numpy(u))
    assert (np.asarray(j) != t.numpy()).any(axis=0).mean() <= 0.01
    with pytest.raises(TypeError):
        JT.ElasticTransform(alpha=3)
    with pytest.raises(ValueError):
        JT.ElasticTransform(sigma=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        JT.ElasticTransform(fill="x")


def test_linear_transformation(rng):
    n = 2 * 3 * 4
    mat = rng.normal(size=(n, n)).astype(np.float32)
    mean = rng.normal(size=n).astype(np.float32)
    jm = JT.LinearTransformation(jtorch.from_numpy(mat), jtorch.from_numpy(mean))
    tm = T.LinearTransformation(torch.from_numpy(mat), torch.from_numpy(mean))
    assert repr(jm) == repr(tm)
    x = rng.normal(size=(5, 2, 3, 4)).astype(np.float32)
    tx, jx = torch.from_numpy(x).requires_grad_(True), jtorch.from_numpy(x).requires_grad_(True)
    tout, jout = tm(tx), jm(jx)
    assert_close(jout, tout, rtol=1e-5, atol=1e-5)
    (tout ** 2).sum().backward()
    (jout ** 2).sum().backward()
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="square"):
        JT.LinearTransformation(jtorch.zeros(3, 4), jtorch.zeros(3))
    with pytest.raises(ValueError, match="mean_vector"):
        JT.LinearTransformation(jtorch.zeros(3, 3), jtorch.zeros(4))
    with pytest.raises(ValueError, match="dtype"):
        JT.LinearTransformation(jtorch.zeros(3, 3), jtorch.zeros(3, dtype=jtorch.float64))
    with pytest.raises(ValueError, match="incompatible"):
        jm(jtorch.zeros(1, 2, 3, 3))
