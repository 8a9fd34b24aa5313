"""jtorch.vision.transforms.v2 against real torchvision 0.28 on the same seeded samples (images, videos,
boxes, masks, key points in nested dicts / tuples): outputs, output types and metadata, errors.

jtorch's generator does not reproduce torch's stream, so a random transform is compared by recording the
parameters jtorch drew (its make_params) and handing the same parameters to torchvision's transform."""

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import jtorch
from helpers import assert_close
from tv import torchvision

tv = torchvision()
import torchvision.transforms.v2 as V2  # noqa: E402  (after tv(): its import fix)
import torchvision.transforms.v2.functional as VF  # noqa: E402
from torchvision import tv_tensors as TVT  # noqa: E402

import jtorch.vision.transforms.v2 as J2  # noqa: E402
import jtorch.vision.transforms.v2.functional as JF  # noqa: E402
from jtorch.vision import tv_tensors as JVT  # noqa: E402

H, W = 14, 18


# ------------------------------------------------------------------ samples in both frameworks
def _boxes(rng, n=4, h=H, w=W):
    x1 = rng.uniform(0, w - 4, n)
    y1 = rng.uniform(0, h - 4, n)
    x2 = np.minimum(x1 + rng.uniform(2, 9, n), w)
    y2 = np.minimum(y1 + rng.uniform(2, 9, n), h)
    return np.stack([x1, y1, x2, y2], 1).astype(np.float32)


def _sample(rng, dtype=np.uint8, fmt="XYXY", clamping_mode="soft", n=4):
    """(jtorch sample, torch sample): an image, boxes, masks, labels and key points in a target dict."""
    img = rng.integers(0, 256, (3, H, W)).astype(np.uint8)
    if dtype == np.float32:
        img = (img / 255.0).astype(np.float32)
    xyxy = _boxes(rng, n)
    boxes = np.asarray(VF.convert_bounding_box_format(torch.from_numpy(xyxy), "XYXY", fmt))
    masks = (rng.random((n, H, W)) > 0.5).astype(np.uint8)
    labels = rng.integers(1, 5, n).astype(np.int64)
    points = rng.uniform(0, [W - 1, H - 1], (n, 3, 2)).astype(np.float32)

    def build(m, T):
        return (T.Image(m.from_numpy(img.copy())),
                {"boxes": T.BoundingBoxes(m.from_numpy(boxes.copy()), format=fmt, canvas_size=(H, W),
                                          clamping_mode=clamping_mode),
                 "masks": T.Mask(m.from_numpy(masks.copy())), "labels": m.from_numpy(labels.copy()),
                 "points": T.KeyPoints(m.from_numpy(points.copy()), canvas_size=(H, W)),
                 "image_id": 7})
    return build(jtorch, JVT), build(torch, TVT)


def _same(j, t, atol=1e-4):
    """Same structure, same leaf types (tv_tensor classes by name), metadata and values."""
    if isinstance(t, dict):
        assert isinstance(j, dict) and j.keys() == t.keys()
        for k in t:
            _same(j[k], t[k], atol)
    elif isinstance(t, (list, tuple)):
        assert type(j) is type(t) and len(j) == len(t)
        for a, b in zip(j, t):
            _same(a, b, atol)
    elif isinstance(t, torch.Tensor):
        assert type(j).__name__ == type(t).__name__, (type(j), type(t))
        assert isinstance(j, jtorch.Tensor)
        if isinstance(t, TVT.BoundingBoxes):
            assert (j.format.name, tuple(j.canvas_size), j.clamping_mode) == \
                (t.format.name, tuple(t.canvas_size), t.clamping_mode)
        if isinstance(t, TVT.KeyPoints):
            assert tuple(j.canvas_size) == tuple(t.canvas_size)
        assert_close(j.as_subclass(jtorch.Tensor), t.as_subclass(torch.Tensor), atol=atol, rtol=1e-5)
    elif isinstance(t, PILImage.Image):
        assert isinstance(j, PILImage.Image) and j.mode == t.mode and j.size == t.size
        assert np.abs(np.asarray(j).astype(int) - np.asarray(t).astype(int)).max(initial=0) == 0
    else:
        assert j == t, (j, t)


def _to_torch(v):
    if isinstance(v, jtorch.Tensor):
        return torch.from_numpy(np.asarray(v.as_subclass(jtorch.Tensor)).copy())
    if isinstance(v, dict):
        return {k: _to_torch(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_to_torch(x) for x in v)
    return v


def _with_jtorch_params(jt, tt, sample_j, sample_t, seed=0):
    """Run jt on its sample, then tt on its sample with the parameters jt drew."""
    drawn = {}
    make = jt.make_params

    def record(flat):
        drawn["params"] = make(flat)
        return drawn["params"]
    jt.make_params = record
    jtorch.manual_seed(seed)
    out_j = jt(sample_j)
    tt.make_params = lambda flat: _to_torch(drawn["params"])
    return out_j, tt(sample_t), drawn["params"]


# ------------------------------------------------------------------ geometry on a whole detection sample
_GEOMETRY = [
    ("RandomHorizontalFlip", dict(p=1.0)),
    ("RandomVerticalFlip", dict(p=1.0)),
    ("Resize", dict(size=(9, 11))),
    ("Resize", dict(size=10, max_size=15)),
    ("CenterCrop", dict(size=(10, 20))),
    ("Pad", dict(padding=[1, 2, 3, 4], fill={JVT.Image: 9, "others": 0})),
    ("RandomResizedCrop", dict(size=8)),
    ("RandomCrop", dict(size=(10, 20), pad_if_needed=True)),
    ("RandomCrop", dict(size=10, padding=2, padding_mode="constant")),
    ("RandomZoomOut", dict(p=1.0, fill=3)),
    ("RandomRotation", dict(degrees=30)),
    ("RandomRotation", dict(degrees=30, expand=True, center=[3, 4])),
    ("RandomAffine", dict(degrees=20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -5, 5))),
    ("RandomPerspective", dict(p=1.0, distortion_scale=0.4)),
    ("ElasticTransform", dict(alpha=20.0, sigma=3.0)),
    ("RandomIoUCrop", dict()),
    ("ScaleJitter", dict(target_size=(20, 16))),
    ("RandomShortestSize", dict(min_size=[8, 10], max_size=20)),
    ("RandomResize", dict(min_size=8, max_size=12)),
]


