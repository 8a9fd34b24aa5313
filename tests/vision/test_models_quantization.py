"""jtorch.vision.models.quantization against torchvision 0.28 (torch's CPU fbgemm / qnnpack engines).

The same architecture is built in both (quantize=False) with torchvision's weights copied over; then the float
outputs agree, ``fuse_model`` + ``prepare`` + calibration + ``convert`` give the same quantized modules, state dict
(keys, integer weights, scales, zero points) and quantized outputs, torchvision's quantized state dict loaded into
jtorch's converted model gives torchvision's integers, and the ``quantize=True`` builders read torchvision's
quantized checkpoints (post-training and, for MobileNetV3, QAT) from the hub cache. Inputs are 1-2 images of
32x32 (64x64 for ShuffleNetV2, 75x75 for Inception v3, its minimum)."""
import os
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision as JV
import jtorch.vision.models as JM
from tv import torchvision

warnings.filterwarnings("ignore")

tv = torchvision()
TQ = tv.models.quantization
JQ = JM.quantization

# name -> (input side, backend, builder kwargs)
MODELS = {
    "resnet18": (32, "fbgemm", {}),
    "mobilenet_v2": (32, "fbgemm", {}),
    "mobilenet_v3_large": (32, "fbgemm", {}),
    "mobilenet_v3_blocks": (32, "fbgemm", {}),  # see _mobilenet_v3_blocks
    "shufflenet_v2_x0_5": (64, "fbgemm", {}),  # torch's quantized mean fails on a 1x1 map (32x32 inputs)
    "googlenet": (32, "fbgemm", {"init_weights": True}),
    "inception_v3": (75, "fbgemm", {"init_weights": True, "aux_logits": False}),  # aux head: larger inputs
}


@pytest.fixture
def engine():
    before = torch.backends.quantized.engine, jtorch.backends.quantized.engine
    yield
    torch.backends.quantized.engine, jtorch.backends.quantized.engine = before


@pytest.fixture
def no_random_init(monkeypatch):
    """Skip jtorch's random init where the test overwrites every weight (test_models.py has the why)."""
    import jtorch.nn.init as init
    for name in ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_"):
        monkeypatch.setattr(init, name, lambda tensor, *a, **k: tensor)


def _to_j(v):
    return jtorch.from_numpy(v.detach().numpy().copy())


def _inputs(rng, side, n=2):
    x = rng.uniform(-1, 1, (n, 3, side, side)).astype(np.float32)
    return torch.from_numpy(x), jtorch.from_numpy(x.copy())


def _mobilenet_v3_blocks(lib):
    """A short quantizable MobileNetV3, built as the mobilenet_v3_large builder builds it (block class, ReLUs made
    fusable) from one inverted-residual block of each kind the large one has (ReLU / Hardswish, with and without
    squeeze-excitation, with and without residual, stride 1 / 2, 3x3 / 5x5): the same quantizable modules and code
    paths in fewer distinct layer shapes (the full model takes a minute of compiles; its builder, layers and
    quantize=True are checked against torchvision's in the QAT checkpoint test)."""
    mnv3 = lib.models.quantization.mobilenetv3
    conf = lib.models.mobilenetv3.InvertedResidualConfig  # (in, kernel, expanded, out, se, activation, stride, ...)
    setting = [conf(16, 3, 16, 16, False, "RE", 1, 1, 1.0), conf(16, 3, 64, 24, False, "RE", 2, 1, 1.0),
               conf(24, 5, 72, 40, True, "RE", 2, 1, 1.0), conf(40, 3, 120, 40, True, "HS", 1, 1, 1.0),
               conf(40, 5, 96, 48, False, "HS", 2, 1, 1.0)]
    return mnv3._mobilenet_v3_model(setting, 64, None, False, False)


def _build(lib, name, kw):
    """The float quantizable model ``name`` of torchvision (lib=tv) or jtorch (lib=jtorch.vision)."""
    if name == "mobilenet_v3_blocks":
        return _mobilenet_v3_blocks(lib)
    return getattr(lib.models.quantization, name)(quantize=False, **kw)


