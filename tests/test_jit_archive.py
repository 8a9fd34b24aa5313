"""TorchScript archives: torch.jit.save's files run by jtorch.jit.load, and jtorch.jit.save's files run by
torch.jit.load, with the same outputs and parameters on seeded inputs."""
import io
import os
import sys
import warnings
import zipfile
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch 2.13's jit.script/trace deprecation


# ---------------------------------------------------------------- models, defined for both libraries
def _models(lib):
    nn = lib.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.act, self.fc2 = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn, self.pool = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.MaxPool2d(2)
            self.head = nn.Sequential(nn.Linear(64, 5), nn.Dropout(0.2), nn.GELU())

        def forward(self, x):
            x = self.pool(lib.relu(self.bn(self.conv(x))))
            return self.head(lib.flatten(x, 1)), x[:, 0].mean(dim=(1, 2), keepdim=True)

    class Views(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 2)
            self.register_buffer("k", lib.arange(3.0))

        def forward(self, x):
            y = x.view(x.size(0), -1) * lib.tensor([1.0, 2.0, 3.0]).repeat(4)
            z = self.fc(y[:, :12]).softmax(-1)
            return z + self.k[:2], x.mean(dim=(1, 2), keepdim=True).transpose(0, 1)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, batch_first=True)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return out, h

    class Methods(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.scale = 2.0

        def forward(self, x):
            return self.lin(x) + 1

        @lib.jit.export
        def scaled(self, x: torch.Tensor, n: int = 2) -> torch.Tensor:  # (TorchScript reads the annotations)
            y = self.lin(x) * self.scale
            for i in range(n):
                y = y + i
            return y

    return {"mlp": (MLP, (2, 4)), "cnn": (CNN, (2, 3, 8, 8)), "views": (Views, (2, 3, 4)),
            "lstm": (Recurrent, (2, 4, 3)), "methods": (Methods, (2, 3))}


def _control_flow(x: torch.Tensor, n: int):
    if x.sum() > 0:
        y = x * 2
    else:
        y = x - 1
    for i in range(n):
        y = y + i
    return y


TORCH_MODELS = _models(torch)
JT_MODELS = _models(jtorch)


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


def _assert_same_state(jm, tm):
    js, ts = jm.state_dict(), tm.state_dict()
    assert list(js) == list(ts)
    for k in ts:
        assert_close(js[k], ts[k], rtol=0, atol=0)


@pytest.fixture(scope="module")
def torch_archives(tmp_path_factory):
    """Archives written by real torch: (name, how) -> path."""
    folder = tmp_path_factory.mktemp("torch_archives")
    torch.manual_seed(0)
    paths = {}
    for name, (cls, shape) in TORCH_MODELS.items():
        m = cls().eval() if name == "cnn" else cls()
        kinds = ("script", "trace") if name != "methods" else ("script",)
        for how in kinds:
            sm = torch.jit.script(m) if how == "script" else torch.jit.trace(m, torch.randn(*shape))
            paths[name, how] = str(folder / f"{name}_{how}.pt")
            torch.jit.save(sm, paths[name, how])
    paths["fn", "script"] = str(folder / "fn_script.pt")
    torch.jit.save(torch.jit.script(_control_flow), paths["fn", "script"])
    return paths


# ---------------------------------------------------------------- torch's archives in jtorch
@pytest.mark.parametrize("name,how", [(n, h) for n in TORCH_MODELS for h in ("script", "trace")
                                      if not (n == "methods" and h == "trace")])
def test_torch_archive_runs_in_jtorch(torch_archives, rng, name, how):
    path = torch_archives[name, how]
    tm, jm = torch.jit.load(path), jtorch.jit.load(path)
    assert isinstance(jm, jtorch.jit.RecursiveScriptModule) and isinstance(jm, jtorch.nn.Module)
    _assert_same_state(jm, tm)
    assert all(type(p) is jtorch.nn.Parameter for p in jm.parameters())
    assert [n for n, _ in jm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in jm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    x = rng.standard_normal(TORCH_MODELS[name][1]).astype(np.float32)
    assert_close(_outputs(jm(jtorch.tensor(x))), _outputs(tm(torch.tensor(x))), rtol=1e-5, atol=1e-5)
    assert jm.code == tm.code
    assert jm.original_name == tm.original_name
    assert repr(jm) == repr(tm)


def test_script_method_and_function(torch_archives, rng):
    tm, jm = torch.jit.load(torch_archives["methods", "script"]), jtorch.jit.load(torch_archives["methods", "script"])
    x = rng.standard_normal((2, 3)).astype(np.float32)
    assert_close(jm.scaled(jtorch.tensor(x), 3), tm.scaled(torch.tensor(x), 3))
    assert_close(jm.scaled(jtorch.tensor(x)), tm.scaled(torch.tensor(x)))
    assert jm.scale == tm.scale == 2.0
    tf, jf = torch.jit.load(torch_archives["fn", "script"]), jtorch.jit.load(torch_archives["fn", "script"])
    for sign in (1, -1):  # both branches of the `if`
        v = sign * np.abs(rng.standard_normal(5)).astype(np.float32)
        assert_close(jf(jtorch.tensor(v), 3), tf(torch.tensor(v), 3))
    assert jf.code == tf.code


def test_train_mode_batch_norm_updates_buffers(torch_archives, rng):
    path = torch_archives["cnn", "script"]
    tm, jm = torch.jit.load(path).train(), jtorch.jit.load(path).train()
    assert all(m.training for m in jm.modules())
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert_close(_outputs(jm(jtorch.tensor(x)))[1], _outputs(tm(torch.tensor(x)))[1], rtol=1e-5, atol=1e-5)
    for k in ("bn.running_mean", "bn.running_var", "bn.num_batches_tracked"):
        assert_close(jm.state_dict()[k], tm.state_dict()[k], rtol=1e-5, atol=1e-6)
    jm.eval()
    assert not any(m.training for m in jm.modules())


def test_gradients_flow_to_loaded_parameters(torch_archives, rng):
    path = torch_archives["mlp", "trace"]
    tm, jm = torch.jit.load(path), jtorch.jit.load(path)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    tm(torch.tensor(x)).square().sum().backward()
    jm(jtorch.tensor(x)).square().sum().backward()
    for (n, jp), (_, tp) in zip(jm.named_parameters(), tm.named_parameters()):
        assert_close(jp.grad, tp.grad, rtol=1e-5, atol=1e-6)


def test_map_location_file_objects_to_and_extra_files(torch_archives, tmp_path, rng):
    m = torch.jit.script(TORCH_MODELS["mlp"][0]())
    path = str(tmp_path / "extra.pt")
    torch.jit.save(m, path, _extra_files={"meta.json": '{"a": 1}'})
    extra = {"meta.json": "", "absent.txt": ""}
    with open(path, "rb") as f:
        jm = jtorch.jit.load(io.BytesIO(f.read()), map_location="cpu", _extra_files=extra)
    textra = {"meta.json": "", "absent.txt": ""}
    tm = torch.jit.load(path, map_location=torch.device("cpu"), _extra_files=textra)
    assert extra == textra
    assert all(p.device.type == "cpu" for p in jm.parameters())
    jm64, tm64 = jm.to(jtorch.float64), tm.to(torch.float64)
    assert all(p.dtype == jtorch.float64 for p in jm64.parameters())
    x = rng.standard_normal((3, 4))
    assert_close(jm64(jtorch.tensor(x)), tm64(torch.tensor(x)))


def test_to_converts_parameters_the_code_reads_through_lists(torch_archives, rng):
    """A scripted LSTM reads its weights through the list ``_flat_weights``; ``to`` must reach them there too."""
    path = torch_archives["lstm", "script"]
    jm, tm = jtorch.jit.load(path).to(jtorch.float64), torch.jit.load(path).to(torch.float64)
    assert jm.lstm._flat_weights[0] is jm.lstm.weight_ih_l0
    x = rng.standard_normal((2, 4, 3))
    assert_close(jm(jtorch.tensor(x)), tm(torch.tensor(x)))


def test_resnet18_script_archive(tmp_path, rng):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vision"))
    from tv import torchvision
    tv = torchvision()
    if tv is None:
        pytest.skip("torchvision is not installed")
    torch.manual_seed(0)
    path = str(tmp_path / "resnet18.pt")
    torch.jit.save(torch.jit.script(tv.models.resnet18(num_classes=10).eval()), path)
    tm, jm = torch.jit.load(path), jtorch.jit.load(path)
    _assert_same_state(jm, tm)
    x = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad(), jtorch.no_grad():
        assert_close(jm(jtorch.tensor(x)), tm(torch.tensor(x)), rtol=1e-4, atol=1e-4)


def test_script_errors_surface_as_torch_does(torch_archives, rng):
    path = torch_archives["lstm", "script"]
    tm, jm = torch.jit.load(path), jtorch.jit.load(path)
    x = rng.standard_normal((1, 2, 4, 3)).astype(np.float32)
    with pytest.raises(torch.jit.Error, match="Expected input to be 2D or 3D") as te:
        tm(torch.tensor(x))
    with pytest.raises(jtorch.jit.Error, match="Expected input to be 2D or 3D") as je:
        jm(jtorch.tensor(x))
    assert not isinstance(je.value, RuntimeError) and not isinstance(te.value, RuntimeError)
    assert "ValueError" in str(te.value) and "ValueError" in str(je.value)


# ---------------------------------------------------------------- more of TorchScript's language
class _Pair(NamedTuple):
    a: torch.Tensor
    b: torch.Tensor


@torch.jit.script
class _Counter:
    def __init__(self, n: int):
        self.n = n

    def bump(self, k: int) -> int:
        self.n += k
        return self.n


class _Language(torch.nn.Module):
    """ModuleList loops, dict/str/Optional attributes, while, list append, isinstance, dict results."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.layers = nn.ModuleList([nn.Linear(6, 6) for _ in range(2)])
        self.emb, self.ln, self.gru = nn.Embedding(10, 6), nn.LayerNorm(6), nn.GRU(6, 4, batch_first=True)
        self.table: Dict[str, int] = {"a": 1, "b": 2}
        self.name = "hello"

    def forward(self, idx: torch.Tensor, mask: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        x = self.ln(self.emb(idx))
        outs: List[torch.Tensor] = []
        for layer in self.layers:
            x = torch.nn.functional.gelu(layer(x))
            outs.append(x.mean())
        if mask is not None:
            x = x.masked_fill(mask.unsqueeze(-1), 0.0)
        i = 0
        while i < self.table["b"]:
            x = x * 0.5
            i += 1
        y, h = self.gru(x)
        z = torch.nn.functional.interpolate(y.transpose(1, 2), scale_factor=2.0, mode="linear", align_corners=False)
        r = {"y": y, "h": h[0], "z": z, "s": torch.stack(outs), "c": torch.cat([x[:, 0], x[:, -1]], 1)}
        if isinstance(mask, torch.Tensor):
            r["m"] = mask.float().sum(1, keepdim=True)
        return r


class _Layers(torch.nn.Module):
    """Attention, a Transformer layer, grouped and transposed convolutions, upsampling, a NamedTuple result."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.att = nn.MultiheadAttention(8, 2, batch_first=True)
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.c1, self.ct = nn.Conv1d(8, 8, 3, padding=1, groups=2), nn.ConvTranspose2d(2, 3, 3, stride=2)
        self.up, self.pool = nn.Upsample(scale_factor=2, mode="nearest"), nn.AdaptiveAvgPool2d((2, 2))

    def forward(self, x: torch.Tensor, img: torch.Tensor) -> _Pair:
        a, w = self.att(x, x, x)
        e = self.enc(a)
        c = self.c1(e.transpose(1, 2)).transpose(1, 2)
        return _Pair(c + e, torch.nn.functional.softmax(self.pool(self.up(self.ct(img))).flatten(1), dim=-1))


class _Values(torch.nn.Module):
    """A TorchScript class, str.format, chunk, indexing with slices and ellipsis, int and str results."""

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, int, str]:
        c = _Counter(2)
        k = c.bump(3)
        parts = x.chunk(2, dim=0)
        msg = "n={} shape={}".format(k, x.shape)
        v = x[0, 1:] + x[1, :-1].clamp(min=0.0) + x[..., 0:1]
        return torch.where(x > 0, x, -x).sum() + parts[0].sum() + v.sum(), k // 2 + len(x.shape), msg


def _same(j, t):
    if isinstance(t, dict):
        assert list(j) == list(t)
        for k in t:
            _same(j[k], t[k])
    elif isinstance(t, (tuple, list)):
        assert len(j) == len(t)
        for a, b in zip(j, t):
            _same(a, b)
    elif isinstance(t, torch.Tensor):
        assert_close(j, t, rtol=1e-5, atol=1e-5)
    else:
        assert j == t


# without grad, attention and the Transformer layer take their fused inference paths
@pytest.mark.parametrize("name,grad", [("language", True), ("layers", True), ("layers", False), ("values", True)])
def test_torchscript_language(tmp_path, rng, name, grad):
    torch.manual_seed(0)
    cls = {"language": _Language, "layers": _Layers, "values": _Values}[name]
    path = str(tmp_path / f"{name}.pt")
    torch.jit.save(torch.jit.script(cls().eval()), path)
    tm, jm = torch.jit.load(path), jtorch.jit.load(path)
    if name == "language":
        idx = rng.integers(0, 10, (2, 5))
        mask = rng.random((2, 5)) > 0.5
        calls = [(idx,), (idx, mask)]
    elif name == "layers":
        calls = [(rng.standard_normal((2, 5, 8)).astype(np.float32),
                  rng.standard_normal((1, 2, 4, 4)).astype(np.float32))]
    else:
        calls = [(rng.standard_normal((2, 3)).astype(np.float32),)]
    for args in calls:
        with torch.set_grad_enabled(grad), jtorch.set_grad_enabled(grad):
            _same(jm(*[jtorch.tensor(a) for a in args]), tm(*[torch.tensor(a) for a in args]))


def test_frozen_archive_reads_weights_from_constants(tmp_path, rng):
    torch.manual_seed(0)
    path = str(tmp_path / "frozen.pt")
    torch.jit.save(torch.jit.freeze(torch.jit.script(TORCH_MODELS["cnn"][0]().eval())), path)
    tm, jm = torch.jit.load(path), jtorch.jit.load(path)
    assert "CONSTANTS.c0" in jm.code and not list(jm.parameters())
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert_close(_outputs(jm(jtorch.tensor(x))), _outputs(tm(torch.tensor(x))), rtol=1e-5, atol=1e-5)


def test_custom_cpp_classes_are_refused_clearly(tmp_path):
    q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(4, 4)), {torch.nn.Linear},
                                               dtype=torch.qint8)
    path = str(tmp_path / "quantized.pt")
    torch.jit.save(torch.jit.script(q), path)
    with pytest.raises(RuntimeError, match="C\\+\\+ custom classes"):
        jtorch.jit.load(path)