def _tv_args(args):
    out = dict(args)
    for k, v in args.items():
        if isinstance(v, dict):
            out[k] = {getattr(TVT, key.__name__) if isinstance(key, type) else key: x for key, x in v.items()}
    return out


@pytest.mark.parametrize("name,args", _GEOMETRY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(_GEOMETRY)])
def test_geometry_detection_sample(rng, name, args):
    """Image, boxes, masks, key points and labels move together; the dict, the int and the labels pass."""
    sj, st = _sample(rng)
    out_j, out_t, _ = _with_jtorch_params(getattr(J2, name)(**args), getattr(V2, name)(**_tv_args(args)), sj, st)
    _same(out_j, out_t)
    assert isinstance(out_j[1]["boxes"], JVT.BoundingBoxes) and isinstance(out_j[1]["masks"], JVT.Mask)
    assert type(out_j[1]["labels"]) is jtorch.Tensor


@pytest.mark.parametrize("fmt", ["XYWH", "CXCYWH"])
@pytest.mark.parametrize("clamping_mode", ["hard", None])
@pytest.mark.parametrize("name,args", [_GEOMETRY[i] for i in (0, 2, 6, 12, 13, 14, 11)])
def test_geometry_box_formats_and_clamping(rng, fmt, clamping_mode, name, args):
    sj, st = _sample(rng, fmt=fmt, clamping_mode=clamping_mode)
    out_j, out_t, _ = _with_jtorch_params(getattr(J2, name)(**args), getattr(V2, name)(**args), sj, st)
    _same(out_j, out_t)


def test_integer_boxes(rng):
    boxes = (_boxes(rng) * 1).astype(np.int64)
    for name, args in [("RandomHorizontalFlip", dict(p=1.0)), ("Resize", dict(size=(9, 11))),
                       ("RandomAffine", dict(degrees=25)), ("CenterCrop", dict(size=9))]:
        for fmt in ("XYXY", "XYWH", "CXCYWH"):
            bj = JVT.BoundingBoxes(jtorch.from_numpy(boxes.copy()), format="XYXY", canvas_size=(H, W))
            bt = TVT.BoundingBoxes(torch.from_numpy(boxes.copy()), format="XYXY", canvas_size=(H, W))
            bj = JF.convert_bounding_box_format(bj, new_format=fmt)
            bt = VF.convert_bounding_box_format(bt, new_format=fmt)
            _same(bj, bt)
            out_j, out_t, _ = _with_jtorch_params(getattr(J2, name)(**args), getattr(V2, name)(**args), bj, bt)
            _same(out_j, out_t)
            assert out_j.dtype == jtorch.int64


def test_video_and_plain_tensor_rules(rng):
    """A plain tensor is the image only when the sample has no Image / Video / PIL image, and only the first."""
    v = rng.integers(0, 256, (2, 3, H, W)).astype(np.uint8)
    a = rng.random((3, H, W), dtype=np.float32)
    flip_j, flip_t = J2.RandomHorizontalFlip(p=1.0), V2.RandomHorizontalFlip(p=1.0)
    # a video and a plain tensor: the plain tensor passes
    sj = (JVT.Video(jtorch.from_numpy(v.copy())), jtorch.from_numpy(a.copy()))
    st = (TVT.Video(torch.from_numpy(v.copy())), torch.from_numpy(a.copy()))
    _same(flip_j(*sj), flip_t(*st))
    # two plain tensors: only the first one is flipped
    sj = [jtorch.from_numpy(a.copy()), jtorch.from_numpy(a.copy())]
    st = [torch.from_numpy(a.copy()), torch.from_numpy(a.copy())]
    out_j = flip_j(sj)
    _same(out_j, flip_t(st))
    assert not bool((out_j[0] == out_j[1]).all())
    # a single plain tensor is an image (v1 compatibility); the output stays plain
    out = J2.Resize(7)(jtorch.from_numpy(a.copy()))
    assert type(out) is jtorch.Tensor
    _same(out, V2.Resize(7)(torch.from_numpy(a.copy())))
    # a PIL image with a plain tensor: the tensor passes
    pil = PILImage.fromarray(v[0].transpose(1, 2, 0))
    out_j = flip_j({"img": pil, "t": jtorch.from_numpy(a.copy())})
    out_t = flip_t({"img": pil, "t": torch.from_numpy(a.copy())})
    _same(out_j, out_t)


@pytest.mark.parametrize("interp", ["BILINEAR", "BICUBIC", "NEAREST", "NEAREST_EXACT"])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_image_uint8_and_float(rng, interp, antialias):
    """v2 resizes uint8 with interpolate's own uint8 kernels (bilinear, bicubic): exact."""
    for dtype in (np.uint8, np.float32):
        a = rng.integers(0, 256, (2, 3, 11, 13)).astype(dtype)
        for size in ([7, 9], [17, 20], 8):
            out_j = JF.resize(JVT.Image(jtorch.from_numpy(a.copy())), size,
                              getattr(J2.InterpolationMode, interp), antialias=antialias)
            out_t = VF.resize(TVT.Image(torch.from_numpy(a.copy())), size,
                              getattr(V2.InterpolationMode, interp), antialias=antialias)
            _same(out_j, out_t, atol=1e-3 if dtype == np.float32 else 0)


