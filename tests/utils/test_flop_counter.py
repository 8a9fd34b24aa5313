"""jtorch.utils.flop_counter.FlopCounterMode against torch's: the same models (forward and backward) give
the same counts per aten op and per module, and the same printed table."""
import warnings

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode as TorchCounter
from torch.utils import flop_counter as torch_fc

import jtorch
from jtorch import _dispatch
from jtorch.utils.flop_counter import FlopCounterMode
from jtorch.utils.module_tracker import ModuleTracker


def counts(fc):
    return {k: {str(op): n for op, n in v.items()} for k, v in fc.get_flop_counts().items()}


def run_both(build, **kw):
    out = []
    for lib, Counter in ((torch, TorchCounter), (jtorch, FlopCounterMode)):
        lib.manual_seed(0)
        with Counter(display=False, **kw) as fc:
            build(lib)
        out.append(fc)
    return out


def mlp(lib):
    m = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Sequential(lib.nn.Linear(16, 4, bias=False)))
    m(lib.randn(5, 8)).sum().backward()


def cnn(lib):
    nn = lib.nn
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, groups=2),
                      nn.ConvTranspose2d(6, 2, 3, stride=2))
    x = lib.randn(2, 3, 8, 8, requires_grad=True)
    m(x).sum().backward()
    lib.nn.functional.conv1d(lib.randn(2, 2, 9), lib.randn(4, 2, 3, requires_grad=True), stride=2).sum().backward()


def products(lib):
    r = lib.randn
    lib.bmm(r(3, 4, 5, requires_grad=True), r(3, 5, 2)).sum().backward()
    lib.addmm(r(4, 2), r(4, 5), r(5, 2, requires_grad=True)).sum().backward()
    lib.baddbmm(r(3, 4, 2), r(3, 4, 5), r(3, 5, 2))
    r(4, 5) @ r(5)                                   # mv: torch counts nothing
    lib.addbmm(r(4, 2), r(3, 4, 5), r(3, 5, 2))      # nor here
    lib.einsum("ij,jk->ik", r(2, 3), r(3, 4))
    lib.einsum("bij,bjk->bik", r(2, 3, 4, requires_grad=True), r(2, 4, 5)).sum().backward()
    lib.einsum("ij,ij->ij", r(2, 3), r(2, 3))       # nothing summed: a multiplication
    r(2, 3, 4) @ r(4, 5)
    r(2, 3) @ r(4, 3, 5)
    (r(2, 1, 3, 4, requires_grad=True) @ r(3, 4, 5, requires_grad=True)).sum().backward()
    lib.nn.functional.linear(r(2, 3, 4, requires_grad=True), r(5, 4), r(5)).sum().backward()
    lib.nn.functional.linear(r(2, 3, 4).transpose(0, 1), r(5, 4), r(5))  # not contiguous: mm, not addmm


@pytest.mark.parametrize("build", [mlp, cnn, products], ids=lambda f: f.__name__)
def test_counts_and_table_match_torch(build):
    t, j = run_both(build)
    assert counts(j) == counts(t)
    assert j.get_total_flops() == t.get_total_flops() > 0
    pytest.importorskip("tabulate")  # torch's table needs it
    for depth in (None, 1, 3):
        assert j.get_table(depth) == t.get_table(depth)


def transformer(lib):
    layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    layer(lib.randn(2, 5, 8)).sum().backward()


def test_transformer_layer():
    t, j = run_both(transformer)
    tc, jc = counts(t), counts(j)
    sdpa = "aten._scaled_dot_product_efficient_attention"
    sdpa_bw = sdpa + "_backward"
    # torch on CPU runs attention as a kernel it does not count; jtorch counts it with torch's formula
    q = (2, 2, 5, 4)
    assert jc["Global"].pop(sdpa) == torch_fc.sdpa_flop_count(q, q, q)
    assert jc["Global"].pop(sdpa_bw) == torch_fc.sdpa_backward_flop_count(q, q, q, q)
    assert jc["Global"] == tc["Global"]
    for name in ("TransformerEncoderLayer.linear1", "TransformerEncoderLayer.linear2"):
        assert jc[name] == tc[name]
    jc["TransformerEncoderLayer.self_attn"].pop(sdpa)
    jc["TransformerEncoderLayer.self_attn"].pop(sdpa_bw)
    assert jc["TransformerEncoderLayer.self_attn"] == tc["TransformerEncoderLayer.self_attn"]