def _pair(name, rng):
    """torchvision's quantizable model (random init, batch-norm statistics from one training-mode pass so that
    activations keep a useful range) and jtorch's with its weights, both in eval mode."""
    side, _, kw = MODELS[name]
    torch.manual_seed(0)
    t = _build(tv, name, kw)
    for m in t.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # the running statistics become the batch's
    with torch.no_grad():
        t.train()(_inputs(rng, side, 4)[0])
    t.eval()
    j = _build(JV, name, kw).eval()
    j.load_state_dict({k: _to_j(v) for k, v in t.state_dict().items()})
    return t, j


def _quantize(lib, model, backend, calib):
    lib.backends.quantized.engine = backend
    model.fuse_model()
    model.qconfig = lib.ao.quantization.get_default_qconfig(backend)
    lib.ao.quantization.prepare(model, inplace=True)
    with lib.no_grad():
        model(calib)
    lib.ao.quantization.convert(model, inplace=True)


def _flat(state):
    """A state dict with the tuples (a quantized Linear's packed parameters) spread out."""
    out = {}
    for k, v in state.items():
        if isinstance(v, tuple):
            out.update({f"{k}.{i}": e for i, e in enumerate(v)})
        else:
            out[k] = v
    return out


def _compare_state(js, ts):
    """Same keys in the same order; quantized tensors with the same dtype, scheme, zero points and integers (one
    step apart at most: torch's and XLA's float convolutions before quantization can differ in the last bit, which
    moves an observed scale by a float32 step), scales to float32 rounding; the rest to float32 rounding."""
    assert list(js) == list(ts)
    js, ts = _flat(js), _flat(ts)
    assert list(js) == list(ts)
    steps = []
    for k, t in ts.items():
        j = js[k]
        if not isinstance(t, torch.Tensor):
            assert str(j) == str(t), k
        elif t.is_quantized:
            assert j.is_quantized and str(j.dtype) == str(t.dtype) and str(j.qscheme()) == str(t.qscheme()), k
            if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
                np.testing.assert_allclose(j.q_per_channel_scales().numpy(), t.q_per_channel_scales().numpy(),
                                           rtol=1e-5)
                assert (j.q_per_channel_zero_points().numpy() == t.q_per_channel_zero_points().numpy()).all(), k
            else:
                np.testing.assert_allclose(j.q_scale(), t.q_scale(), rtol=1e-5)
                assert j.q_zero_point() == t.q_zero_point(), k
            d = np.abs(j.int_repr().numpy().astype(np.int64) - t.int_repr().numpy().astype(np.int64))
            assert d.max() <= 1, k
            steps.append(d)
        elif k.endswith("zero_point"):
            assert j.item() == t.item(), k
        else:
            assert str(j.dtype) == str(t.dtype), k
            np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=k)
    assert np.concatenate([s.ravel() for s in steps]).mean() < 1e-3  # nearly every weight integer equal


def _types(model):
    return [(n, type(m).__name__) for n, m in model.named_modules()]


def _same_output(yj, yt, max_steps=1):
    """Dequantized outputs: equal, or one step of the output's scale apart (the smallest gap between torch's
    output values); returns the differences in steps."""
    yj, yt = yj.numpy(), yt.numpy()
    levels = np.unique(yt)
    if len(levels) < 2:  # a constant output (an untrained model's logits can all quantize to one level)
        assert (yj == yt).all()
        return np.zeros(yt.shape)
    step = np.diff(levels).min()
    steps = np.abs(yj - yt) / step
    assert steps.max() <= max_steps + 0.01
    return np.round(steps)