# ---------------------------------------------------------------- bad files: torch's exception types
def _errors(fn, arg):
    try:
        fn(arg)
    except Exception as e:  # noqa: BLE001 (we compare the types)
        return type(e)
    return None


def test_bad_archives_raise_torch_errors(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip file at all")
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"w": torch.ones(2)}, str(checkpoint))
    for bad in (str(tmp_path / "missing.pt"), str(tmp_path), str(junk), str(checkpoint)):
        t, j = _errors(torch.jit.load, bad), _errors(jtorch.jit.load, bad)
        assert t is not None and t is j, (bad, t, j)
    with pytest.raises(ValueError, match="does not exist"):
        jtorch.jit.load(str(tmp_path / "missing.pt"))
    with pytest.raises(RuntimeError, match="constants.pkl"):
        jtorch.jit.load(str(checkpoint))


def _with_code(src_path, dst_path, extra_line):
    """A copy of an archive whose top code file starts with ``extra_line``."""
    with zipfile.ZipFile(src_path) as zin, zipfile.ZipFile(dst_path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".py") and "/code/__torch__" in info.filename:
                data = extra_line.encode() + b"\n" + data
            zout.writestr(info, data)


@pytest.mark.parametrize("line", ["import os", "_x = ().__class__.__bases__[0].__subclasses__()",
                                  "_f = open(MARKER, 'w')", "_g = getattr(torch, '__class__')",
                                  "_h = __import__('os')", "_s = torch.save([1], MARKER)",
                                  "_m = ops.import_module('json')"])