def test_pil_sample(rng):
    a = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    pil = PILImage.fromarray(a)
    boxes = _boxes(rng)
    for name, args in [("RandomHorizontalFlip", dict(p=1.0)), ("Resize", dict(size=9)), ("CenterCrop", dict(size=8)),
                       ("RandomRotation", dict(degrees=30)), ("Pad", dict(padding=2, padding_mode="reflect"))]:
        sj = (pil, JVT.BoundingBoxes(jtorch.from_numpy(boxes.copy()), format="XYXY", canvas_size=(H, W)))
        st = (pil, TVT.BoundingBoxes(torch.from_numpy(boxes.copy()), format="XYXY", canvas_size=(H, W)))
        if name == "Pad":  # boxes cannot be reflect-padded: the same error
            with pytest.raises(ValueError, match="not supported with bounding boxes"):
                getattr(J2, name)(**args)(sj)
            with pytest.raises(ValueError, match="not supported with bounding boxes"):
                getattr(V2, name)(**args)(st)
            continue
        out_j, out_t, _ = _with_jtorch_params(getattr(J2, name)(**args), getattr(V2, name)(**args), sj, st)
        _same(out_j, out_t)


# ------------------------------------------------------------------ colour
_COLOR = [
    ("ColorJitter", dict(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2)),
    ("RandomPhotometricDistort", dict(p=1.0)),
    ("Grayscale", dict(num_output_channels=3)),
    ("RandomGrayscale", dict(p=1.0)),
    ("RandomChannelPermutation", dict()),
    ("RandomInvert", dict(p=1.0)),
    ("RandomAdjustSharpness", dict(sharpness_factor=2.0, p=1.0)),
    ("RandomAutocontrast", dict(p=1.0)),
    ("RandomEqualize", dict(p=1.0)),
    ("RandomPosterize", dict(bits=3, p=1.0)),
    ("RandomSolarize", dict(threshold=100, p=1.0)),
    ("GaussianBlur", dict(kernel_size=(3, 5))),
    ("RGB", dict()),
]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("name,args", _COLOR, ids=[n for n, _ in _COLOR])
def test_color_transforms(rng, dtype, name, args):
    """Images change; boxes, masks and key points pass through untouched."""
    if dtype == np.float32 and name == "RandomSolarize":
        args = dict(threshold=0.4, p=1.0)
    sj, st = _sample(rng, dtype=dtype)
    out_j, out_t, _ = _with_jtorch_params(getattr(J2, name)(**args), getattr(V2, name)(**args), sj, st)
    _same(out_j, out_t, atol=1e-5)
    assert out_j[1]["boxes"] is sj[1]["boxes"] and out_j[1]["masks"] is sj[1]["masks"]


def test_color_functionals_video_and_errors(rng):
    v = rng.integers(0, 256, (2, 3, 6, 7)).astype(np.uint8)
    vj, vt = JVT.Video(jtorch.from_numpy(v.copy())), TVT.Video(torch.from_numpy(v.copy()))
    for fn, args in [("adjust_brightness", (1.3,)), ("adjust_hue", (-0.3,)), ("adjust_gamma", (0.7, 1.2)),
                     ("adjust_saturation", (0.4,)), ("posterize", (2,)), ("solarize", (90,)), ("invert", ()),
                     ("equalize", ()), ("autocontrast", ()), ("adjust_sharpness", (0.3,)),
                     ("permute_channels", ([2, 0, 1],))]:
        _same(getattr(JF, fn)(vj, *args), getattr(VF, fn)(vt, *args))
    for mod, video in ((JF, vj), (VF, vt)):  # greyscale has no video kernel
        with pytest.raises(TypeError, match="supports inputs of type"):
            mod.rgb_to_grayscale(video)
    with pytest.raises(ValueError):
        JF.adjust_hue(vj, 0.7)
    with pytest.raises(ValueError):
        VF.adjust_hue(vt, 0.7)
    for mod, video in ((JF, vj), (VF, vt)):
        with pytest.raises(TypeError, match="bits must be"):
            mod.posterize(video, 9)
    _same(JF.posterize(vj.float() / 255, 3), VF.posterize(vt.float() / 255, 3))
    _same(JF.equalize(vj.float() / 255), VF.equalize(vt.float() / 255))


# ------------------------------------------------------------------ conversion, dtype, normalize
def test_to_image_to_dtype_normalize_to_pure_tensor(rng):
    a = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    pil = PILImage.fromarray(a)
    for x in (pil, a):
        out_j, out_t = J2.ToImage()(x), V2.ToImage()(x)
        _same(out_j, out_t)
    out_j = J2.ToImage()(jtorch.from_numpy(a.transpose(2, 0, 1).copy()))
    assert isinstance(out_j, JVT.Image)
    sj, st = _sample(rng)
    for scale in (True, False):
        _same(J2.ToDtype(jtorch.float32, scale=scale)(sj), V2.ToDtype(torch.float32, scale=scale)(st))
    per_type_j = {JVT.Image: jtorch.float64, JVT.Mask: jtorch.int64, "others": None}
    per_type_t = {TVT.Image: torch.float64, TVT.Mask: torch.int64, "others": None}
    _same(J2.ToDtype(per_type_j, scale=True)(sj), V2.ToDtype(per_type_t, scale=True)(st))
    with pytest.raises(ValueError, match="No dtype was specified"):
        J2.ToDtype({JVT.Image: jtorch.float32})(sj)
    with pytest.raises(ValueError, match="No dtype was specified"):
        V2.ToDtype({TVT.Image: torch.float32})(st)
    for src, dst in [(jtorch.uint8, jtorch.int16), (jtorch.int32, jtorch.uint8), (jtorch.float32, jtorch.uint8)]:
        x = rng.integers(0, 256, (3, 4, 5))
        xj = jtorch.from_numpy(x.astype(np.float32) / 255 if src.is_floating_point else x).to(src)
        xt = torch.from_numpy(np.asarray(xj).copy())
        _same(JF.to_dtype(xj, dst, scale=True), VF.to_dtype(xt, getattr(torch, str(dst).split(".")[-1]), scale=True))
    with pytest.raises(RuntimeError):
        JF.to_dtype(jtorch.rand(3, 2, 2), jtorch.int64, scale=True)
    with pytest.raises(RuntimeError):
        VF.to_dtype(torch.rand(3, 2, 2), torch.int64, scale=True)
    fj, ft = J2.ToDtype(jtorch.float32, scale=True)(sj), V2.ToDtype(torch.float32, scale=True)(st)
    norm_j, norm_t = J2.Normalize([0.5, 0.4, 0.3], [0.2, 0.3, 0.4]), V2.Normalize([0.5, 0.4, 0.3], [0.2, 0.3, 0.4])
    _same(norm_j(fj), norm_t(ft), atol=1e-5)
    with pytest.raises(TypeError):
        norm_j(sj)  # uint8
    with pytest.raises(TypeError):
        norm_t(st)
    pure_j, pure_t = J2.ToPureTensor()(sj), V2.ToPureTensor()(st)
    _same(pure_j, pure_t)
    assert all(type(x) is jtorch.Tensor for x in (pure_j[0], pure_j[1]["boxes"], pure_j[1]["masks"]))