# (for time: MobileNetV2 is left out here, its quantizable blocks run in the qnnpack checkpoint test below;
# MobileNetV3 runs as a short model of the large one's blocks, the large one in the QAT checkpoint test)
@pytest.mark.parametrize("name", [m for m in MODELS if m not in ("mobilenet_v2", "mobilenet_v3_large")])
def test_float_then_post_training_quantization(name, rng, engine, no_random_init):
    side, backend, _ = MODELS[name]
    t, j = _pair(name, rng)
    x_t, x_j = _inputs(rng, side)
    with torch.no_grad():
        y_t = t(x_t)
    with jtorch.no_grad():
        y_j = j(x_j)
    np.testing.assert_allclose(y_j.numpy(), y_t.numpy(), rtol=1e-4, atol=2e-5 * np.abs(y_t.numpy()).max())

    calib_t, calib_j = _inputs(rng, side)
    _quantize(torch, t, backend, calib_t)
    _quantize(jtorch, j, backend, calib_j)
    assert _types(j) == _types(t)
    ts = t.state_dict()
    _compare_state(j.state_dict(), ts)
    with torch.no_grad():
        q_t = t(x_t)
    with jtorch.no_grad():
        q_j = j(x_j)
    assert np.abs(q_t.numpy()).max() > 0  # the quantized model computes something
    # the float convolutions feeding each observer differ from torch's in the last bits, so each observed scale
    # is a few float32 steps off torch's (checked above) and a few integers round the other way; a randomly
    # initialised network amplifies these through its depth, so only the outputs' scale is compared here; the
    # exact check is the next one, with torch's parameters
    assert np.abs(q_j.numpy() - q_t.numpy()).mean() <= 0.75 * np.abs(q_t.numpy()).mean()
    np.testing.assert_allclose(np.abs(q_j.numpy()).max(), np.abs(q_t.numpy()).max(), rtol=0.5)

    # torchvision's quantized state dict, through torch's file format: then the integer kernels alone decide
    import io
    buf = io.BytesIO()
    torch.save(ts, buf)
    buf.seek(0)
    j.load_state_dict(jtorch.load(buf))
    with jtorch.no_grad():
        q_j = j(x_j)
    diff = _same_output(q_j, q_t)
    # ShuffleNetV2 pools with mean: torch's quantized convolutions output channels-last tensors, whose mean torch
    # takes in float and requantizes, while jtorch averages the integers: ties may round the other way
    assert (diff == 0).mean() > (0.75 if name.startswith("shufflenet") else 0.95)


def _hub(tmp_path, monkeypatch, weights, state):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(state, tmp_path / "hub" / "checkpoints" / os.path.basename(weights.url))


@pytest.mark.parametrize("name,backend", [("resnet18", "fbgemm"), ("mobilenet_v2", "qnnpack")])
def test_quantize_true_loads_post_training_checkpoint(name, backend, rng, engine, tmp_path, monkeypatch,
                                                      no_random_init):
    """quantize=True quantizes the fresh model (calibrating on one random 299x299 image), then the quantized
    checkpoint replaces every weight and parameter: torchvision's outputs."""
    side = MODELS[name][0]
    torch.manual_seed(0)
    t = getattr(TQ, name)(quantize=True)
    jw = getattr(JQ, name)._weights_enum.DEFAULT
    _hub(tmp_path, monkeypatch, jw, t.state_dict())
    j = getattr(JQ, name)(weights=jw, quantize=True)
    assert jtorch.backends.quantized.engine == torch.backends.quantized.engine == backend
    assert _types(j) == _types(t)
    _compare_state(j.state_dict(), t.state_dict())
    # torch's weights repacked for fbgemm, whose arithmetic jtorch computes (docs/vision_models.md)
    torch.backends.quantized.engine = "x86"
    t.load_state_dict(t.state_dict())
    x_t, x_j = _inputs(rng, side, 1)
    with torch.no_grad():
        q_t = t(x_t)
    with jtorch.no_grad():
        q_j = j(x_j)
    assert (_same_output(q_j, q_t) == 0).mean() > 0.95


def test_mobilenet_v3_quantize_true_loads_qat_checkpoint(rng, engine, tmp_path, monkeypatch, no_random_init):
    """MobileNetV3's checkpoint is a QAT state dict: quantize=True prepares QAT, loads it, converts."""
    side = MODELS["mobilenet_v3_large"][0]
    torch.manual_seed(0)
    torch.backends.quantized.engine = "qnnpack"
    t = TQ.mobilenet_v3_large(quantize=False)
    t.fuse_model(is_qat=True)
    t.qconfig = torch.ao.quantization.get_default_qat_qconfig("qnnpack")
    torch.ao.quantization.prepare_qat(t, inplace=True)
    for m in t.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # the running statistics become the batch's
    with torch.no_grad():
        t(_inputs(rng, side, 4)[0])  # observers and batch-norm statistics see one batch
    w = JQ.MobileNet_V3_Large_QuantizedWeights.DEFAULT
    _hub(tmp_path, monkeypatch, w, t.state_dict())
    torch.backends.quantized.engine = "x86"  # torch packs fbgemm weights: the arithmetic jtorch computes
    torch.ao.quantization.convert(t.eval(), inplace=True)
    j = JQ.mobilenet_v3_large(weights=w, quantize=True)
    assert not j.training and _types(j) == _types(t)
    _compare_state(j.state_dict(), t.state_dict())
    x_t, x_j = _inputs(rng, side, 1)
    with torch.no_grad():
        q_t = t(x_t)
    with jtorch.no_grad():
        q_j = j(x_j)
    assert np.abs(q_t.numpy()).max() > 0
    # not investigated yet (docs/vision_models.md): with the same converted state dict the outputs of this
    # qnnpack-configured QAT model differ from torch's (under fbgemm packing) by up to a few steps
    steps = _same_output(q_j, q_t, max_steps=4)
    assert steps.mean() < 1


