"""swa_utils against torch: averaged parameters, EMA, SWALR's lr sequence, update_bn."""
import numpy as np
import pytest
import torch

import jtorch


def _models(rng):
    w = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    out = []
    for lib in (torch, jtorch):
        m = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3))
        with lib.no_grad():
            m[0].weight.copy_(lib.tensor(w[0]))
            m[0].bias.copy_(lib.tensor(w[1]))
        out.append(m)
    return out


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema", "swa_multi"])
def test_averaged_model_matches_torch(rng, kind):
    tm, jm = _models(rng)
    fns = {"swa": {}, "ema": {"avg_fn": "get_ema_avg_fn"}, "ema_multi": {"multi_avg_fn": "get_ema_multi_avg_fn"},
           "swa_multi": {"multi_avg_fn": "get_swa_multi_avg_fn"}}[kind]
    avgs = []
    for lib, m in ((torch, tm), (jtorch, jm)):
        su = lib.optim.swa_utils
        kw = {k: (getattr(su, v)(0.9) if "ema" in v else getattr(su, v)()) for k, v in fns.items()}
        avgs.append(su.AveragedModel(m, **kw))
    x = rng.standard_normal((6, 4)).astype(np.float32)
    for step in range(5):
        upd = [rng.standard_normal((3, 4)).astype(np.float32) * 0.1, rng.standard_normal(6).astype(np.float32)]
        for lib, m, avg in ((torch, tm, avgs[0]), (jtorch, jm, avgs[1])):
            with lib.no_grad():
                m[0].weight.add_(lib.tensor(upd[0]))
            m.train()
            m(lib.tensor(x))  # moves BatchNorm's running stats (copied, not averaged)
            avg.update_parameters(m)
    assert int(avgs[1].n_averaged) == int(avgs[0].n_averaged) == 5
    for (tn, tp), (jn, jp) in zip(avgs[0].state_dict().items(), avgs[1].state_dict().items()):
        assert tn == jn
        np.testing.assert_allclose(np.asarray(jp), tp.numpy(), rtol=1e-5, atol=1e-6)
    avgs[0].eval()
    avgs[1].eval()
    np.testing.assert_allclose(avgs[1](jtorch.tensor(x)).detach().numpy(),
                               avgs[0](torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05, anneal_epochs=7), dict(swa_lr=[0.02, 0.3], anneal_epochs=4,
                                                                         anneal_strategy="linear"),
                                dict(swa_lr=0.01, anneal_epochs=0)])
def test_swalr_sequence_equals_torch(kw):
    seqs = []
    for lib in (torch, jtorch):
        ps = [lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)]
        opt = lib.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}], lr=0.1)
        s = lib.optim.swa_utils.SWALR(opt, **kw)
        seq = [s.get_last_lr()]
        for _ in range(15):
            opt.step()
            s.step()
            seq.append(s.get_last_lr())
        seqs.append(seq)
    assert seqs[1] == seqs[0]


def test_update_bn_matches_torch(rng):
    tm, jm = _models(rng)
    data = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(3)]
    for lib, m in ((torch, tm), (jtorch, jm)):
        m.eval()
        lib.optim.swa_utils.update_bn([(lib.tensor(d), 0) for d in data], m)
        assert not m.training
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(np.asarray(getattr(jm[1], name)), getattr(tm[1], name).numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert jm[1].momentum == tm[1].momentum


def test_errors():
    with pytest.raises(ValueError, match="Invalid decay"):
        jtorch.optim.swa_utils.get_ema_multi_avg_fn(1.5)
    opt = jtorch.optim.SGD([jtorch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        jtorch.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        jtorch.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