# ------------------------------------------------------------------ box metadata transforms
def test_convert_clamp_sanitize(rng):
    boxes = _boxes(rng, 6) * 1.6 - 3  # some outside the canvas, some degenerate after clamping
    boxes[2, 2] = boxes[2, 0]  # zero width
    labels = np.arange(6)
    masks = (rng.random((6, H, W)) > 0.5).astype(np.uint8)

    def sample(m, T):
        return {"boxes": T.BoundingBoxes(m.from_numpy(boxes.copy()), format="XYXY", canvas_size=(H, W)),
                "labels": m.from_numpy(labels.copy()), "masks": T.Mask(m.from_numpy(masks.copy())), "other": "x"}
    sj, st = sample(jtorch, JVT), sample(torch, TVT)
    for fmt in ("XYWH", "CXCYWH", "XYXY"):
        _same(J2.ConvertBoundingBoxFormat(fmt)(sj), V2.ConvertBoundingBoxFormat(fmt)(st))
    for mode in ("auto", "hard", None):
        _same(J2.ClampBoundingBoxes(mode)(sj), V2.ClampBoundingBoxes(mode)(st))
    _same(J2.SanitizeBoundingBoxes()(sj), V2.SanitizeBoundingBoxes()(st))
    clamped_j, clamped_t = J2.ClampBoundingBoxes()(sj), V2.ClampBoundingBoxes()(st)
    out_j = J2.SanitizeBoundingBoxes(min_size=2)(clamped_j)
    _same(out_j, V2.SanitizeBoundingBoxes(min_size=2)(clamped_t))
    assert 0 < len(out_j["labels"]) < 6 and len(out_j["masks"]) == len(out_j["labels"])
    # plain-tensor functionals need the metadata
    plain_j, plain_t = jtorch.from_numpy(boxes.copy()), torch.from_numpy(boxes.copy())
    _same(JF.clamp_bounding_boxes(plain_j, format="XYXY", canvas_size=(H, W), clamping_mode="soft"),
          VF.clamp_bounding_boxes(plain_t, format="XYXY", canvas_size=(H, W), clamping_mode="soft"))
    _same(JF.sanitize_bounding_boxes(plain_j, format="XYXY", canvas_size=(H, W)),
          VF.sanitize_bounding_boxes(plain_t, format="XYXY", canvas_size=(H, W)))
    for fn in (JF.clamp_bounding_boxes, VF.clamp_bounding_boxes):
        with pytest.raises(ValueError, match="have to be passed"):
            fn(plain_t if fn is VF.clamp_bounding_boxes else plain_j)
    with pytest.raises(ValueError, match="old_format"):
        JF.convert_bounding_box_format(plain_j, new_format="XYWH")
    with pytest.raises(ValueError, match="old_format"):
        VF.convert_bounding_box_format(plain_t, new_format="XYWH")
    with pytest.raises(ValueError, match="must not be passed"):
        JF.convert_bounding_box_format(sj["boxes"], old_format="XYXY", new_format="XYWH")
    with pytest.raises(ValueError, match="must not be passed"):
        VF.convert_bounding_box_format(st["boxes"], old_format="XYXY", new_format="XYWH")
    bad_j = dict(sj, labels=jtorch.arange(3))
    bad_t = dict(st, labels=torch.arange(3))
    with pytest.raises(ValueError, match="must match the number of labels"):
        J2.SanitizeBoundingBoxes()(bad_j)
    with pytest.raises(ValueError, match="must match the number of labels"):
        V2.SanitizeBoundingBoxes()(bad_t)
    with pytest.raises(ValueError, match="min_size"):
        J2.SanitizeBoundingBoxes(min_size=0.5)


# ------------------------------------------------------------------ containers, Lambda, erasing, auto-augment
def test_containers_and_lambda(rng):
    sj, st = _sample(rng)
    for cls in ("Compose", "RandomApply", "RandomChoice", "RandomOrder"):
        kw = dict(p=1.0) if cls == "RandomApply" else {}
        jt = getattr(J2, cls)([J2.RandomHorizontalFlip(p=1.0), J2.CenterCrop(10)], **kw)
        tt = getattr(V2, cls)([V2.RandomHorizontalFlip(p=1.0), V2.CenterCrop(10)], **kw)
        if cls in ("RandomChoice", "RandomOrder"):  # the draw decides: compare with what jtorch chose
            jtorch.manual_seed(0)
            out_j = jt(sj)
            candidates = [V2.Compose([V2.RandomHorizontalFlip(p=1.0)]), V2.Compose([V2.CenterCrop(10)]),
                          V2.Compose([V2.RandomHorizontalFlip(p=1.0), V2.CenterCrop(10)])]
            matches = 0
            for c in candidates:
                try:
                    _same(out_j, c(st))
                    matches += 1
                except AssertionError:
                    pass
            assert matches == 1
        else:
            _same(jt(sj), tt(st))
        # several positional arguments stay several
        out = jt(sj[0], sj[1])
        assert isinstance(out, tuple) and len(out) == 2
    assert J2.RandomApply([J2.RandomHorizontalFlip(p=1.0)], p=0.0)(sj) is sj
    with pytest.raises(ValueError, match="at least one"):
        J2.Compose([])
    with pytest.raises(TypeError):
        J2.Compose(J2.RandomHorizontalFlip())
    lam_j = J2.Lambda(lambda x: x * 2, jtorch.Tensor)
    lam_t = V2.Lambda(lambda x: x * 2, torch.Tensor)
    _same(lam_j(sj), lam_t(st))  # a plain op on a tv_tensor gives a plain tensor (torchvision's rule)
    assert repr(J2.Lambda(abs)) == repr(V2.Lambda(abs))


