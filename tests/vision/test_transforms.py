"""jtorch.vision.transforms against real torchvision on the same PIL images and tensors."""
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
TT = tv.transforms
TF = tv.transforms.functional


def _pil(rng, h=23, w=31, mode="RGB"):
    c = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    return Image.fromarray(a[:, :, 0] if c == 1 else a, mode)


def _tensor_pair(rng, shape=(3, 19, 26), dtype=np.float32):
    a = rng.integers(0, 256, shape).astype(np.uint8) if dtype == np.uint8 else rng.random(shape, dtype=np.float32)
    return torch.from_numpy(a.copy()), jtorch.from_numpy(a.copy())


def _same_pil(j, t, atol=0):
    assert isinstance(j, Image.Image) and j.mode == t.mode and j.size == t.size, (j, t)
    a, b = np.asarray(j).astype(np.int64), np.asarray(t).astype(np.int64)
    assert np.abs(a - b).max(initial=0) <= atol


def _close(j, t, atol=1e-5):
    """uint8 results may differ by one step of rounding; floats by atol."""
    if t.dtype == torch.uint8:
        assert j.dtype == jtorch.uint8 and tuple(j.shape) == tuple(t.shape)
        assert np.abs(np.asarray(j).astype(int) - t.numpy().astype(int)).max(initial=0) <= 1
    else:
        assert_close(j, t, atol=atol, rtol=1e-4)


# ------------------------------------------------------------------ conversions
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "I", "F", "1"])
def test_to_tensor_modes(rng, mode):
    img = _pil(rng).convert(mode)
    assert_close(JF.to_tensor(img), TF.to_tensor(img))
    assert_close(JF.pil_to_tensor(img), TF.pil_to_tensor(img))


def test_to_tensor_ndarray_and_errors(rng):
    a = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert_close(JT.ToTensor()(a), TT.ToTensor()(a))
    f = rng.random((5, 7), dtype=np.float32)
    assert_close(JT.ToTensor()(f), TT.ToTensor()(f))
    with pytest.raises(TypeError):
        JF.to_tensor([1, 2])
    with pytest.raises(TypeError):
        TF.to_tensor([1, 2])


@pytest.mark.parametrize("dtype,mode", [(np.float32, None), (np.uint8, None), (np.float32, "F")])
def test_to_pil_image(rng, dtype, mode):
    shape = (1, 6, 9) if mode == "F" else (3, 6, 9)
    t, j = _tensor_pair(rng, shape, dtype)
    _same_pil(JT.ToPILImage(mode)(j), TT.ToPILImage(mode)(t))
    assert repr(JT.ToPILImage(mode)) == repr(TT.ToPILImage(mode))


def test_to_pil_round_trip_gray(rng):
    t, j = _tensor_pair(rng, (1, 6, 9), np.uint8)
    _same_pil(JF.to_pil_image(j), TF.to_pil_image(t))
    with pytest.raises(ValueError):
        JF.to_pil_image(j, mode="RGB")


@pytest.mark.parametrize("dst", ["float32", "float64", "uint8", "int16"])
def test_convert_image_dtype(rng, dst):
    for src in (np.uint8, np.float32):
        t, j = _tensor_pair(rng, (3, 4, 5), src)
        assert_close(JT.ConvertImageDtype(getattr(jtorch, dst))(j), TT.ConvertImageDtype(getattr(torch, dst))(t))
    t, j = _tensor_pair(rng, (3, 4, 5), np.float32)
    with pytest.raises(RuntimeError):
        JF.convert_image_dtype(j, jtorch.int32)