def test_sdpa_shapes_match_torch_formulas():
    shapes = ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6))
    with FlopCounterMode(display=False) as fc:
        q, k, v = (jtorch.randn(*s, requires_grad=True) for s in shapes)
        jtorch.nn.functional.scaled_dot_product_attention(q, k, v).sum().backward()
    c = counts(fc)["Global"]
    assert c["aten._scaled_dot_product_efficient_attention"] == torch_fc.sdpa_flop_count(*shapes)
    assert c["aten._scaled_dot_product_efficient_attention_backward"] == \
        torch_fc.sdpa_backward_flop_count((2, 3, 5, 6), *shapes)


def test_display_prints_the_table(capsys):
    pytest.importorskip("tabulate")
    printed = []
    for lib, Counter in ((torch, TorchCounter), (jtorch, FlopCounterMode)):
        lib.manual_seed(0)
        with Counter(depth=1):
            mlp(lib)
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and "Sequential" in printed[1]


def test_empty_and_outside_modules():
    pytest.importorskip("tabulate")
    for build in (lambda lib: None, lambda lib: lib.mm(lib.randn(3, 4), lib.randn(4, 5))):
        t, j = run_both(build)
        assert counts(j) == counts(t)
        assert j.get_table() == t.get_table()


def test_mods_argument_warns_and_custom_mapping():
    m = jtorch.nn.Linear(3, 2)
    with pytest.warns(UserWarning, match="mods argument is not needed"):
        FlopCounterMode(m, display=False)
    seven = lambda *shapes, out_shape=None, **kw: 7  # noqa: E731
    out = []
    for lib, Counter in ((torch, TorchCounter), (jtorch, FlopCounterMode)):
        with Counter(display=False, custom_mapping={lib.ops.aten.mm: seven}) as fc:
            lib.mm(lib.randn(3, 4), lib.randn(4, 5))
            lib.bmm(lib.randn(2, 3, 4), lib.randn(2, 4, 5))
        out.append(counts(fc))
    assert out[0] == out[1]


def test_state_restored_and_nesting():
    lazy = _dispatch.LAZY[0]
    apply = _dispatch.apply
    with FlopCounterMode(display=False) as outer:
        jtorch.mm(jtorch.randn(2, 3), jtorch.randn(3, 4))
        with FlopCounterMode(display=False) as inner:
            jtorch.mm(jtorch.randn(2, 3), jtorch.randn(3, 4))
    assert outer.get_total_flops() == 2 * inner.get_total_flops() == 96
    assert _dispatch.apply is apply and _dispatch.LAZY[0] == lazy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jtorch.mm(jtorch.randn(2, 3), jtorch.randn(3, 4))  # nothing counting any more


def test_module_tracker_parents_like_torch():
    seen = []
    for lib in (torch, jtorch):
        from importlib import import_module
        Tracker = import_module(lib.__name__ + ".utils.module_tracker").ModuleTracker
        log = []

        class Probe(lib.nn.Module):
            def forward(self, x):
                log.append((sorted(tracker.parents), tracker.is_bw))
                return x * 2

        m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Sequential(Probe()))
        with Tracker() as tracker:
            m(lib.randn(2, 3))
            log.append((sorted(tracker.parents), tracker.is_bw))
        seen.append(log)
    assert seen[0] == seen[1]
    assert isinstance(ModuleTracker().parents, set)


def test_matmul_folding_follows_torch():
    """torch runs a batched @ matrix product as one mm or as a bmm depending on strides and on which side
    needs a gradient; the counts land where torch's do."""
    def build(lib):
        r = lib.randn
        r(2, 3) @ r(4, 3, 5, requires_grad=True)
        r(2, 3, requires_grad=True) @ r(4, 3, 5)
        r(4, 3, 5).transpose(0, 1) @ r(5, 2)
        (r(4, 3, 5).transpose(0, 1) @ r(5, 2, requires_grad=True)).sum().backward()
        (r(4, 3, 5, requires_grad=True).transpose(0, 1) @ r(5, 2)).sum().backward()
        (r(2, 3) @ r(4, 3, 5, requires_grad=True)).sum().backward()
        r(2, 4, 3, 5)[:, 1] @ r(5, 2)
        r(2, 3, 4) @ r(4)

    t, j = run_both(build)
    assert counts(j) == counts(t)


def test_with_the_profiler_both_ways():
    """The profiler and the counter both watch jtorch's dispatch; nested either way both see the ops."""
    a, b = jtorch.randn(4, 5), jtorch.randn(5, 6)
    apply = _dispatch.apply
    with jtorch.profiler.profile() as prof:
        with FlopCounterMode(display=False) as fc:
            jtorch.mm(a, b)
    assert fc.get_total_flops() == 240 and any("matmul" in e.name for e in prof.events())
    with FlopCounterMode(display=False) as fc:
        with jtorch.profiler.profile() as prof:
            jtorch.mm(a, b)
    assert fc.get_total_flops() == 240 and any("matmul" in e.name for e in prof.events())
    assert _dispatch.apply is apply