def test_code_that_is_not_torchscript_is_refused(torch_archives, tmp_path, line):
    """An archive's code runs with only TorchScript's names: Python that reaches files or modules is refused."""
    marker = tmp_path / "touched"
    bad = str(tmp_path / "bad.pt")
    _with_code(torch_archives["mlp", "script"], bad, line.replace("MARKER", repr(str(marker))))
    with pytest.raises(RuntimeError, match="jtorch.jit.load"):
        jtorch.jit.load(bad)
    assert not marker.exists()


# ---------------------------------------------------------------- jtorch's archives in torch
@pytest.mark.parametrize("name", ["mlp", "cnn", "views"])
def test_jtorch_archive_runs_in_torch(tmp_path, rng, name):
    cls, shape = JT_MODELS[name]
    jtorch.manual_seed(0)
    m = cls().eval() if name == "cnn" else cls()
    x = rng.standard_normal(shape).astype(np.float32)
    path = str(tmp_path / f"{name}.pt")
    jtorch.jit.save(jtorch.jit.trace(m, jtorch.tensor(x)), path, _extra_files={"note.txt": "from jtorch"})
    extra = {"note.txt": ""}
    tm = torch.jit.load(path, _extra_files=extra)
    assert extra["note.txt"] == b"from jtorch"
    _assert_same_state(m, tm)
    assert_close(_outputs(m(jtorch.tensor(x))), _outputs(tm(torch.tensor(x))), rtol=1e-5, atol=1e-5)
    other = rng.standard_normal((5, *shape[1:])).astype(np.float32)  # the batch size is not baked in
    assert_close(_outputs(m(jtorch.tensor(other))), _outputs(tm(torch.tensor(other))), rtol=1e-5, atol=1e-5)
    back = jtorch.jit.load(path)  # and jtorch reads its own archive
    _assert_same_state(back, tm)
    assert_close(_outputs(back(jtorch.tensor(other))), _outputs(tm(torch.tensor(other))), rtol=1e-5, atol=1e-5)


