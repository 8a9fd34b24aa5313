"""FX graph mode quantization against torch: the same float weights and calibration data through torch's and
jtorch's prepare_fx / calibrate / convert_fx (and prepare_qat_fx with a few training steps); quantized outputs
compared within one quantization step, converted module types and graph ops compared."""
import operator
import re
import warnings

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq
import torch.ao.quantization.quantize_fx as tqfx

import jtorch
import jtorch.ao.quantization as jq
import jtorch.ao.quantization.quantize_fx as jqfx

warnings.filterwarnings("ignore")


def _models(lib):
    nn, F = lib.nn, lib.nn.functional

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(36, 5)

        def forward(self, x):
            x = self.relu(self.bn(self.conv(x)))
            x = F.relu(self.conv2(x))
            x = self.pool(x)
            x = x.reshape(x.shape[0], -1)
            return self.fc(x)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(8, 8)
            self.fc3 = nn.Linear(8, 3)
            self.act = nn.Sequential(nn.Hardswish(), nn.LeakyReLU(0.2))

        def forward(self, x):
            x = self.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(self.act(x))

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(4, 4)
            self.l2 = nn.Linear(4, 4)
            self.l3 = nn.Linear(8, 3)

        def forward(self, x):
            a, b = self.l1(x), self.l2(x)
            c = F.relu(lib.add(a, b))
            d = lib.cat([a, c], 1)
            return self.l3(d), a * b, lib.sigmoid(d), (c + 1.0) * -2.0 + b * 3

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return F.leaky_relu(F.hardswish(F.relu(lib.add(self.fc(x), x)) * x), 0.2)

    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.block = Block()

        def forward(self, x):
            y = self.block(self.fc(x))
            return lib.add(y, x) * y

    class Residual(nn.Module):
        """A ResNet basic block: one ReLU module called twice (fused with conv-bn, then after the += add)."""

        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)
            self.conv2, self.bn2 = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)
            self.relu = nn.ReLU(inplace=True)
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += x
            return lib.flatten(self.pool(self.relu(out)), 1)

    return {"cnn": (CNN, (2, 3, 8, 8)), "mlp": (MLP, (5, 6)), "functional": (Functional, (5, 4)),
            "nested": (Nested, (5, 4)), "residual": (Residual, (2, 3, 6, 6))}



def _pair(name, rng, train=False):
    """The same float model in torch and jtorch (eval mode unless ``train``), with non-trivial batch norm stats."""
    cls_t, shape = _models(torch)[name]
    cls_j, _ = _models(jtorch)[name]
    mt, mj = cls_t(), cls_j()
    state = {k: v.detach().numpy() for k, v in mt.state_dict().items()}
    for k, v in state.items():
        if k.endswith("running_mean"):
            state[k] = rng.standard_normal(v.shape).astype(np.float32) * 0.1
        elif k.endswith("running_var"):
            state[k] = rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
        elif v.dtype == np.float32:
            state[k] = rng.standard_normal(v.shape).astype(np.float32) * 0.3
    mt.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    mj.load_state_dict({k: jtorch.tensor(v) for k, v in state.items()})
    mt.train(train)
    mj.train(train)
    return mt, mj, shape


def _inputs(rng, shape, n):
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]
    return [torch.tensor(x) for x in xs], [jtorch.tensor(x) for x in xs]


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def _close(oj, ot, steps=1):
    """Outputs equal up to ``steps`` quantization steps of torch's output scale (or float rounding)."""
    for j, t in zip(_flat(oj), _flat(ot)):
        assert tuple(j.shape) == tuple(t.shape) and str(j.dtype) == str(t.dtype)
        np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=0, atol=steps * 0.06 + 1e-5)


def _module_types(gm):
    """(qualified name, the name its repr shows) of each submodule."""
    return [(n, m._get_name()) for n, m in gm.named_modules() if n]


def _module_repr(gm):
    """The printed module tree (without the code), long floats cut to 4 significant digits (XLA's and torch's
    float convolutions can differ in the last bit, and observed ranges with them)."""
    text = str(gm).split("\n\n\n\n")[0].replace("jtorch", "torch")
    return re.sub(r"\d+\.\d{6,}(e-?\d+)?", lambda m: f"{float(m.group(0)):.4g}", text)


