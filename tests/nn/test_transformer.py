"""Transformer layers and stacks against torch with the same weights."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.nn as nn
from tests.helpers import assert_close

TOL = dict(rtol=1e-4, atol=2e-5)


def pair(name, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(torch.nn, name)(*args, **kw)
        j = getattr(nn, name)(*args, **kw)
    assert list(j.state_dict()) == list(t.state_dict())
    assert repr(j) == repr(t)
    j.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, j


def both(a, grad=False):
    return torch.tensor(a, requires_grad=grad), jtorch.tensor(a, requires_grad=grad)


def check_param_grads(t, j):
    for (n, a), (m, b) in zip(j.named_parameters(), t.named_parameters()):
        assert n == m
        assert_close(a.grad, b.grad, **TOL)


def test_transformer_full_model(rng):
    t, j = pair("Transformer", d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16,
                dropout=0.0)
    src = rng.standard_normal((5, 2, 8)).astype(np.float32)
    tgt = rng.standard_normal((4, 2, 8)).astype(np.float32)
    ts, js = both(src, True)
    tt, jt = both(tgt, True)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    jmask = nn.Transformer.generate_square_subsequent_mask(4)
    assert_close(jmask, tmask)
    kpm = np.zeros((2, 5), bool)
    kpm[1, 3:] = True
    to = t(ts, tt, tgt_mask=tmask, src_key_padding_mask=torch.tensor(kpm),
           memory_key_padding_mask=torch.tensor(kpm), tgt_is_causal=True)
    jo = j(js, jt, tgt_mask=jmask, src_key_padding_mask=jtorch.tensor(kpm),
           memory_key_padding_mask=jtorch.tensor(kpm), tgt_is_causal=True)
    assert_close(jo, to, **TOL)
    ct = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    to.backward(torch.tensor(ct))
    jo.backward(jtorch.tensor(ct))
    assert_close(js.grad, ts.grad, **TOL)
    assert_close(jt.grad, tt.grad, **TOL)
    check_param_grads(t, j)
    with pytest.raises(RuntimeError):
        j(jtorch.tensor(src), jtorch.tensor(tgt[:, :1]))
    with pytest.raises(RuntimeError):
        j(jtorch.tensor(src[..., :4]), jtorch.tensor(tgt[..., :4]))


def test_encoder_layer_norm_first_gelu_batch_first(rng):
    t, j = pair("TransformerEncoderLayer", 8, 2, dim_feedforward=12, dropout=0.0, activation="gelu",
                batch_first=True, norm_first=True, layer_norm_eps=1e-6)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    tx, jx = both(x, True)
    mask = np.triu(np.ones((5, 5), bool), 1)
    to = t(tx, src_mask=torch.tensor(mask))
    jo = j(jx, src_mask=jtorch.tensor(mask))
    assert_close(jo, to, **TOL)
    to.sum().backward()
    jo.sum().backward()
    assert_close(jx.grad, tx.grad, **TOL)
    check_param_grads(t, j)
    # eval mode (torch may take its fused fast path: same numbers)
    t.eval()
    j.eval()
    assert_close(j(jtorch.tensor(x)), t(torch.tensor(x)), **TOL)


def test_encoder_stack_with_norm_and_callable_activation(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=torch.nn.functional.silu)
    jl = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=jtorch.nn.functional.silu)
    with pytest.warns(UserWarning, match="enable_nested_tensor"):
        je = nn.TransformerEncoder(jl, 2, norm=nn.LayerNorm(8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        te = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8))
    assert list(je.state_dict()) == list(te.state_dict())
    je.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in te.state_dict().items()})
    x = rng.standard_normal((4, 3, 8)).astype(np.float32)
    tx, jx = both(x, True)
    to, jo = te(tx), je(jx)
    assert_close(jo, to, **TOL)
    to.pow(2).sum().backward()
    jo.pow(2).sum().backward()
    assert_close(jx.grad, tx.grad, **TOL)
    check_param_grads(te, je)
    # the layers are independent copies
    assert je.layers[0].linear1.weight is not je.layers[1].linear1.weight


def test_decoder_layer_masks_and_unbatched(rng):
    t, j = pair("TransformerDecoderLayer", 8, 4, dim_feedforward=16, dropout=0.0, norm_first=True, bias=False)
    tgt = rng.standard_normal((3, 2, 8)).astype(np.float32)
    mem = rng.standard_normal((5, 2, 8)).astype(np.float32)
    mmask = rng.standard_normal((3, 5)).astype(np.float32)
    tt, jt = both(tgt, True)
    tm, jm = both(mem, True)
    to = t(tt, tm, memory_mask=torch.tensor(mmask))
    jo = j(jt, jm, memory_mask=jtorch.tensor(mmask))
    assert_close(jo, to, **TOL)
    to.sum().backward()
    jo.sum().backward()
    assert_close(jm.grad, tm.grad, **TOL)
    check_param_grads(t, j)
    assert_close(j(jtorch.tensor(tgt[:, 0]), jtorch.tensor(mem[:, 0])),
                 t(torch.tensor(tgt[:, 0]), torch.tensor(mem[:, 0])), **TOL)


def test_dropout_in_train_mode_changes_output(rng):
    j = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = jtorch.tensor(rng.standard_normal((4, 2, 8)).astype(np.float32))
    a, b = j(x), j(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    j.eval()
    assert np.allclose(j(x).detach().numpy(), j(x).detach().numpy())


def test_encoder_inference_with_padding_mask_matches_torch_fast_path(rng):
    # torch's eval + no_grad path runs on nested tensors: padded positions come back as zeros
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tl = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
        te = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8)).eval()
    je = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0), 2,
                               norm=nn.LayerNorm(8)).eval()
    je.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in te.state_dict().items()})
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    kpm = np.zeros((2, 5), bool)
    kpm[1, 3:] = True
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's "nested tensors are a prototype" note
        t = te(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    with jtorch.no_grad():
        j = je(jtorch.tensor(x), src_key_padding_mask=jtorch.tensor(kpm))
    assert_close(j, t, **TOL)
    # with autograd on, torch takes the dense path: padded positions are computed normally
    t = te(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    j = je(jtorch.tensor(x), src_key_padding_mask=jtorch.tensor(kpm))
    assert_close(j, t, **TOL)
