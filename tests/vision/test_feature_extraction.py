"""jtorch.vision.models.feature_extraction against torchvision's, and torchvision models traced by
jtorch.fx against torch.fx."""
import warnings

import numpy as np
import pytest
import torch
import torch.fx as tfx

import jtorch
import jtorch.fx as jfx
import jtorch.vision.models as jm
from jtorch.vision.models.feature_extraction import create_feature_extractor, get_graph_node_names
from tests.fx.fx_models import structure, np_of
from tests.vision.tv import torchvision as _load_torchvision


def _tv():
    tv = _load_torchvision()
    assert tv is not None, "the test extras install torchvision (the oracle)"
    import torchvision.models.feature_extraction  # noqa: F401
    return tv


def _pair(name, **kw):
    tv = _tv()
    torch.manual_seed(0)
    t = getattr(tv.models, name)(**kw)
    j = getattr(jm, name)(**kw)
    j.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return t, j


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "squeezenet1_0", "shufflenet_v2_x0_5", "efficientnet_b0"])
def test_models_trace_like_torchvision(name):
    t, j = _pair(name)
    assert structure(jfx.symbolic_trace(j)) == structure(tfx.symbolic_trace(t))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_graph_node_names_match(name):
    from torchvision.models.feature_extraction import get_graph_node_names as tv_names
    t, j = _pair(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert get_graph_node_names(j) == tv_names(t)


def test_feature_extractor_outputs(rng):
    from torchvision.models.feature_extraction import create_feature_extractor as tv_create
    t, j = _pair("resnet18", num_classes=10)
    nodes = {"layer1": "l1", "layer2.0.relu_1": "mid", "layer3.1.add": "sum", "flatten": "flat"}
    tf, jf = tv_create(t, return_nodes=nodes), create_feature_extractor(j, return_nodes=nodes)
    assert structure(jf) == structure(tf)
    x = rng.standard_normal((4, 3, 64, 64)).astype(np.float32)  # (train-mode BatchNorm: enough values per channel)
    for mode in ("eval", "train"):
        getattr(tf, mode)()
        getattr(jf, mode)()
        to, jo = tf(torch.from_numpy(x)), jf(jtorch.tensor(x))
        assert list(jo) == list(to) == ["l1", "mid", "sum", "flat"]
        for k in to:
            np.testing.assert_allclose(np_of(jo[k]), to[k].detach().numpy(), rtol=2e-4, atol=2e-4, err_msg=k)
    # the same features through forward hooks on the model itself (an independent read of the values)
    j.eval()
    jf.eval()
    got = {}
    j.layer1.register_forward_hook(lambda m, i, o: got.__setitem__("l1", o))
    j(jtorch.tensor(x))
    np.testing.assert_allclose(np_of(jf(jtorch.tensor(x))["l1"]), np_of(got["l1"]), rtol=1e-5, atol=1e-5)
    # a list of names keeps the names as keys
    assert list(create_feature_extractor(j, ["layer4", "fc"])(jtorch.tensor(x))) == ["layer4", "fc"]


def test_feature_extractor_errors():
    from torchvision.models.feature_extraction import create_feature_extractor as tv_create
    t, j = _pair("resnet18")
    for create, m in ((tv_create, t), (create_feature_extractor, j)):
        with pytest.raises(ValueError, match="is not present in model"):
            create(m, return_nodes=["layer9"])
        with pytest.raises(ValueError):
            create(m)
        with pytest.raises(ValueError):
            create(m, return_nodes=["fc"], train_return_nodes=["fc"])