@pytest.mark.parametrize("name", ["resnet50", "resnext101_32x8d", "resnext101_64x4d", "shufflenet_v2_x2_0"])
def test_big_models_state_dict_keys(name, no_random_init):
    """The larger variants: same float and fused state-dict names and shapes."""
    torch.manual_seed(0)
    t, j = getattr(TQ, name)(), getattr(JQ, name)()
    shapes = lambda m: [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
    assert shapes(j) == shapes(t)
    t.eval().fuse_model()
    j.eval().fuse_model()
    assert shapes(j) == shapes(t) and _types(j) == _types(t)


def test_fuse_model_qat_and_train_mode(no_random_init):
    """fuse_model(is_qat=None) follows the training flag: QAT fusing keeps the batch norms (ConvBnReLU2d)."""
    t, j = TQ.resnet18(), JQ.resnet18()
    t.fuse_model()
    j.fuse_model()
    assert _types(j) == _types(t) and type(j.conv1).__name__ == "ConvBnReLU2d"
    t, j = TQ.mobilenet_v2().eval(), JQ.mobilenet_v2().eval()
    t.fuse_model(is_qat=True)
    j.fuse_model(is_qat=True)
    assert _types(j) == _types(t)


def test_weights_enums_and_registry():
    names = [n for n in dir(TQ) if n.endswith("_QuantizedWeights")]
    assert len(names) == 12
    for n in names:
        te, je = getattr(TQ, n), getattr(JQ, n)
        assert list(je.__members__) == list(te.__members__)
        for key, tw in te.__members__.items():
            jw = je[key]
            assert jw.url == tw.url and repr(jw) == repr(tw)
            plain = lambda meta: {k: v for k, v in meta.items() if k not in ("_docs", "unquantized")}
            assert plain(jw.meta) == plain(tw.meta)
            assert repr(jw.meta["unquantized"]) == repr(tw.meta["unquantized"])
            assert jw.meta["unquantized"] is JM.get_weight(repr(tw.meta["unquantized"]))
            assert jw.transforms.keywords == tw.transforms.keywords
        assert JM.get_weight(f"{n}.DEFAULT") is je.DEFAULT
    assert JM.list_models(JQ) == tv.models.list_models(TQ)
    for name in JM.list_models(JQ):
        assert JM.get_model_weights(name).__name__ == tv.models.get_model_weights(name).__name__
    assert isinstance(JM.get_model("quantized_shufflenet_v2_x0_5"), JQ.QuantizableShuffleNetV2)
    for cls in ("QuantizableResNet", "QuantizableBasicBlock", "QuantizableBottleneck", "QuantizableMobileNetV2",
                "QuantizableInvertedResidual", "QuantizableMobileNetV3", "QuantizableSqueezeExcitation",
                "QuantizableGoogLeNet", "QuantizableInception3", "QuantizableShuffleNetV2"):
        assert hasattr(JQ, cls)


def test_builder_errors(no_random_init):
    """Float weights with quantize=True (and quantized ones without) are the wrong enum, as in torchvision; an
    unknown backend raises before quantizing."""
    for lib in (TQ, JQ):
        with pytest.raises(TypeError):
            lib.resnet18(weights=JM.ResNet18_Weights.DEFAULT if lib is JQ else tv.models.ResNet18_Weights.DEFAULT,
                         quantize=True)
        with pytest.raises(TypeError):
            lib.resnet18(weights=lib.ResNet18_QuantizedWeights.DEFAULT)
        with pytest.raises(ValueError):
            lib.resnet18(weights="ResNet18_QuantizedWeights.DEFAULT", quantize=True, num_classes=10)
        with pytest.raises(RuntimeError, match="Quantized backend not supported"):
            lib.shufflenet_v2_x0_5(quantize=True, backend="nope")