def _layer_models():
    nn, F = jtorch.nn, jtorch.nn.functional

    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.e, self.ln, self.fc = nn.Embedding(10, 6, padding_idx=0), nn.LayerNorm(6), nn.Linear(6, 6)

        def forward(self, idx):
            x = self.ln(self.e(idx))
            a, b = x.chunk(2, -1)
            return jtorch.cat([F.silu(a), jtorch.tanh(b)], -1).sum(1) + self.fc(x).max(1).values

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.gru = nn.LSTM(3, 5, batch_first=True), nn.GRU(5, 4, num_layers=2)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.gru(y)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.att = nn.MultiheadAttention(8, 2, batch_first=True)
            self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

        def forward(self, x):
            a, w = self.att(x, x, x)
            return self.enc(a), w

    class Image(nn.Module):
        def __init__(self):
            super().__init__()
            self.c, self.gn = nn.Conv2d(3, 4, 3, stride=2, bias=False), nn.GroupNorm(2, 4)
            self.ct = nn.ConvTranspose2d(4, 2, 2, stride=2)

        def forward(self, x):
            y = F.interpolate(self.gn(self.c(x)), scale_factor=2, mode="bilinear", align_corners=False)
            y = F.avg_pool2d(F.leaky_relu(y, 0.1), 2) + F.adaptive_avg_pool2d(y, (3, 3))[..., :1, :1]
            return self.ct(y).permute(0, 2, 3, 1).reshape(x.shape[0], -1), jtorch.stack([y.amax((2, 3)),
                                                                                         y.std((2, 3))], 1)

    return {"embed": (Embed, lambda r: r.integers(0, 10, (2, 5))),
            "recurrent": (Recurrent, lambda r: r.standard_normal((2, 4, 3)).astype(np.float32)),
            "attention": (Attention, lambda r: r.standard_normal((2, 5, 8)).astype(np.float32)),
            "image": (Image, lambda r: r.standard_normal((2, 3, 9, 9)).astype(np.float32))}