def test_random_erasing_and_auto_augment(rng):
    sj, st = _sample(rng)
    out_j, out_t, params = _with_jtorch_params(J2.RandomErasing(p=1.0, value=7), V2.RandomErasing(p=1.0, value=7),
                                               sj[0], st[0])
    _same(out_j, out_t)
    assert params["v"] is not None
    img = rng.integers(0, 256, (3, 16, 16)).astype(np.uint8)
    for cls in ("AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"):
        out = getattr(J2, cls)()({"image": JVT.Image(jtorch.from_numpy(img.copy())), "label": 3})
        assert isinstance(out["image"], JVT.Image) and out["image"].dtype == jtorch.uint8 and out["label"] == 3
        assert tuple(out["image"].shape) == (3, 16, 16)
        with pytest.raises(TypeError, match="not supported"):
            getattr(J2, cls)()(sj)
        with pytest.raises(TypeError, match="not supported"):
            getattr(V2, cls)()(st)
    with pytest.raises(TypeError, match="single image"):
        J2.AutoAugment()([JVT.Image(jtorch.from_numpy(img)), JVT.Image(jtorch.from_numpy(img))])


# ------------------------------------------------------------------ functionals per type, errors, registry
def test_functional_kernels_per_type(rng):
    boxes = _boxes(rng)
    bj, bt = jtorch.from_numpy(boxes.copy()), torch.from_numpy(boxes.copy())
    _same(JF.resize_bounding_boxes(bj, canvas_size=(H, W), size=[7, 9]),
          VF.resize_bounding_boxes(bt, canvas_size=(H, W), size=[7, 9]))
    _same(JF.horizontal_flip_bounding_boxes(bj, format=JVT.BoundingBoxFormat.XYXY, canvas_size=(H, W)),
          VF.horizontal_flip_bounding_boxes(bt, format=TVT.BoundingBoxFormat.XYXY, canvas_size=(H, W)))
    _same(JF.crop_bounding_boxes(bj, JVT.BoundingBoxFormat.XYXY, 2, 3, 8, 9),
          VF.crop_bounding_boxes(bt, TVT.BoundingBoxFormat.XYXY, 2, 3, 8, 9))
    _same(JF.pad_bounding_boxes(bj, JVT.BoundingBoxFormat.XYXY, (H, W), [1, 2]),
          VF.pad_bounding_boxes(bt, TVT.BoundingBoxFormat.XYXY, (H, W), [1, 2]))
    _same(JF.affine_bounding_boxes(bj, JVT.BoundingBoxFormat.XYXY, (H, W), 30.0, [1, 2], 1.1, [5.0, 0.0]),
          VF.affine_bounding_boxes(bt, TVT.BoundingBoxFormat.XYXY, (H, W), 30.0, [1, 2], 1.1, [5.0, 0.0]))
    m = (rng.random((H, W)) > 0.5).astype(np.uint8)
    mj, mt = jtorch.from_numpy(m.copy()), torch.from_numpy(m.copy())
    for fn, args in [("horizontal_flip_mask", ()), ("vertical_flip_mask", ()), ("resize_mask", ([7, 9],)),
                     ("crop_mask", (2, 3, 20, 9)), ("pad_mask", ([1, 2],)), ("rotate_mask", (40.0,)),
                     ("affine_mask", (20.0, [1, 1], 1.0, [0.0, 0.0])), ("center_crop_mask", ([5, 6],))]:
        _same(getattr(JF, fn)(mj, *args), getattr(VF, fn)(mt, *args))
    # get_size / get_dimensions over types
    sj, st = _sample(rng)
    for x, y in [(sj[0], st[0]), (sj[1]["boxes"], st[1]["boxes"]), (sj[1]["masks"], st[1]["masks"])]:
        assert JF.get_size(x) == VF.get_size(y)
    assert JF.get_dimensions(sj[0]) == VF.get_dimensions(st[0])
    with pytest.raises(TypeError, match="supports inputs of type"):
        JF.horizontal_flip("not an image")
    with pytest.raises(TypeError, match="supports inputs of type"):
        VF.horizontal_flip("not an image")
    with pytest.raises(TypeError):
        JF.get_dimensions(sj[1]["boxes"])
    with pytest.raises(TypeError):
        VF.get_dimensions(st[1]["boxes"])
    # the transforms pass an unknown tv_tensor type through; register_kernel teaches a functional about it

    class Thing(JVT.TVTensor):
        pass
    thing = jtorch.arange(4.0).as_subclass(Thing)
    assert J2.RandomHorizontalFlip(p=1.0)(thing) is thing
    JF.register_kernel(JF.horizontal_flip, Thing)(lambda t: t.flip(-1))
    assert JF.horizontal_flip(thing).tolist() == [3.0, 2.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="builtin"):
        JF.register_kernel(JF.horizontal_flip, JVT.Image)


def test_transform_errors(rng):
    sj, st = _sample(rng)
    for name, args, exc in [("RandomHorizontalFlip", dict(p=1.5), ValueError),
                            ("Resize", dict(size=[1, 2, 3]), ValueError),
                            ("RandomCrop", dict(size=40), ValueError), ("Pad", dict(padding=[1, 2, 3]), ValueError),
                            ("RandomZoomOut", dict(side_range=(0.5, 2)), ValueError),
                            ("ColorJitter", dict(brightness=-1), ValueError),
                            ("RandomAffine", dict(degrees=10, translate=(2, 0)), ValueError),
                            ("GaussianBlur", dict(kernel_size=4), ValueError), ("ToDtype", dict(dtype=3), ValueError),
                            ("RandomPerspective", dict(distortion_scale=2), ValueError)]:
        for mod in (J2, V2):
            with pytest.raises(exc):
                getattr(mod, name)(**args)(st if mod is V2 else sj)
    # samples whose images disagree in size
    two_j = (JVT.Image(jtorch.zeros(3, 4, 5)), JVT.Image(jtorch.zeros(3, 6, 5)))
    two_t = (TVT.Image(torch.zeros(3, 4, 5)), TVT.Image(torch.zeros(3, 6, 5)))
    with pytest.raises(ValueError, match="multiple HxW"):
        J2.RandomCrop(2)(two_j)
    with pytest.raises(ValueError, match="multiple HxW"):
        V2.RandomCrop(2)(two_t)
    with pytest.raises(TypeError, match="requires input sample"):
        J2.RandomIoUCrop()(sj[0])
    with pytest.raises(TypeError, match="requires input sample"):
        V2.RandomIoUCrop()(st[0])
    with pytest.raises(TypeError, match="not supported"):
        J2.FiveCrop(4)(sj)
    with pytest.raises(TypeError, match="not supported"):
        V2.FiveCrop(4)(st)


