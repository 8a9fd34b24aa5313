"""Lazy batching of eager ops (jtorch/_lazy.py): with it on, results, aliasing, autograd and errors
are torch's, values are computed only when read, and a repeated loop compiles its segment once."""
import numpy as np
import pytest
import torch

import jtorch
from jtorch import _lazy
from helpers import assert_close, both


@pytest.fixture(autouse=True)
def lazy():
    was = _lazy.enabled()
    assert _lazy.set_enabled(True)
    yield
    _lazy.set_enabled(was)


def pending(t):
    return type(t._st._arr) is _lazy.Pending


def test_op_chain_matches_torch_and_stays_pending(rng):
    (ta, ja), (tb, jb) = both(rng.standard_normal((5, 4), dtype=np.float32)), \
        both(rng.standard_normal((4, 3), dtype=np.float32))
    fns = [lambda m, a, b: (a * 2.5 + 1).exp().sum(1),
           lambda m, a, b: m.softmax(a @ b, 1),
           lambda m, a, b: m.cat([m.relu(a), a - 3]).mean(0),
           lambda m, a, b: (a.sum() / a.abs().max()).reshape(1),
           lambda m, a, b: m.stack([a.min(0).values, a.max(0).indices.float()])]
    for f in fns:
        r = f(jtorch, ja, jb)
        assert pending(r)
        assert r.shape == f(torch, ta, tb).shape  # metadata without computing
        assert pending(r)
        assert_close(r, f(torch, ta, tb), rtol=1e-5, atol=1e-5)


def test_multi_output_and_promotion(rng):
    ta, ja = both(rng.integers(-5, 5, (6,)))
    tv, jv = ja.max(0), ta.max(0)
    assert_close(tv.values, jv.values)
    assert_close(tv.indices, jv.indices)
    assert_close(ja * 0.5, ta * 0.5)          # int64 * float -> float32
    assert_close(ja + jtorch.tensor(2.0, dtype=jtorch.float64), ta + torch.tensor(2.0, dtype=torch.float64))
    assert_close((ja > 0).sum(), (ta > 0).sum())


def test_views_and_inplace_through_views(rng):
    ta, ja = both(rng.standard_normal((4, 5), dtype=np.float32))
    for m, a in ((torch, ta), (jtorch, ja)):
        a.mul_(2)
        v = a[1:3]
        col = a[:, 2]
        v.add_(1)             # through a view into the (pending) base
        a[0] = 7.0            # setitem on the base; the views see it
        col.mul_(-1)
        w = a.t()
        w[0, 0] = 100.0
        a.exp_()
    assert pending(ja)
    assert_close(ja, ta)
    assert_close(ja[1:3], ta[1:3])
    assert_close(ja[:, 2], ta[:, 2])


def test_view_of_pending_reads_lazily(rng):
    ta, ja = both(rng.standard_normal((3, 4), dtype=np.float32))
    jb, tb = (ja + 1).view(12)[2:9], (ta + 1).view(12)[2:9]
    jc, tc = jb * jb.sum(), tb * tb.sum()
    assert pending(jc)
    assert_close(jc, tc)


def test_autograd_through_pending_values(rng):
    (ta, ja), (tw, jw) = both(rng.standard_normal((3, 4), dtype=np.float32), True), \
        both(rng.standard_normal((4, 2), dtype=np.float32), True)
    for _ in range(3):  # accumulation into .grad, each step lazy
        for a, w, m in ((ta, tw, torch), (ja, jw, jtorch)):
            h = m.tanh(a @ w)
            loss = (h * h).sum() + h[0].exp().mean()
            loss.backward()
    assert pending(ja.grad)
    assert_close(ja.grad, ta.grad, rtol=1e-4, atol=1e-5)
    assert_close(jw.grad, tw.grad, rtol=1e-4, atol=1e-5)


def test_higher_order_gradients(rng):
    tx, jx = both(rng.standard_normal((5,), dtype=np.float32), True)
    res = []
    for m, x in ((torch, tx), (jtorch, jx)):
        y = (x ** 3).sum()
        g, = m.autograd.grad(y, x, create_graph=True)
        g2, = m.autograd.grad(g.sum(), x)
        res.append((g, g2))
    assert_close(res[1][0], res[0][0], rtol=1e-5, atol=1e-5)
    assert_close(res[1][1], res[0][1], rtol=1e-5, atol=1e-5)


