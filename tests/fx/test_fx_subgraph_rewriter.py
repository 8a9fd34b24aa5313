"""subgraph_rewriter.replace_pattern(_with_filters), Graph.on_generate_code, ``target is torch.add`` in a
Transformer, and torch's conv+bn fusion tutorial: the same code through torch.fx and jtorch.fx."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.fx as tfx
import torch.fx.subgraph_rewriter as tsr

import jtorch
import jtorch.fx as jfx
import jtorch.fx.subgraph_rewriter as jsr
from tests.fx.fx_models import np_of

LIBS = ((torch, tfx, tsr), (jtorch, jfx, jsr))


def _pair(rng, *shapes):
    arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return [torch.from_numpy(a) for a in arrs], [jtorch.tensor(a) for a in arrs]


def _cat_sum(T):
    class M(T.nn.Module):
        def forward(self, x, w1, w2):
            m1 = T.cat([w1, w2]).sum()
            m2 = T.cat([w1, w2]).sum()
            return x + T.max(m1) + T.max(m2)

    def pattern(w1, w2):
        return T.cat([w1, w2]).sum()

    def replacement(w1, w2):
        return T.stack([w1, w2])
    return M(), pattern, replacement


def _names(matches):
    return [(m.anchor.name, sorted((k.name, v.name) for k, v in m.nodes_map.items())) for m in matches]


def test_replace_pattern_like_torch(rng):
    targs, jargs = _pair(rng, (3,), (3,), (3,))
    out = []
    for T, fx, sr in LIBS:
        m, pattern, replacement = _cat_sum(T)
        gm = fx.symbolic_trace(m)
        matches = sr.replace_pattern(gm, pattern, replacement)
        gm.graph.lint()
        out.append((gm, _names(matches)))
    (tg, tm), (jg, jm) = out
    assert jg.code == tg.code and jm == tm and len(jm) == 2
    assert isinstance(jfx.subgraph_rewriter.Match, type) and jfx.replace_pattern is jsr.replace_pattern
    np.testing.assert_allclose(np_of(jg(*jargs)), tg(*targs).numpy(), rtol=1e-6)


def _chain(T):
    class N(T.nn.Module):
        def forward(self, x):
            a = T.relu(x) * 2
            b = T.relu(a) * 3
            c = T.relu(b) * 2
            return c + a

    def pattern(x):
        return T.relu(x) * 2

    def replacement(x):
        return T.sigmoid(x) + 1
    return N(), pattern, replacement


@pytest.mark.parametrize("ignore_literals", [False, True])
def test_replace_pattern_with_filters_literals_and_filters(rng, ignore_literals):
    targs, jargs = _pair(rng, (4, 5))
    out = []
    for T, fx, sr in LIBS:
        m, pattern, replacement = _chain(T)
        gm = fx.symbolic_trace(m)
        # a filter that refuses matches reading the graph's input directly
        keep = lambda match, g, pg: all(n.op != "placeholder" for n in match.placeholder_nodes)  # noqa: E731
        res = sr.replace_pattern_with_filters(gm, pattern, replacement, match_filters=[keep],
                                              ignore_literals=ignore_literals)
        out.append((gm, [(r.anchor.name, [n.name for n in r.replacements]) for r in res]))
    (tg, tr), (jg, jr) = out
    assert jg.code == tg.code and jr == tr
    np.testing.assert_allclose(np_of(jg(*jargs)), tg(*targs).numpy(), rtol=1e-6)


def test_replace_pattern_not_contained_is_skipped(rng):
    """A pattern whose inner value is also read outside the match is not replaced (as torch)."""
    out = []
    for T, fx, sr in LIBS:
        def f(x):
            a = T.relu(x)
            return T.neg(a) + a
        gm = fx.symbolic_trace(f)
        res = sr.replace_pattern(gm, lambda x: T.neg(T.relu(x)), lambda x: T.sigmoid(x))
        out.append((gm.code, len(res)))
    assert out[0] == out[1] and out[1][1] == 0


def test_on_generate_code_transforms_body_and_restores(rng):
    targs, jargs = _pair(rng, (2, 3), (2, 3))
    out = []
    for T, fx, _ in LIBS:
        gm = fx.symbolic_trace(lambda x, y: T.relu(x) + y)
        with gm.graph.on_generate_code(lambda cur: (lambda body: ["y = y * 2\n", *body])):
            gm.recompile()
            inner = gm.code
        changed = gm(*(targs if T is torch else jargs))
        gm.recompile()
        chained = gm.graph.on_generate_code(
            lambda cur: (lambda body: (cur(body) if cur else body) + ["# end\n"]))
        gm.recompile()
        out.append((inner, gm.code, changed))
        del chained
    (ti, tc, tv), (ji, jc, jv) = out
    assert ji == ti and jc == tc and "y = y * 2" in ji and "# end" in jc
    np.testing.assert_allclose(np_of(jv), tv.numpy(), rtol=1e-6)


def test_transformer_target_is_the_public_function(rng):
    targs, jargs = _pair(rng, (3, 4), (3, 4))
    out = []
    for T, fx, _ in LIBS:
        def f(x, y):
            return T.relu(T.add(x, y)) + x
        gm = fx.symbolic_trace(f)
        seen = []

        class Swap(fx.Transformer):
            def call_function(self, target, args, kwargs):
                seen.append(target is T.add or target is T.relu)
                if target is T.add:
                    target = T.mul
                elif target is T.relu:
                    return T.sigmoid(*args)
                return super().call_function(target, args, kwargs)
        new = Swap(gm).transform()
        out.append((new.code, seen, [n.target is T.mul for n in new.graph.nodes]))
        out.append(new(*(targs if T is torch else jargs)))
    assert out[2][:3] == out[0][:3] and out[2][1][:2] == [True, True]
    np.testing.assert_allclose(np_of(out[3]), out[1].numpy(), rtol=1e-6)


def test_conv_bn_fusion_tutorial_runs_unchanged():
    """pytorch.org's "(beta) Building a Convolution/Batch Norm fuser in FX", unchanged but for smaller
    inputs, run with jtorch installed as torch: the fused models agree with the unfused ones."""
    path = os.path.join(os.path.dirname(__file__), "programs", "fx_conv_bn_fuse_tutorial.py")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    r = subprocess.run([sys.executable, "-m", "jtorch", "run", path], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    # the small model's fused code is torch.fx's (the tutorial prints it first; real torch runs that part)
    code = r.stdout.split("\n\n\n")[1].split("    \n")[0]
    src = open(path).read().split("import torchvision")[0].replace("print(fused_model.code)", "")
    ns = {"__name__": "tutorial"}
    with pytest.warns(FutureWarning):  # (torch deprecates testing.assert_allclose)
        exec(compile(src, path, "exec"), ns)
    assert code == ns["fused_model"].code.split("\n\n\n")[1].split("    \n")[0]
    assert "self.conv1(x)" in code and "self.bn1" not in code and "self.nested" in code
    assert "layer1_0_bn1" not in r.stdout and "self.layer1" in r.stdout