# ------------------------------------------------------------------ normalize
def test_normalize(rng):
    t, j = _tensor_pair(rng, (2, 3, 5, 6))
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    assert_close(JT.Normalize(mean, std)(j), TT.Normalize(mean, std)(t))
    assert repr(JT.Normalize(mean, std)) == repr(TT.Normalize(mean, std))
    out = JF.normalize(j, mean, std, inplace=True)
    TF.normalize(t, mean, std, inplace=True)
    assert out is j
    assert_close(j, t)
    with pytest.raises(TypeError):
        JF.normalize(jtorch.zeros(3, 2, 2, dtype=jtorch.uint8), mean, std)
    with pytest.raises(ValueError):
        JF.normalize(j, mean, [1.0, 0.0, 1.0])


def test_seed_mnist_transform(rng):
    img = _pil(rng, 28, 28, "L")
    jt = JT.Compose([JT.ToTensor(), JT.Normalize((0.5,), (0.5,))])
    tt = TT.Compose([TT.ToTensor(), TT.Normalize((0.5,), (0.5,))])
    assert_close(jt(img), tt(img))
    assert repr(jt) == repr(tt)


# ------------------------------------------------------------------ resize / crop / pad
@pytest.mark.parametrize("interp", ["NEAREST", "BILINEAR", "BICUBIC", "LANCZOS"])
def test_resize_pil(rng, interp):
    img = _pil(rng)
    for size in (16, [12, 40], 40):
        j = JT.Resize(size, getattr(JT.InterpolationMode, interp))
        t = TT.Resize(size, getattr(TT.InterpolationMode, interp))
        _same_pil(j(img), t(img))
        assert repr(j) == repr(t)


@pytest.mark.parametrize("interp", ["NEAREST", "NEAREST_EXACT", "BILINEAR", "BICUBIC"])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_tensor(rng, interp, antialias):
    for dtype in (np.float32, np.uint8):
        t, j = _tensor_pair(rng, (2, 3, 19, 26), dtype)
        for size in ([9, 13], [31, 40], 11):
            out_j = JF.resize(j, size, getattr(JT.InterpolationMode, interp), antialias=antialias)
            out_t = TF.resize(t, size, getattr(TT.InterpolationMode, interp), antialias=antialias)
            # the same interpolate in float32, rounded alike; jtorch's float interpolate sums in another order
            # (about 1e-6 relative), which can tip a uint8 value that sits at .5 by one step
            _close(out_j, out_t, atol=1e-5)


def test_resize_max_size_and_pil_constant(rng):
    img = _pil(rng, 20, 50)
    _same_pil(JT.Resize(10, max_size=22)(img), TT.Resize(10, max_size=22)(img))
    _same_pil(JT.Resize(12, interpolation=Image.BICUBIC)(img), TT.Resize(12, interpolation=Image.BICUBIC)(img))
    with pytest.raises(ValueError):
        JF.resize(img, 10, max_size=10)
    with pytest.raises(TypeError):
        JF.resize(img, 10, interpolation="bilinear")


def test_crops(rng):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (3, 19, 26))
    for size in (10, (8, 13), (30, 40)):
        _same_pil(JT.CenterCrop(size)(img), TT.CenterCrop(size)(img))
        assert_close(JT.CenterCrop(size)(j), TT.CenterCrop(size)(t))
        assert repr(JT.CenterCrop(size)) == repr(TT.CenterCrop(size))
    for args in [(2, 3, 10, 12), (-2, 20, 10, 15)]:
        _same_pil(JF.crop(img, *args), TF.crop(img, *args))
        assert_close(JF.crop(j, *args), TF.crop(t, *args))
    _same_pil(JF.resized_crop(img, 2, 3, 10, 12, [20, 20]), TF.resized_crop(img, 2, 3, 10, 12, [20, 20]))
    _close(JF.resized_crop(j, 2, 3, 10, 12, [7, 7]), TF.resized_crop(t, 2, 3, 10, 12, [7, 7]))
    for a, b in zip(JT.TenCrop(8)(img), TT.TenCrop(8)(img)):
        _same_pil(a, b)
    for a, b in zip(JT.FiveCrop((6, 9))(j), TT.FiveCrop((6, 9))(t)):
        assert_close(a, b)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad(rng, mode):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (3, 7, 9), np.uint8)
    for padding in (2, [1, 3], [1, 2, 3, 4]):
        _same_pil(JT.Pad(padding, 7, mode)(img), TT.Pad(padding, 7, mode)(img))
        assert_close(JT.Pad(padding, 7, mode)(j), TT.Pad(padding, 7, mode)(t))
    assert repr(JT.Pad(2, 7, mode)) == repr(TT.Pad(2, 7, mode))
    with pytest.raises(ValueError):
        JT.Pad(2, padding_mode="wrap")