def test_saved_tensor_modified_inplace_still_raises(rng):
    _, x = both(rng.standard_normal((3,), dtype=np.float32), True)
    y = x.exp()
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@pytest.mark.parametrize("lazy_on", [True, False])
def test_inplace_fast_road_keeps_torch_semantics(rng, lazy_on):
    # in-place ops write the op's bare result into the storage when nothing is recorded: aliases,
    # versions, promotion errors, broadcasting and gradients behave as in torch, lazily or not
    _lazy.set_enabled(lazy_on)
    x, w = rng.standard_normal((2, 3, 4), dtype=np.float32)
    out = {}
    for m in (torch, jtorch):
        a, b = m.tensor(x), m.tensor(w)
        alias, view = a.detach(), a[1]
        v0 = a._version
        a.add_(b, alpha=2.0)
        a.mul_(3)
        a += 1
        view.sub_(0.5)                       # through a view into a (a view is not the fast road)
        a.add_(m.ones(4))                    # broadcast input, same shape out
        grows = a._version - v0
        i = m.arange(6).reshape(2, 3)
        with pytest.raises(RuntimeError, match="can't be cast"):
            i += 0.5                         # int64 += float
        with pytest.raises(RuntimeError):
            m.ones(4).add_(a)                # result shape (3, 4) does not fit (4,)
        p = m.tensor(w, requires_grad=True)
        c = m.zeros(3, 4)
        c.add_(p * 2)                        # recorded: c now has a grad_fn
        c.sum().backward()
        out[m] = (a, alias, grows, i, c.requires_grad, p.grad)
    ta, talias, tgrows, ti, treq, tg = out[torch]
    ja, jalias, jgrows, ji, jreq, jg = out[jtorch]
    assert_close(ja, ta, rtol=1e-6, atol=1e-6)
    assert_close(jalias, talias, rtol=1e-6, atol=1e-6)
    assert_close(ji, ti)
    assert jgrows == tgrows and jreq == treq
    assert_close(jg, tg)


def test_errors_raise_at_the_op(rng):
    a = jtorch.randn(3) * 2      # pending inputs
    b = jtorch.randn(4) + 1
    with pytest.raises(RuntimeError, match="must match the size"):
        a + b
    with pytest.raises(RuntimeError):
        jtorch.randn(2, 3) @ jtorch.randn(2, 3).double()
    with pytest.raises(RuntimeError):
        (jtorch.randn(2, 3) + 0).view(4)
    with pytest.raises(IndexError):
        (a + 1)[5]
    with pytest.raises(RuntimeError):
        jtorch.cat([a, jtorch.randn(2, 2)])
    assert_close(a + 1, torch.from_numpy((a.numpy() + 1)))  # the failed ops left the segment usable


def test_flush_on_item_print_numpy_bool(rng):
    t, j = both(rng.standard_normal((3,), dtype=np.float32))
    r, tr = j * 3 - 1, t * 3 - 1
    assert pending(r)
    assert repr(r) == repr(jtorch.tensor(tr.numpy()))
    assert not pending(r)
    s = r.sum()
    assert s.item() == pytest.approx(tr.sum().item(), rel=1e-6)
    n = (j + 0).numpy()
    np.testing.assert_array_equal(n, t.numpy())
    assert bool((j - j).abs().sum() == 0)
    assert float(j.max()) == pytest.approx(t.max().item())


def test_numpy_shared_storage_with_lazy_ops(rng):
    arr = rng.standard_normal(4).astype(np.float32)
    t = jtorch.from_numpy(arr)
    t.mul_(2)                     # host-shared: written through at once
    np.testing.assert_allclose(arr, np.asarray(t))
    arr[0] = 5.0                  # numpy-side write seen by the next op
    assert (t + 0)[0].item() == 5.0


def test_rng_matches_eager():
    jtorch.manual_seed(3)
    a = (jtorch.randn(5) * 2).numpy()
    _lazy.set_enabled(False)
    jtorch.manual_seed(3)
    b = (jtorch.randn(5) * 2).numpy()
    np.testing.assert_array_equal(a, b)


def _draws():
    x = jtorch.ones(6, 5)
    out = [jtorch.randn(4, 3), jtorch.rand(7), jtorch.randint(0, 9, (5,)), jtorch.bernoulli(x * 0.3),
           jtorch.nn.functional.dropout(x, 0.4), jtorch.empty(3, 2).uniform_(-1, 2), jtorch.randperm(6)]
    g = jtorch.Generator().manual_seed(11)
    out.append(jtorch.randn(3, generator=g))
    return out


def test_random_key_split_is_recorded_and_gives_eager_bits():
    # the generator's key split is a node of the segment (the key tensor stays pending), and every
    # sampler draws exactly the values it draws with lazy batching off
    jtorch.manual_seed(5)
    _lazy.flush()
    lazy = _draws()
    key = jtorch.random.default_generator._key
    assert pending(key) and all(pending(t) for t in lazy)
    state = jtorch.get_rng_state()  # reads (flushes) the key
    _lazy.set_enabled(False)
    jtorch.manual_seed(5)
    eager = _draws()
    assert not pending(eager[0])
    for a, b in zip(lazy, eager):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(state.numpy(), jtorch.get_rng_state().numpy())


def test_random_key_read_from_another_thread():
    # a thread that does not record computes the pending key without running the recording
    # thread's segment, and the stream continues as in eager mode
    import threading
    jtorch.manual_seed(7)
    a = jtorch.randn(3)
    b = jtorch.ones(2) + 1  # still pending afterwards
    got = []
    th = threading.Thread(target=lambda: got.append(jtorch.randn(4).numpy()))
    th.start()
    th.join()
    assert pending(b)
    _lazy.set_enabled(False)
    jtorch.manual_seed(7)
    ea, eb = jtorch.randn(3), jtorch.randn(4)
    np.testing.assert_array_equal(a.numpy(), ea.numpy())
    np.testing.assert_array_equal(got[0], eb.numpy())


