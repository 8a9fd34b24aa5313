"""torch.nn modules exported by torch and jtorch: the same signature, and ``module()`` gives torch's
results on new seeded inputs."""
import numpy as np
import pytest
import torch

import jtorch


def _build(T, name):
    nn = T.nn
    if name == "lstm":
        return nn.LSTM(4, 5, num_layers=2, batch_first=True), [(2, 3, 4)]
    if name == "gru":
        return nn.GRU(4, 5, bidirectional=True), [(3, 2, 4)]
    if name == "mha":
        return nn.MultiheadAttention(8, 2, batch_first=True), [(2, 3, 8)] * 3
    if name == "encoder_layer":
        return nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), [(2, 5, 8)]
    if name == "embedding":
        return nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4), nn.Linear(4, 2)), ["ids"]
    if name == "convnet":
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)), [(2, 3, 8, 8)]
    raise KeyError(name)


def _inputs(T, shapes, rng_state):
    rng = np.random.default_rng(rng_state)
    out = []
    for s in shapes:
        if s == "ids":
            out.append(T.tensor(rng.integers(0, 10, size=(2, 3))))
        else:
            out.append(T.tensor(rng.standard_normal(s).astype(np.float32)))
    return tuple(out)


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for z in x for y in _flat(z)]
    return [x] if x is not None else []


@pytest.mark.filterwarnings("ignore:The tensor attributes")  # (torch's own warning about its RNNs)
@pytest.mark.parametrize("name", ["lstm", "gru", "mha", "encoder_layer", "embedding", "convnet"])
def test_nn_module_export_matches_torch(name):
    torch.manual_seed(0)
    tm, shapes = _build(torch, name)
    jm, _ = _build(jtorch, name)
    jm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    tm.eval(), jm.eval()
    tep = torch.export.export(tm, _inputs(torch, shapes, 1))
    jep = jtorch.export.export(jm, _inputs(jtorch, shapes, 1))
    specs = lambda ep: [(s.kind.name, s.arg.name, s.target) for s in ep.graph_signature.input_specs]  # noqa
    assert specs(jep) == specs(tep)
    assert len(jep.graph_signature.output_specs) == len(tep.graph_signature.output_specs)
    tout = _flat(tep.module()(*_inputs(torch, shapes, 2)))
    jout = _flat(jep.module()(*_inputs(jtorch, shapes, 2)))
    assert len(jout) == len(tout)
    for a, b in zip(jout, tout):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    # the lifted program has no call_module nodes: every module was traced through
    assert {n.op for n in jep.graph.nodes} <= {"placeholder", "call_function", "call_method", "output"}