def test_random_crop_get_params_and_padding(rng):
    img = _pil(rng)
    jtorch.manual_seed(0)
    tr = JT.RandomCrop((10, 12), padding=2, pad_if_needed=True, fill=3)
    jtorch.manual_seed(5)
    out = tr(img)
    jtorch.manual_seed(5)
    padded = JF.pad(img, 2, 3)
    i, jj, h, w = JT.RandomCrop.get_params(padded, (10, 12))
    assert 0 <= i <= padded.size[1] - 10 and 0 <= jj <= padded.size[0] - 12
    _same_pil(out, TF.crop(TF.pad(img, 2, 3), i, jj, h, w))
    # pad_if_needed grows a small image to the crop size
    small = _pil(rng, 5, 6)
    jtorch.manual_seed(8)
    out = JT.RandomCrop(8, pad_if_needed=True, fill=1)(small)
    jtorch.manual_seed(8)
    padded = TF.pad(TF.pad(small, [2, 0], 1), [0, 3], 1)
    _same_pil(out, TF.crop(padded, *JT.RandomCrop.get_params(padded, (8, 8))))
    with pytest.raises(ValueError):
        JT.RandomCrop(40)(img)
    assert repr(JT.RandomCrop(10, 2)) == repr(TT.RandomCrop(10, 2))


def test_random_resized_crop(rng):
    img = _pil(rng, 40, 50)
    jt = JT.RandomResizedCrop(16)
    assert repr(jt) == repr(TT.RandomResizedCrop(16))
    jtorch.manual_seed(3)
    out = jt(img)
    jtorch.manual_seed(3)
    i, j, h, w = JT.RandomResizedCrop.get_params(img, jt.scale, jt.ratio)
    assert 0 < h <= 40 and 0 < w <= 50
    assert 0.08 * 2000 * 0.9 <= h * w <= 2000 * 1.1
    _same_pil(out, TF.resized_crop(img, i, j, h, w, [16, 16]))
    # impossible scale/ratio -> the central fallback, same as torchvision's
    assert (JT.RandomResizedCrop.get_params(img, (2.0, 3.0), (3.0, 4.0))
            == TT.RandomResizedCrop.get_params(img, (2.0, 3.0), (3.0, 4.0)))


# ------------------------------------------------------------------ flips / rotation / affine
def test_flips(rng):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (2, 3, 5, 6))
    _same_pil(JF.hflip(img), TF.hflip(img))
    _same_pil(JF.vflip(img), TF.vflip(img))
    assert_close(JF.hflip(j), TF.hflip(t))
    assert_close(JF.vflip(j), TF.vflip(t))
    assert_close(JT.RandomHorizontalFlip(p=1.0)(j), TF.hflip(t))
    assert_close(JT.RandomVerticalFlip(p=0.0)(j), t)
    assert repr(JT.RandomVerticalFlip(0.3)) == repr(TT.RandomVerticalFlip(0.3))
    jtorch.manual_seed(0)
    flips = [JT.RandomHorizontalFlip()(img).tobytes() == img.tobytes() for _ in range(40)]
    assert 5 < sum(flips) < 35  # both outcomes happen


