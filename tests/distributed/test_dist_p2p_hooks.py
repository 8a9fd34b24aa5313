"""Two processes on loopback (gloo): isend/irecv/batch_isend_irecv, stores shared across the
processes, DDP communication hooks (compared with numpy on the per-rank gradients of real
torch), and the file:// and store= rendezvous. Three worlds run concurrently (worker_extras.py)."""
import pickle
import sys

import ml_dtypes
import numpy as np
import pytest
import torch as real_torch

from dist_procs import HERE, check_ok, env_for, free_port, once_per_session, run_all

WORLD = 2
MODES = ("env", "file", "store")


def _run(folder):
    cmds, envs = [], []
    for mode in MODES:
        port = free_port()
        for r in range(WORLD):
            cmds.append([sys.executable, f"{HERE}/worker_extras.py", str(folder), mode])
            envs.append(env_for(r, WORLD, port))
    check_ok(run_all(cmds, envs, timeout=300))


@pytest.fixture(scope="module")
def res(tmp_path_factory):
    folder = once_per_session(tmp_path_factory, "p2p-hooks", _run)
    return {m: [pickle.loads((folder / f"{m}-rank{r}.pkl").read_bytes()) for r in range(WORLD)] for m in MODES}


def inputs(r, shape, seed=0):  # worker_extras.inputs
    return np.random.default_rng(1000 * seed + r).standard_normal(shape).astype(np.float32)


def close(a, b, **kw):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(a, b, **kw) if a.dtype.kind == "f" else np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_every_rendezvous_forms_the_world(res, mode):
    want = inputs(0, (3, 4)) + inputs(1, (3, 4))
    for r, got in enumerate(res[mode]):
        assert (got["rank"], got["world"]) == (r, WORLD)
        close(got["all_reduce"], want, rtol=1e-6)
        close(got["p2p_pair"], np.arange(6, dtype=np.float32) + 100 * (1 - r))
    # the store the ranks met in is the default group's store
    assert [g["store"] for g in res[mode]] == [{"env": "TCPStore", "file": "FileStore", "store": "PrefixStore"}[mode]] * 2


def test_isend_irecv(res):
    env = res["env"]
    for r, got in enumerate(env):
        assert got["isend_completed"] and got["irecv_wait"] is True
        close(got["crossing"], inputs(1 - r, (5,), seed=1))  # both sent first, then received
    assert env[0]["posted_early_completed"] is False  # posted before the peer sent
    done, val = env[0]["posted_early"]
    assert done
    close(val, np.arange(6).reshape(2, 3) * 7)
    x1, x2, x3 = env[1]["tags"]  # received tag 2 first: tags pair up on their own
    close(x1, np.full(2, 1.0, np.float32)), close(x2, np.full(2, 2.0, np.float32)), close(x3, np.full(2, 3.0, np.float32))


def test_batch_isend_irecv(res):
    for r, got in enumerate(res["env"]):
        assert got["batch_works"] == [True] * 6
        ints, bf16, big = got["batch"]
        p = 1 - r
        close(ints, np.array([1, 2, 3, 4]) * (p + 2))
        close(bf16, np.array([0.5, 1.5, -2.0], np.float32) * (p + 1))
        close(big, inputs(p, (300, 1000), seed=2))


def test_recv_any_source_and_errors(res):
    env = res["env"]
    src, val = env[0]["any_source"]
    assert src == 1
    close(val, np.array([9.0, 8.0], np.float32))
    for r, got in enumerate(env):
        assert f"Invalid dst rank {r}" in got["self_send"]
    assert "has 3 elements" in env[1]["size_mismatch"]
    (scalar, ds, ss), (empty, de, se), (flags, db, sb), (ints, di, si) = env[0]["odd_p2p"]
    assert (ds, ss, de, se, db, sb, di, si) == ("torch.float32", (), "torch.float32", (0, 3), "torch.bool", (3,),
                                                "torch.int64", (400000,))
    assert scalar == 2.5 and empty.size == 0 and flags.tolist() == [True, False, True]
    np.testing.assert_array_equal(ints, np.arange(400000) * 3)