def test_compile_sees_pending_state(rng):
    tw, jw = both(rng.standard_normal((4, 4), dtype=np.float32))
    tx, jx = both(rng.standard_normal((2, 4), dtype=np.float32))

    def step(m, w, x):
        w.mul_(0.5)
        return (x @ w).relu().sum()
    cstep = jtorch.compile(lambda x: step(jtorch, jw, x))
    for _ in range(3):
        jw.add_(1.0)  # pending before each compiled call
        tw.add_(1.0)
        out = cstep(jx)
        ref = step(torch, tw, tx)
        assert_close(out, ref, rtol=1e-5, atol=1e-4)
    assert_close(jw, tw)


def test_loop_compiles_its_segment_once(rng):
    tw, jw = both(rng.standard_normal((8, 8), dtype=np.float32), True)
    tx, jx = both(rng.standard_normal((4, 8), dtype=np.float32))
    jopt, topt = jtorch.optim.SGD([jw], lr=0.01), torch.optim.SGD([tw], lr=0.01)
    compiles = []
    for i in range(_lazy.COMPILE_AFTER + 10):
        losses = []
        for w, x, opt, m in ((jw, jx, jopt, jtorch), (tw, tx, topt, torch)):
            opt.zero_grad()
            loss = m.sigmoid(x @ w).pow(2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-5)
        compiles.append(_lazy.STATS["compiles"])
    # steady state: the same segments, no new programs
    assert compiles[-1] - compiles[_lazy.COMPILE_AFTER + 2] <= 1
    assert_close(jw, tw, rtol=1e-5, atol=1e-6)


def test_repeated_segment_compiles_in_the_background(rng):
    # the COMPILE_AFTER-th occurrence of a segment queues its compile and still runs (node by node);
    # once the compile is done the program runs; values match torch before, during and after the switch
    t, j = both(rng.standard_normal((4, 5), dtype=np.float32))
    assert _lazy.BACKGROUND_COMPILE

    def body(m, x, k):
        return (m.relu(x * 1.5 - k) + 1).sum(0)
    n = _lazy.COMPILE_AFTER + 1
    for k in range(n):
        assert_close(body(jtorch, j, k * 0.1), body(torch, t, k * 0.1), rtol=1e-6, atol=1e-6)
    _lazy.wait_background()
    stats = dict(_lazy.STATS)
    for k in range(n, n + 3):
        assert_close(body(jtorch, j, k * 0.1), body(torch, t, k * 0.1), rtol=1e-6, atol=1e-6)
    assert _lazy.STATS["cached"] - stats["cached"] == 3 and _lazy.STATS["replays"] == stats["replays"]


def test_long_chain_is_cut_into_bounded_segments(rng):
    t, j = both(rng.standard_normal((3,), dtype=np.float32))
    flushes = _lazy.STATS["flushes"]
    for _ in range(3 * _lazy.MAX_OPS):
        j = j * 0.999 + 0.001
        t = t * 0.999 + 0.001
    assert _lazy.STATS["flushes"] - flushes >= 5
    assert_close(j, t, rtol=1e-4, atol=1e-5)


def test_dead_intermediates_do_not_break_later_reads(rng):
    t, j = both(rng.standard_normal((3, 3), dtype=np.float32))
    keep = []
    for k in range(40):
        tmp = j * k              # dies at the next iteration
        if k % 7 == 0:
            keep.append((k, tmp.sum(1)))
    for k, v in keep:
        assert_close(v, (t * k).sum(1), rtol=1e-5, atol=1e-5)


def test_env_switch_at_import():
    import os
    import subprocess
    import sys
    code = ("import jtorch; a = jtorch.ones(2) + 1; "
            "print(jtorch._lazy.enabled(), type(a._st._arr).__name__, a.tolist())")
    outs = {}
    for v in ("0", "1"):
        env = dict(os.environ, JTORCH_LAZY=v)
        outs[v] = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                 timeout=120).stdout.split()
    assert outs["0"][:2] == ["False", "ArrayImpl"]
    assert outs["1"][:2] == ["True", "Pending"]
    assert outs["0"][2:] == outs["1"][2:] == ["[2.0,", "2.0]"]


def test_segment_flushed_while_reading_arguments(rng):
    # a view argument's value is recorded into the segment; when that fills the segment, it runs
    # (MAX_OPS), and the op being recorded must not wire into the segment that just ran
    x, y = rng.standard_normal((2, 6, 4), dtype=np.float32)
    for fill in range(_lazy.MAX_OPS - 4, _lazy.MAX_OPS + 2):
        base, other = jtorch.tensor(x), jtorch.tensor(y)
        acc = other
        for _ in range(fill):
            acc = acc + 1.0
        view = base[1:].t()
        out = jtorch.matmul(acc[1:], view) + jtorch.mul(view.t(), acc[1:]).sum()
        want = (y[1:] + fill) @ x[1:].T + (x[1:] * (y[1:] + fill)).sum()
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-4)