@pytest.mark.parametrize("interp", ["NEAREST", "BILINEAR"])
def test_rotate(rng, interp):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (3, 15, 20))
    m = getattr(JT.InterpolationMode, interp)
    mt = getattr(TT.InterpolationMode, interp)
    # (angles avoid sample points exactly halfway between pixels, where nearest's tie-break
    # depends on the last bit of torch's float32 matmul)
    for angle, expand, center, fill in [(7.5, False, None, None), (-33.0, True, None, 0), (41, False, [3, 4], [1, 2, 3])]:
        _same_pil(JF.rotate(img, angle, m, expand, center, fill), TF.rotate(img, angle, mt, expand, center, fill))
        fill_t = [v / 4 for v in fill] if isinstance(fill, list) else fill
        assert_close(JF.rotate(j, angle, m, expand, center, fill_t), TF.rotate(t, angle, mt, expand, center, fill_t),
                     atol=1e-4)
    jt, tt = JT.RandomRotation(10, m), TT.RandomRotation(10, mt)
    assert repr(jt) == repr(tt)
    jtorch.manual_seed(1)
    out = jt(img)
    jtorch.manual_seed(1)
    angle = JT.RandomRotation.get_params(jt.degrees)
    assert -10 <= angle <= 10
    _same_pil(out, TF.rotate(img, angle, mt, fill=0))


def test_affine(rng):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (3, 15, 20), np.uint8)
    for args in [(20.0, [2, -3], 1.2, [5.0, 3.0]), (-10.0, [0, 0], 0.8, 10.0)]:
        _same_pil(JF.affine(img, *args), TF.affine(img, *args))
        _close(JF.affine(j, *args), TF.affine(t, *args))
        _close(JF.affine(j, *args, interpolation=JT.InterpolationMode.BILINEAR, fill=[9.0, 8.0, 7.0]),
               TF.affine(t, *args, interpolation=TT.InterpolationMode.BILINEAR, fill=[9.0, 8.0, 7.0]))
    kw = dict(degrees=15, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-5, 5, -3, 3))
    jt, tt = JT.RandomAffine(**kw), TT.RandomAffine(**kw)
    assert repr(jt) == repr(tt)
    jtorch.manual_seed(2)
    out = jt(img)
    jtorch.manual_seed(2)
    angle, tr, sc, sh = JT.RandomAffine.get_params(jt.degrees, jt.translate, jt.scale, jt.shear, list(img.size))
    assert -15 <= angle <= 15 and abs(tr[0]) <= 0.1 * 31 + 0.5 and 0.8 <= sc <= 1.2
    _same_pil(out, TF.affine(img, angle, list(tr), sc, list(sh)))
    with pytest.raises(ValueError):
        JF.affine(img, 0.0, [1], 1.0, 0.0)
    with pytest.raises(ValueError):
        JF.affine(img, 0.0, [1, 1], 0.0, 0.0)


# ------------------------------------------------------------------ color
@pytest.mark.parametrize("fn,factor", [("adjust_brightness", 1.3), ("adjust_contrast", 0.6),
                                       ("adjust_saturation", 1.7), ("adjust_hue", -0.2), ("adjust_hue", 0.35),
                                       ("adjust_gamma", 0.7)])
def test_color_adjust(rng, fn, factor):
    img = _pil(rng)
    _same_pil(getattr(JF, fn)(img, factor), getattr(TF, fn)(img, factor))
    for dtype in (np.float32, np.uint8):
        t, j = _tensor_pair(rng, (3, 6, 7), dtype)
        _close(getattr(JF, fn)(j, factor), getattr(TF, fn)(t, factor), atol=1e-4)


def test_color_jitter(rng):
    img = _pil(rng)
    jt = JT.ColorJitter(brightness=0.4, contrast=0.3, saturation=(0.5, 1.5), hue=0.1)
    assert repr(jt) == repr(TT.ColorJitter(brightness=0.4, contrast=0.3, saturation=(0.5, 1.5), hue=0.1))
    jtorch.manual_seed(4)
    out = jt(img)
    jtorch.manual_seed(4)
    order, b, c, s, h = JT.ColorJitter.get_params(jt.brightness, jt.contrast, jt.saturation, jt.hue)
    assert sorted(order.tolist()) == [0, 1, 2, 3] and 0.6 <= b <= 1.4 and -0.1 <= h <= 0.1
    ref = img
    for k in order.tolist():
        ref = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue][k](ref, [b, c, s, h][k])
    _same_pil(out, ref)
    assert JT.ColorJitter().brightness is None
    with pytest.raises(ValueError):
        JT.ColorJitter(hue=0.7)
    with pytest.raises(ValueError):
        JT.ColorJitter(brightness=-1)