def test_stores_across_processes(res):
    r0, r1 = res["env"]
    assert r1["default_store_get"] == b"hello"
    assert r0["tcp"] == (b"bye", 5)
    assert r1["tcp"] == (b"\x00late", 6, b"first", b"first")  # 5 + 1; compare_set kept "first"
    assert r0["file_total"] == r1["file_total"] == 3
    assert (r0["file_add"], r1["file_add"]) in ((1, 3), (3, 2))  # rank 0 adds 1, rank 1 adds 2, either first
    assert sorted([r0["counter"], r1["counter"]]) == [1, 2] and r0["counter_final"] == r1["counter_final"] == 2
    assert r0["prefix"] == r1["prefix"] == (b"v0", b"v0")


def _torch_grads(init, x):
    """Real torch: the per-rank gradients of the hook tests' model from ``init``."""
    m = real_torch.nn.Sequential(real_torch.nn.Linear(5, 4), real_torch.nn.Tanh(), real_torch.nn.Linear(4, 2))
    m.load_state_dict({k: real_torch.from_numpy(v) for k, v in init.items()})
    m(real_torch.from_numpy(x)).pow(2).sum().backward()
    return [p.grad.numpy() for p in m.parameters()]


def _per_rank_grads(res, name):
    init = res["env"][0][f"hook_init/{name}"]
    for k in init:  # DDP broadcast rank 0's weights
        close(res["env"][1][f"hook_init/{name}"][k], init[k])
    return [_torch_grads(init, inputs(r, (6, 5), seed=3)) for r in range(WORLD)]


def test_allreduce_hook_averages(res):
    g0, g1 = _per_rank_grads(res, "allreduce")
    for got in res["env"]:
        for a, b, out in zip(g0, g1, got["hook/allreduce"]):
            close(out, (a + b) / 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,narrow", [("fp16", np.float16), ("bf16", ml_dtypes.bfloat16)])
def test_compress_hooks_reduce_in_the_narrow_dtype(res, name, narrow):
    g0, g1 = _per_rank_grads(res, name)
    for got in res["env"]:
        for a, b, out in zip(g0, g1, got[f"hook/{name}"]):
            want = ((a.astype(narrow) / narrow(2)) + (b.astype(narrow) / narrow(2))).astype(np.float32)
            assert out.dtype == np.float32
            # the same rounding as the narrow dtype's (an ulp apart at most where torch and jtorch's
            # float32 gradients straddle a rounding boundary)
            close(out, want, rtol=2 ** -7 if name == "bf16" else 2 ** -10, atol=1e-6)
        exact = np.concatenate([((a + b) / 2).ravel() for a, b in zip(g0, g1)])
        sent = np.concatenate([o.ravel() for o in got[f"hook/{name}"]])
        assert not np.allclose(sent, exact, rtol=1e-6, atol=0)  # it did go through the narrow dtype


def test_user_hook_with_state_and_future(res):
    g0, g1 = _per_rank_grads(res, "allreduce")  # same init and inputs as the user hook's model
    for got in res["env"]:
        for a, b, out in zip(g0, g1, got["hook/user"]):
            close(out, np.maximum(a, b) * 0.5, rtol=1e-5, atol=1e-6)
        seen = got["hook/user_seen"]
        assert seen["calls"] == len(seen["buckets"]) == 2
        idx, last, numel, params, grads = zip(*seen["buckets"])
        assert idx == (0, 1) and last == (False, True)
        # buckets fill from the last parameters; every parameter once; buffer = their sizes
        assert sorted(sum(params, [])) == sorted([(4, 5), (4,), (2, 4), (2,)])
        assert [sum(int(np.prod(s)) for s in p) for p in params] == list(numel) and params == grads


def test_hook_with_unused_parameters(res):
    x = [inputs(r, (4, 3), seed=4) for r in range(WORLD)]
    for got in res["env"]:
        g = got["hook/unused"]
        close(g["a.bias"], np.full(2, 4.0, np.float32))
        close(g["a.weight"], np.tile(np.mean([xi.sum(0) for xi in x], 0), (2, 1)), rtol=1e-5)
        close(g["b.bias"], np.full(2, 2.0, np.float32))  # rank 1's 4, rank 0's zeros: mean 2
        close(g["b.weight"], np.tile(x[1].sum(0) / 2, (2, 1)), rtol=1e-5)
        assert g["c.weight"] is None and g["c.bias"] is None  # unused everywhere, as torch