def test_five_ten_crop_and_reprs(rng):
    a = rng.random((3, H, W), dtype=np.float32)
    _same(J2.FiveCrop(6)(JVT.Image(jtorch.from_numpy(a.copy()))), V2.FiveCrop(6)(TVT.Image(torch.from_numpy(a))))
    _same(J2.TenCrop((5, 7), vertical_flip=True)(jtorch.from_numpy(a.copy())),
          V2.TenCrop((5, 7), vertical_flip=True)(torch.from_numpy(a)))
    for name, args in [("Resize", dict(size=8)), ("RandomResizedCrop", dict(size=8)), ("Pad", dict(padding=2)),
                       ("RandomHorizontalFlip", dict(p=0.3)), ("ColorJitter", dict(brightness=0.2)),
                       ("RandomAffine", dict(degrees=10)), ("Normalize", dict(mean=[0.5], std=[0.2])),
                       ("SanitizeBoundingBoxes", dict()), ("RandomIoUCrop", dict()), ("ToImage", dict())]:
        assert repr(getattr(J2, name)(**args)) == repr(getattr(V2, name)(**args))
    # v1's get_params stays reachable on the v2 classes
    assert J2.RandomResizedCrop.get_params is not None and J2.RandomCrop.get_params is not None


# ------------------------------------------------------------------ the detection fine-tuning tutorial
def _tutorial_get_transform(T, m, train):
    transforms = []
    if train:
        transforms.append(T.RandomHorizontalFlip(0.5))
    transforms.append(T.ToDtype(m.float, scale=True))
    transforms.append(T.ToPureTensor())
    return T.Compose(transforms)


def test_detection_finetuning_tutorial_pipeline(rng):
    """PennFudan's __getitem__ builds (tv_tensors.Image, target dict); get_transform flips, scales, unwraps."""
    img = rng.integers(0, 256, (3, H, W)).astype(np.uint8)
    masks = np.zeros((2, H, W), np.uint8)
    masks[0, 2:8, 3:9] = 1
    masks[1, 6:12, 10:16] = 1

    def item(m, T, F, train):
        mk = m.from_numpy(masks.copy())
        boxes = m.tensor([[3, 2, 8, 7], [10, 6, 15, 11]], dtype=m.float32)
        target = {"boxes": T.BoundingBoxes(boxes, format="XYXY", canvas_size=F.get_size(T.Image(m.zeros(3, H, W)))),
                  "masks": T.Mask(mk), "labels": m.ones((2,), dtype=m.int64), "image_id": 3,
                  "area": (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0]),
                  "iscrowd": m.zeros((2,), dtype=m.int64)}
        return T.Image(m.from_numpy(img.copy())), target

    for train in (False, True):
        sj = item(jtorch, JVT, JF, train)
        st = item(torch, TVT, VF, train)
        tj, tt = _tutorial_get_transform(J2, jtorch, train), _tutorial_get_transform(V2, torch, train)
        if train:  # the flip's coin: compare with torchvision under jtorch's outcome
            jtorch.manual_seed(0)
            flipped = bool(jtorch.rand(1) < 0.5)
            jtorch.manual_seed(0)
            tt = _tutorial_get_transform(V2, torch, False) if not flipped else V2.Compose(
                [V2.RandomHorizontalFlip(1.0), V2.ToDtype(torch.float, scale=True), V2.ToPureTensor()])
        out_j, out_t = tj(*sj), tt(*st)
        _same(out_j, out_t, atol=1e-6)
        image, target = out_j
        assert type(image) is jtorch.Tensor and image.dtype == jtorch.float32
        assert type(target["boxes"]) is jtorch.Tensor and target["masks"].dtype == jtorch.uint8


def test_jpeg_and_deprecated_to_tensor(rng):
    """torchvision's tensor JPEG needs its C++ image extension (absent here): its PIL kernel is the oracle."""
    a = rng.integers(0, 256, (3, 16, 16)).astype(np.uint8)
    pil = PILImage.fromarray(a.transpose(1, 2, 0))
    jtorch.manual_seed(0)
    t = J2.JPEG((30, 60))
    drawn = {}
    make = t.make_params
    t.make_params = lambda flat: drawn.setdefault("p", make(flat))
    out = t(JVT.Image(jtorch.from_numpy(a.copy())))
    assert isinstance(out, JVT.Image) and 30 <= drawn["p"]["quality"] <= 60
    ref = np.asarray(VF.jpeg(pil, drawn["p"]["quality"])).transpose(2, 0, 1)
    np.testing.assert_array_equal(np.asarray(out.as_subclass(jtorch.Tensor)), ref)
    _same(JF.jpeg(pil, 40), VF.jpeg(pil, 40))
    for mod in (J2, V2):
        with pytest.raises(ValueError, match="quality must be"):
            mod.JPEG(0)
        with pytest.raises(TypeError):
            mod.JPEG(True)
    with pytest.warns(UserWarning, match="deprecated"):
        tj = J2.ToTensor()
    with pytest.warns(UserWarning, match="deprecated"):
        tt = V2.ToTensor()
    _same(tj({"x": pil, "y": a.transpose(1, 2, 0).copy()})["x"], tt({"x": pil, "y": a.transpose(1, 2, 0).copy()})["x"])