LAYER_MODELS = _layer_models()


@pytest.mark.parametrize("name", list(LAYER_MODELS))
def test_jtorch_layers_archive_runs_in_torch(tmp_path, rng, name):
    cls, make = LAYER_MODELS[name]
    jtorch.manual_seed(0)
    m = cls().eval()
    x = make(rng)
    path = str(tmp_path / f"{name}.pt")
    jtorch.jit.save(jtorch.jit.trace(m, jtorch.tensor(x)), path)
    tm = torch.jit.load(path)
    _assert_same_state(m, tm)
    assert_close(_outputs(m(jtorch.tensor(x))), _outputs(tm(torch.tensor(x))), rtol=1e-5, atol=1e-5)


def test_script_with_example_inputs_saves(tmp_path, rng):
    m = JT_MODELS["mlp"][0]()
    x = rng.standard_normal((2, 4)).astype(np.float32)
    buf = io.BytesIO()
    jtorch.jit.save(jtorch.jit.script(m, example_inputs=[(jtorch.tensor(x),)]), buf)
    buf.seek(0)
    tm = torch.jit.load(buf)
    assert_close(m(jtorch.tensor(x)), tm(torch.tensor(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["lstm", "methods", "fn"])
def test_loaded_archive_saves_back_for_torch(torch_archives, tmp_path, rng, name):
    """A torch archive loaded, changed in jtorch and saved again: torch runs it with the new weights."""
    jm = jtorch.jit.load(torch_archives[name, "script"])
    with jtorch.no_grad():
        for p in jm.parameters():
            p.mul_(0.5)
    path = str(tmp_path / "again.pt")
    jm.save(path)
    tm = torch.jit.load(path)
    _assert_same_state(jm, tm)
    if name == "fn":
        v = rng.standard_normal(4).astype(np.float32)
        assert_close(jm(jtorch.tensor(v), 2), tm(torch.tensor(v), 2))
        return
    x = rng.standard_normal(TORCH_MODELS[name][1]).astype(np.float32)
    assert_close(_outputs(jm(jtorch.tensor(x))), _outputs(tm(torch.tensor(x))), rtol=1e-5, atol=1e-5)
    if name == "methods":
        assert_close(jm.scaled(jtorch.tensor(x), 3), tm.scaled(torch.tensor(x), 3), rtol=1e-5, atol=1e-5)


def test_traced_function_saves_as_a_module(tmp_path, rng):
    def fn(x, y):
        return (x * y).relu().sum(-1), x - y

    a, b = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
    path = str(tmp_path / "fn.pt")
    jtorch.jit.trace(fn, (jtorch.tensor(a), jtorch.tensor(b))).save(path)
    tm = torch.jit.load(path)
    assert_close(fn(jtorch.tensor(a), jtorch.tensor(b)), tm(torch.tensor(a), torch.tensor(b)))
    assert_close(jtorch.jit.load(path)(jtorch.tensor(a), jtorch.tensor(b)), tm(torch.tensor(a), torch.tensor(b)))


def test_save_errors(tmp_path, rng):
    m = JT_MODELS["mlp"][0]()
    with pytest.raises(RuntimeError, match="example inputs"):
        jtorch.jit.save(jtorch.jit.script(m), str(tmp_path / "a.pt"))
    with pytest.raises(RuntimeError, match="trace it"):
        jtorch.jit.save(jtorch.jit.script(lambda x: x + 1), str(tmp_path / "a.pt"))

    class Branchy(jtorch.nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x - 1

    x = jtorch.tensor(rng.standard_normal(3).astype(np.float32))
    with pytest.raises(RuntimeError, match="branches on tensor data"):
        jtorch.jit.save(jtorch.jit.trace(Branchy(), x), str(tmp_path / "b.pt"))
    assert not os.path.exists(tmp_path / "b.pt")  # nothing half-written


def test_archive_layout_is_torchs(tmp_path, rng):
    m = JT_MODELS["mlp"][0]()
    path = str(tmp_path / "layout.pt")
    jtorch.jit.save(jtorch.jit.trace(m, jtorch.tensor(rng.standard_normal((2, 4)).astype(np.float32))), path)
    names = zipfile.ZipFile(path).namelist()
    assert {"layout/data.pkl", "layout/constants.pkl", "layout/.data/version", "layout/byteorder"} <= set(names)
    assert any(n.startswith("layout/code/__torch__/") and n.endswith(".py") for n in names)
    assert sum(n.startswith("layout/data/") for n in names) == 4