def test_grayscale(rng):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (3, 6, 7), np.uint8)
    for n in (1, 3):
        _same_pil(JT.Grayscale(n)(img), TT.Grayscale(n)(img))
        assert_close(JT.Grayscale(n)(j), TT.Grayscale(n)(t))
        assert repr(JT.Grayscale(n)) == repr(TT.Grayscale(n))
    _same_pil(JT.RandomGrayscale(p=1.0)(img), TT.RandomGrayscale(p=1.0)(img))
    assert_close(JT.RandomGrayscale(p=0.0)(j), t)


def test_gaussian_blur(rng):
    img = _pil(rng)
    t, j = _tensor_pair(rng, (3, 12, 14))
    for ks, sigma in [(3, 0.8), ((5, 3), (1.5, 0.7)), (7, None)]:
        _same_pil(JF.gaussian_blur(img, ks, sigma), TF.gaussian_blur(img, ks, sigma), atol=1)
        assert_close(JF.gaussian_blur(j, ks, sigma), TF.gaussian_blur(t, ks, sigma), atol=1e-5)
    jt = JT.GaussianBlur(5, sigma=(0.5, 1.0))
    assert repr(jt) == repr(TT.GaussianBlur(5, sigma=(0.5, 1.0)))
    jtorch.manual_seed(6)
    out = jt(j)
    jtorch.manual_seed(6)
    s = JT.GaussianBlur.get_params(0.5, 1.0)
    assert 0.5 <= s <= 1.0
    assert_close(out, TF.gaussian_blur(t, [5, 5], [s, s]), atol=1e-5)
    with pytest.raises(ValueError):
        JF.gaussian_blur(j, 4)
    with pytest.raises(ValueError):
        JT.GaussianBlur(3, sigma=-1.0)


def test_random_erasing(rng):
    t, j = _tensor_pair(rng, (3, 20, 24))
    jt = JT.RandomErasing(p=1.0, value=0.5)
    assert repr(jt) == repr(TT.RandomErasing(p=1.0, value=0.5))
    jtorch.manual_seed(7)
    out = jt(j)
    jtorch.manual_seed(7)
    jtorch.rand(1)
    i, jj, h, w, v = JT.RandomErasing.get_params(j, scale=jt.scale, ratio=jt.ratio, value=[0.5])
    assert 0 < h < 20 and 0 < w < 24
    assert_close(out, TF.erase(t, i, jj, h, w, torch.tensor([0.5])[:, None, None]))
    assert_close(j, t)  # not in place
    out = JF.erase(j, 1, 2, 3, 4, 0.0, inplace=True)
    assert out is j
    assert_close(j, TF.erase(t, 1, 2, 3, 4, 0.0))
    with pytest.raises(ValueError):
        JT.RandomErasing(value="zero")
    with pytest.raises(ValueError):
        JT.RandomErasing(p=1.0, value=[1.0, 2.0])(j)