# ------------------------------------------------------------------ datasets wrapped for v2
def test_wrap_voc_for_transforms_v2(tmp_path, rng):
    from test_datasets_celeba_voc_coco import _write_voc
    import jtorch.vision.datasets as JD
    _write_voc(tmp_path / "VOCdevkit/VOC2012", rng)
    for name, keys in [("VOCDetection", None), ("VOCDetection", "all"), ("VOCSegmentation", None)]:
        j = JD.wrap_dataset_for_transforms_v2(getattr(JD, name)(str(tmp_path), year="2012", image_set="trainval"),
                                              target_keys=keys)
        t = tv.datasets.wrap_dataset_for_transforms_v2(
            getattr(tv.datasets, name)(str(tmp_path), year="2012", image_set="trainval"), target_keys=keys)
        assert len(j) == len(t) and type(j).__name__ == type(t).__name__
        for k in range(len(t)):
            if name == "VOCDetection" and k == 0:  # no object: torchvision's wrapper fails, so does jtorch's
                with pytest.raises(KeyError):
                    t[k]
                with pytest.raises(KeyError):
                    j[k]
                continue
            _same(j[k], t[k])
    flip = J2.Compose([J2.ToImage(), J2.RandomHorizontalFlip(p=1.0)])
    flip_t = V2.Compose([V2.ToImage(), V2.RandomHorizontalFlip(p=1.0)])
    j = JD.wrap_dataset_for_transforms_v2(JD.VOCDetection(str(tmp_path), year="2012", transforms=flip))
    t = tv.datasets.wrap_dataset_for_transforms_v2(tv.datasets.VOCDetection(str(tmp_path), year="2012",
                                                                            transforms=flip_t))
    _same(j[1], t[1])
    with pytest.raises(ValueError, match="not available"):
        JD.wrap_dataset_for_transforms_v2(JD.VOCDetection(str(tmp_path), year="2012"), target_keys=["nope"])
    with pytest.raises(ValueError, match="only supported"):
        JD.wrap_dataset_for_transforms_v2(JD.VOCSegmentation(str(tmp_path), year="2012"), target_keys="all")
    with pytest.raises(TypeError, match="VisionDataset"):
        JD.wrap_dataset_for_transforms_v2([1, 2])


def test_wrap_coco_for_transforms_v2(tmp_path, rng):
    """torchvision's CocoDetection needs pycocotools (absent here): the annotation file is the oracle."""
    from test_datasets_celeba_voc_coco import _write_coco
    import jtorch.vision.datasets as JD
    ann_file, images, anns = _write_coco(tmp_path, rng)
    ds = JD.wrap_dataset_for_transforms_v2(JD.CocoDetection(str(tmp_path), ann_file),
                                           target_keys={"boxes", "labels", "image_id", "area"})
    for k, image_id in enumerate(ds.ids):
        image, target = ds[k]
        mine = [a for a in anns if a["image_id"] == image_id]
        if not mine:
            assert target == {"image_id": image_id}
            continue
        boxes = target["boxes"]
        assert isinstance(boxes, JVT.BoundingBoxes) and boxes.format.name == "XYXY"
        assert tuple(boxes.canvas_size) == (image.height, image.width)
        ref = np.array([a["bbox"] for a in mine], np.float64)
        ref[:, 2:] += ref[:, :2]
        np.testing.assert_allclose(np.asarray(boxes.as_subclass(jtorch.Tensor)), ref, rtol=1e-6)
        assert target["labels"].tolist() == [a["category_id"] for a in mine]
        assert target["area"] == [a["area"] for a in mine] and target["image_id"] == image_id


def test_keypoints_clamping_mode_and_misc(rng):
    pts = rng.uniform(-3, 20, (5, 2)).astype(np.float32)
    labels = np.arange(5)
    pj = {"points": JVT.KeyPoints(jtorch.from_numpy(pts.copy()), canvas_size=(H, W)),
          "labels": jtorch.from_numpy(labels.copy())}
    pt = {"points": TVT.KeyPoints(torch.from_numpy(pts.copy()), canvas_size=(H, W)),
          "labels": torch.from_numpy(labels.copy())}
    _same(J2.ClampKeyPoints()(pj), V2.ClampKeyPoints()(pt))
    _same(J2.SanitizeKeyPoints(labels_getter="default")(pj), V2.SanitizeKeyPoints(labels_getter="default")(pt))
    _same(JF.sanitize_keypoints(jtorch.from_numpy(pts.copy()), canvas_size=(H, W)),
          VF.sanitize_keypoints(torch.from_numpy(pts.copy()), canvas_size=(H, W)))
    sj, st = _sample(rng)
    out_j, out_t = J2.SetClampingMode("hard")(sj), V2.SetClampingMode("hard")(st)
    _same(out_j, out_t)
    assert out_j[1]["boxes"].clamping_mode == "hard" and sj[1]["boxes"].clamping_mode == "soft"
    # video time subsampling, a linear transformation, noise
    v = rng.random((6, 3, 4, 5), dtype=np.float32)
    _same(J2.UniformTemporalSubsample(3)(JVT.Video(jtorch.from_numpy(v.copy()))),
          V2.UniformTemporalSubsample(3)(TVT.Video(torch.from_numpy(v.copy()))))
    m = rng.random((12, 12), dtype=np.float32)
    mean = rng.random(12, dtype=np.float32)
    img = rng.random((3, 2, 2), dtype=np.float32)
    _same(J2.LinearTransformation(jtorch.from_numpy(m), jtorch.from_numpy(mean))(JVT.Image(jtorch.from_numpy(img))),
          V2.LinearTransformation(torch.from_numpy(m), torch.from_numpy(mean))(TVT.Image(torch.from_numpy(img))))
    noisy = J2.GaussianNoise(sigma=0.2)(JVT.Image(jtorch.full((3, 40, 40), 0.5)))
    assert isinstance(noisy, JVT.Image) and 0.15 < float(noisy.std()) < 0.25 and float(noisy.min()) >= 0
    noisy = J2.GaussianNoise(sigma=0.2)(JVT.Image(jtorch.full((3, 40, 40), 128, dtype=jtorch.uint8)))
    assert noisy.dtype == jtorch.uint8 and 40 < float(noisy.float().std()) < 62
    with pytest.raises(ValueError, match="uint8 or float dtype"):
        J2.GaussianNoise()(JVT.Image(jtorch.zeros(3, 2, 2, dtype=jtorch.int32)))
    with pytest.raises(ValueError, match="uint8 or float dtype"):
        V2.GaussianNoise()(TVT.Image(torch.zeros(3, 2, 2, dtype=torch.int32)))