def _graph_ops(gm):
    """The call targets of a converted graph, by a library-neutral name."""
    out = []
    for n in gm.graph.nodes:
        if n.op == "call_function":
            t = n.target
            out.append(getattr(t, "__name__", str(t)).split(".")[0])
        elif n.op in ("call_method", "call_module"):
            out.append(n.op + ":" + str(n.target))
    return out


def _quantize_both(name, rng, qmap_fn=lambda lib: lib.ao.quantization.get_default_qconfig_mapping()):
    mt, mj, shape = _pair(name, rng)
    cal_t, cal_j = _inputs(rng, shape, 2)
    pt = tqfx.prepare_fx(mt, qmap_fn(torch), (cal_t[0],))
    pj = jqfx.prepare_fx(mj, qmap_fn(jtorch), (cal_j[0],))
    with torch.no_grad():
        for x in cal_t:
            pt(x)
    with jtorch.no_grad():
        for x in cal_j:
            pj(x)
    return pt, pj, shape


@pytest.mark.parametrize("name", ["cnn", "mlp", "functional", "nested", "residual"])
def test_ptq_matches_torch(rng, name):
    pt, pj, shape = _quantize_both(name, rng)
    assert _module_repr(pj) == _module_repr(pt)
    assert str(pj.code).count("activation_post_process") == str(pt.code).count("activation_post_process")
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_repr(qj) == _module_repr(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    xt, xj = _inputs(rng, shape, 2)
    for a, b in zip(xt, xj):
        _close(qj(b), qt(a))


def _train_steps(model, lib, xs, steps=3):
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for i in range(steps):
        opt.zero_grad()
        out = _flat(model(xs[i % len(xs)]))[0]
        loss = (out ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses


@pytest.mark.parametrize("name", ["cnn", "mlp", "functional", "residual"])
def test_qat_matches_torch(rng, name):
    mt, mj, shape = _pair(name, rng, train=True)
    xt, xj = _inputs(rng, shape, 3)
    pt = tqfx.prepare_qat_fx(mt, tq.get_default_qat_qconfig_mapping(), (xt[0],))
    pj = jqfx.prepare_qat_fx(mj, jq.get_default_qat_qconfig_mapping(), (xj[0],))
    assert _module_types(pj) == _module_types(pt)
    lt, lj = _train_steps(pt, torch, xt), _train_steps(pj, jtorch, xj)
    np.testing.assert_allclose(lj, lt, rtol=1e-4)
    pt.eval()
    pj.eval()
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_types(qj) == _module_types(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    with torch.no_grad():
        ot = qt(xt[0])
    _close(qj(xj[0]), ot)


def _qmaps(lib):
    """QConfigMappings exercising each kind of entry (None leaves that part in float)."""
    aq = lib.ao.quantization
    default = aq.get_default_qconfig("x86")
    return {
        "object_type_none": aq.QConfigMapping().set_global(default).set_object_type(lib.nn.Conv2d, None),
        "module_name_none": aq.QConfigMapping().set_global(aq.default_qconfig).set_module_name("fc2", None),
        "only_linear": aq.QConfigMapping().set_object_type(lib.nn.Linear, aq.default_per_channel_qconfig)
        .set_object_type(lib.nn.ReLU, aq.default_per_channel_qconfig),
        "regex": aq.QConfigMapping().set_global(default).set_module_name_regex("l[12]", None),
        "function_none": aq.QConfigMapping().set_global(default).set_object_type(lib.add, None)
        .set_object_type(operator.mul, None),
        "dict": {"": aq.default_qconfig, "module_name": [("fc3", None)]},
        "order": aq.QConfigMapping().set_global(default).set_module_name_object_type_order("", operator.mul, 1, None),
        "scope": aq.QConfigMapping().set_global(default).set_module_name("block", None),
        "scope_type": aq.QConfigMapping().set_global(default).set_module_name_object_type_order(
            "block", operator.mul, 0, None),
    }


@pytest.mark.parametrize("name,qmap", [("cnn", "object_type_none"), ("mlp", "module_name_none"),
                                       ("mlp", "only_linear"), ("functional", "regex"),
                                       ("functional", "function_none"), ("mlp", "dict"), ("functional", "order"),
                                       ("nested", "scope"), ("nested", "scope_type")])
def test_qconfig_mapping_matches_torch(rng, name, qmap):
    pt, pj, shape = _quantize_both(name, rng, lambda lib: _qmaps(lib)[qmap])
    assert _module_types(pj) == _module_types(pt)
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_types(qj) == _module_types(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    xt, xj = _inputs(rng, shape, 1)
    _close(qj(xj[0]), qt(xt[0]))


def _raises(fn_t, fn_j):
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(et.type) as ej:
        fn_j()
    return et.value, ej.value


def test_bad_input_errors_match_torch(rng):
    mt, mj, shape = _pair("mlp", rng)
    xt, xj = _inputs(rng, shape, 1)
    qt, qj = tq.get_default_qconfig_mapping(), jq.get_default_qconfig_mapping()
    _raises(lambda: tqfx.prepare_fx(mt, qt), lambda: jqfx.prepare_fx(mj, qj))  # no example_inputs: TypeError
    et, ej = _raises(lambda: tqfx.prepare_fx(mt, 3, (xt[0],)), lambda: jqfx.prepare_fx(mj, 3, (xj[0],)))
    assert str(ej) == str(et)
    # a fused module's parts need the same object type qconfig
    et, ej = _raises(lambda: tqfx.prepare_fx(mt, tq.QConfigMapping().set_object_type(torch.nn.Linear,
                                                                                      tq.default_qconfig), xt),
                     lambda: jqfx.prepare_fx(mj, jq.QConfigMapping().set_object_type(jtorch.nn.Linear,
                                                                                      jq.default_qconfig), xj))
    assert str(ej).split(" in ")[0] == str(et).split(" in ")[0]
    et, ej = _raises(lambda: tqfx.convert_fx(mt), lambda: jqfx.convert_fx(mj))
    assert str(ej).replace("jtorch", "torch") == str(et)
    et, ej = _raises(lambda: tqfx.convert_fx(torch.fx.symbolic_trace(mt)),
                     lambda: jqfx.convert_fx(jtorch.fx.symbolic_trace(mj)))
    assert str(ej) == str(et)
    _raises(lambda: tqfx.prepare_fx(mt, qt, (xt[0],), backend_config=3),
            lambda: jqfx.prepare_fx(mj, qj, (xj[0],), backend_config=3))


def test_fuse_fx_matches_torch(rng):
    mt, mj, shape = _pair("cnn", rng)
    ft, fj = tqfx.fuse_fx(mt), jqfx.fuse_fx(mj)
    assert _module_types(fj) == _module_types(ft)
    assert _graph_ops(fj) == _graph_ops(ft)
    xt, xj = _inputs(rng, shape, 1)
    np.testing.assert_allclose(fj(xj[0]).detach().numpy(), ft(xt[0]).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_qconfig_mapping_api():
    aq = jq
    m = (aq.QConfigMapping().set_global(aq.default_qconfig).set_object_type(jtorch.nn.Linear, None)
         .set_module_name_regex("foo.*", aq.default_qconfig).set_module_name("bar", None)
         .set_module_name_object_type_order("baz", jtorch.add, 1, aq.default_qconfig))
    d = m.to_dict()
    assert d[""] is aq.default_qconfig and d["object_type"] == [(jtorch.nn.Linear, None)]
    assert d["module_name_object_type_order"] == [("baz", jtorch.add, 1, aq.default_qconfig)]
    back = aq.QConfigMapping.from_dict(d)
    assert back.module_name_qconfigs == m.module_name_qconfigs and back.global_qconfig is aq.default_qconfig
    tm, jm = tq.get_default_qconfig_mapping("qnnpack"), aq.get_default_qconfig_mapping("qnnpack")
    assert len(jm.object_type_qconfigs) == len(tm.object_type_qconfigs)
    assert repr(jm.global_qconfig).replace("jtorch", "torch") == repr(tm.global_qconfig)
    tqat, jqat = tq.get_default_qat_qconfig_mapping(), aq.get_default_qat_qconfig_mapping()
    assert repr(jqat.global_qconfig).replace("jtorch", "torch") == repr(tqat.global_qconfig)
    assert (repr(jqat.object_type_qconfigs[jtorch.nn.Sigmoid]).replace("jtorch", "torch")
            == repr(tqat.object_type_qconfigs[torch.nn.Sigmoid]))
    from jtorch.ao.quantization.backend_config import get_native_backend_config, BackendConfig
    assert isinstance(get_native_backend_config(), BackendConfig)


@pytest.mark.parametrize("name", ["cnn", "functional"])
def test_reference_model_matches_torch(rng, name):
    pt, pj, shape = _quantize_both(name, rng)
    rt, rj = tqfx.convert_to_reference_fx(pt), jqfx.convert_to_reference_fx(pj)
    assert _module_types(rj) == _module_types(rt)
    assert _graph_ops(rj) == _graph_ops(rt)
    assert repr(rj.fc if name == "cnn" else rj.l1) == repr(rt.fc if name == "cnn" else rt.l1)
    ref_t = rt.fc if name == "cnn" else rt.l1
    ref_j = rj.fc if name == "cnn" else rj.l1
    np.testing.assert_allclose(ref_j.weight_scale.numpy(), ref_t.weight_scale.numpy(), rtol=1e-6)
    assert ref_j.weight_qscheme == getattr(jtorch, str(ref_t.weight_qscheme).split(".")[-1])
    xt, xj = _inputs(rng, shape, 1)
    _close(rj(xj[0]), rt(xt[0]))


def test_quantized_scalar_ops_match_torch(rng):
    import jtorch.ao.quantization.fx.quantized_ops  # noqa: F401  (torch.ops.quantized.add & co)
    for dtype, zps in (("quint8", (0, 40, 128, 255)), ("qint8", (-128, -20, 0, 127))):
        for zp in zps:
            x = (rng.standard_normal(64) * 3).astype(np.float32)
            scale = float(rng.uniform(0.01, 0.08))
            qt = torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, dtype))
            qj = jtorch.quantize_per_tensor(jtorch.tensor(x), scale, zp, getattr(jtorch, dtype))
            for b in (0.7, -0.4, 9.0, -9.0, 0.0, 2.5):
                for op in ("add", "mul"):
                    rt = getattr(torch.ops.quantized, op)(qt, b)
                    rj = getattr(jtorch.ops.quantized, op)(qj, b)
                    assert rj.q_zero_point() == rt.q_zero_point()
                    np.testing.assert_allclose(rj.q_scale(), rt.q_scale(), rtol=1e-6)
                    diff = np.abs(rj.int_repr().numpy().astype(int) - rt.int_repr().numpy().astype(int))
                    assert diff.max() <= 1 and (diff > 0).mean() < 0.05


def test_dynamic_qconfig_matches_torch(rng):
    pt, pj, shape = _quantize_both(
        "mlp", rng, lambda lib: lib.ao.quantization.QConfigMapping().set_global(
            lib.ao.quantization.default_dynamic_qconfig))
    assert _module_types(pj) == _module_types(pt)
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_types(qj) == _module_types(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    xt, xj = _inputs(rng, shape, 1)
    np.testing.assert_allclose(qj(xj[0]).numpy(), qt(xt[0]).numpy(), rtol=1e-4, atol=1e-5)


def _untraceable(lib):
    nn = lib.nn

    class Branchy(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x - 1  # data-dependent: symbolic tracing cannot go through

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.branchy = Branchy()
            self.fc2 = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(self.branchy(self.fc(x)))
    return Outer


def test_non_traceable_module_matches_torch(rng):
    mt, mj = _untraceable(torch)(), _untraceable(jtorch)()
    mj.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})
    mt.eval()
    mj.eval()
    xt, xj = _inputs(rng, (3, 4), 2)
    from torch.ao.quantization.fx.custom_config import PrepareCustomConfig as TConfig
    from jtorch.ao.quantization.fx.custom_config import PrepareCustomConfig as JConfig
    pt = tqfx.prepare_fx(mt, tq.get_default_qconfig_mapping(), (xt[0],),
                         prepare_custom_config=TConfig().set_non_traceable_module_names(["branchy"]))
    pj = jqfx.prepare_fx(mj, jq.get_default_qconfig_mapping(), (xj[0],),
                         prepare_custom_config=JConfig().set_non_traceable_module_names(["branchy"]))
    # the older dict form
    jqfx.prepare_fx(mj, jq.get_default_qconfig_mapping(), (xj[0],),
                    prepare_custom_config={"non_traceable_module_name": ["branchy"]})
    assert _module_types(pj) == _module_types(pt)
    pt(xt[0])
    pj(xj[0])
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _graph_ops(qj) == _graph_ops(qt)
    _close(qj(xj[1]), qt(xt[1]))