# ------------------------------------------------------------------ composition helpers
def test_lambda_apply_choice_order(rng):
    t, j = _tensor_pair(rng, (3, 4, 5))
    assert_close(JT.Lambda(lambda x: x * 2)(j), t * 2)
    with pytest.raises(TypeError):
        JT.Lambda(3)
    assert_close(JT.RandomApply([JT.Lambda(lambda x: x + 1)], p=1.0)(j), t + 1)
    assert_close(JT.RandomApply([JT.Lambda(lambda x: x + 1)], p=0.0)(j), t)
    out = JT.RandomChoice([JT.Lambda(lambda x: x + 1), JT.Lambda(lambda x: x - 1)])(j)
    assert np.allclose(np.asarray(out), (t + 1).numpy()) or np.allclose(np.asarray(out), (t - 1).numpy())
    out = JT.RandomOrder([JT.Lambda(lambda x: x * 2), JT.Lambda(lambda x: x + 1)])(j)
    assert np.allclose(np.asarray(out), (t * 2 + 1).numpy()) or np.allclose(np.asarray(out), ((t + 1) * 2).numpy())


def test_seed_pipeline_matches_with_same_draws(rng):
    """The seed's pipeline: deterministic parts equal torchvision's exactly; the random
    flip/rotation are replayed with the parameters jtorch drew."""
    img = _pil(rng, 300, 260)
    jt = JT.Compose([JT.Resize(256), JT.CenterCrop(224), JT.RandomHorizontalFlip(), JT.RandomRotation(10),
                     JT.ToTensor(), JT.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    tt = TT.Compose([TT.Resize(256), TT.CenterCrop(224), TT.RandomHorizontalFlip(), TT.RandomRotation(10),
                     TT.ToTensor(), TT.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    assert repr(jt) == repr(tt)
    jtorch.manual_seed(11)
    out = jt(img)
    jtorch.manual_seed(11)
    flip = bool(jtorch.rand(1) < 0.5)
    angle = JT.RandomRotation.get_params([-10.0, 10.0])
    ref = TF.center_crop(TF.resize(img, 256), 224)
    ref = TF.hflip(ref) if flip else ref
    ref = TF.normalize(TF.to_tensor(TF.rotate(ref, angle, fill=0)), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    assert_close(out, ref)


def test_v2_minimal(rng):
    from jtorch.vision.transforms import v2 as JV2
    from torchvision.transforms import v2 as TV2
    img = _pil(rng)
    j = JV2.Compose([JV2.ToImage(), JV2.ToDtype(jtorch.float32, scale=True), JV2.Normalize([0.5] * 3, [0.2] * 3)])
    t = TV2.Compose([TV2.ToImage(), TV2.ToDtype(torch.float32, scale=True), TV2.Normalize([0.5] * 3, [0.2] * 3)])
    assert_close(j(img), t(img).as_subclass(torch.Tensor))
    a = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    assert_close(JV2.ToImage()(a), TV2.ToImage()(a).as_subclass(torch.Tensor))
    assert_close(JV2.ToDtype(jtorch.float64)(JV2.ToImage()(a)), TV2.ToDtype(torch.float64)(TV2.ToImage()(a)).as_subclass(torch.Tensor))


def test_transforms_are_modules_like_torchvision(rng):
    """torchvision's tensor transforms are nn.Modules (they go in nn.Sequential); Compose,
    ToTensor and Lambda are plain callables."""
    for name, args in [("Normalize", ([0.5], [0.5])), ("Resize", (8,)), ("CenterCrop", (4,)),
                       ("RandomHorizontalFlip", ()), ("ColorJitter", ()), ("RandomErasing", ()),
                       ("ToTensor", ()), ("Lambda", (abs,)), ("Compose", ([],))]:
        assert isinstance(getattr(JT, name)(*args), jtorch.nn.Module) == isinstance(getattr(TT, name)(*args),
                                                                                      torch.nn.Module), name
    t, j = _tensor_pair(rng, (2, 3, 20, 24))
    seq_j = jtorch.nn.Sequential(JT.Resize(12), JT.CenterCrop(10), JT.Normalize([0.4] * 3, [0.3] * 3))
    seq_t = torch.nn.Sequential(TT.Resize(12), TT.CenterCrop(10), TT.Normalize([0.4] * 3, [0.3] * 3))
    assert_close(seq_j(j), seq_t(t), atol=1e-5)
    assert repr(seq_j) == repr(seq_t)