def test_transforms_are_modules(rng):
    """v2 transforms are nn.Modules: .to() / .eval() work, and they sit in nn.Sequential."""
    t = J2.Compose([J2.Resize(8), J2.CenterCrop(6)]).to("cpu").eval()
    seq = jtorch.nn.Sequential(J2.Resize(8), J2.CenterCrop(6))
    a = rng.random((3, H, W), dtype=np.float32)
    ref = V2.Compose([V2.Resize(8), V2.CenterCrop(6)])(torch.from_numpy(a.copy()))
    _same(t(jtorch.from_numpy(a.copy())), ref)
    _same(seq(jtorch.from_numpy(a.copy())), ref)


def test_end_to_end_detection_example_pipeline(rng):
    """The "Transforms v2: End-to-end object detection/segmentation example" pipeline, step by step (each
    random step gets jtorch's parameters): PIL image in, photometric distortion, zoom-out with a per-type
    fill, IoU crop, flip, sanitize, float."""
    a = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    pil = PILImage.fromarray(a)
    _, (_, target_t) = _sample(rng)
    target_j = {k: _from_torch(v) if isinstance(v, torch.Tensor) else v for k, v in target_t.items()}
    steps = [
        (J2.ToImage(), V2.ToImage()),
        (J2.RandomPhotometricDistort(p=1), V2.RandomPhotometricDistort(p=1)),
        (J2.RandomZoomOut(fill={JVT.Image: (123, 117, 104), "others": 0}, p=1.0),
         V2.RandomZoomOut(fill={TVT.Image: (123, 117, 104), "others": 0}, p=1.0)),
        (J2.RandomIoUCrop(), V2.RandomIoUCrop()),
        (J2.RandomHorizontalFlip(p=1), V2.RandomHorizontalFlip(p=1)),
        (J2.SanitizeBoundingBoxes(), V2.SanitizeBoundingBoxes()),
        (J2.ToDtype(jtorch.float32, scale=True), V2.ToDtype(torch.float32, scale=True)),
    ]
    sj, st = (pil, target_j), (pil, target_t)
    for k, (jt, tt) in enumerate(steps):
        if type(jt).make_params is not J2.Transform.make_params:
            sj, st, _ = _with_jtorch_params(jt, tt, sj, st, seed=k)
        else:
            sj, st = jt(sj), tt(st)
        _same(sj, st, atol=1e-5)
    assert isinstance(sj[0], JVT.Image) and sj[0].dtype == jtorch.float32


def _from_torch(t):
    """A torchvision tv_tensor (or tensor) as the same jtorch one."""
    plain = jtorch.from_numpy(t.as_subclass(torch.Tensor).numpy().copy())
    if isinstance(t, TVT.BoundingBoxes):
        return JVT.BoundingBoxes(plain, format=t.format.name, canvas_size=t.canvas_size, clamping_mode=t.clamping_mode)
    if isinstance(t, TVT.KeyPoints):
        return JVT.KeyPoints(plain, canvas_size=t.canvas_size)
    for name in ("Image", "Video", "Mask"):
        if isinstance(t, getattr(TVT, name)):
            return getattr(JVT, name)(plain)
    return plain


def test_rotated_box_formats_convert_and_flip(rng):
    """Rotated boxes: conversions between XYWHR / CXCYWHR / XYXYXYXY, flips, resize."""
    b = np.concatenate([_boxes(rng, 5), rng.uniform(-60, 60, (5, 1)).astype(np.float32)], 1)
    b[:, 2:4] -= b[:, :2]  # XYWHR: corner, size, angle
    for fmt in ("XYWHR", "CXCYWHR", "XYXYXYXY"):
        bj = JF.convert_bounding_box_format(JVT.BoundingBoxes(jtorch.from_numpy(b.copy()), format="XYWHR",
                                                              canvas_size=(H, W)), new_format=fmt)
        bt = VF.convert_bounding_box_format(TVT.BoundingBoxes(torch.from_numpy(b.copy()), format="XYWHR",
                                                              canvas_size=(H, W)), new_format=fmt)
        _same(bj, bt, atol=1e-4)
        for back in ("XYWHR", "CXCYWHR", "XYXYXYXY"):
            _same(JF.convert_bounding_box_format(bj, new_format=back),
                  VF.convert_bounding_box_format(bt, new_format=back), atol=1e-4)
        _same(J2.RandomHorizontalFlip(p=1.0)(bj), V2.RandomHorizontalFlip(p=1.0)(bt), atol=1e-4)
        _same(J2.RandomVerticalFlip(p=1.0)(bj), V2.RandomVerticalFlip(p=1.0)(bt), atol=1e-4)
    for mod, T, m in ((JF, JVT, jtorch), (VF, TVT, torch)):
        boxes = T.BoundingBoxes(m.from_numpy(b.copy()), format="XYWHR", canvas_size=(H, W))
        with pytest.raises(ValueError, match="rotated and unrotated"):
            mod.convert_bounding_box_format(boxes, new_format="XYXY")
    # the other kernels: tests/vision/test_transforms_v2_rotated.py
    _same(JF.resize(JVT.BoundingBoxes(jtorch.from_numpy(b.copy()), format="XYWHR", canvas_size=(H, W)), [5, 5]),
          VF.resize(TVT.BoundingBoxes(torch.from_numpy(b.copy()), format="XYWHR", canvas_size=(H, W)), [5, 5]),
          atol=1e-4)
