"""Two processes on loopback (gloo): every collective equals the single-process computation,
DDP on half batches equals one process (real torch) on the full batch, and DistributedSampler
shards like torch's. One worker pair runs everything (see worker_main.py)."""
import pickle

import numpy as np
import pytest
import torch as real_torch

from dist_procs import check_ok, once_per_session, run_workers

WORLD = 2


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = once_per_session(tmp_path_factory, "two-ranks",
                           lambda out: check_ok(run_workers("worker_main.py", [out], world=WORLD, timeout=420)))
    return [pickle.loads((out / f"rank{r}.pkl").read_bytes()) for r in range(WORLD)]


def inputs(rank, dtype, shape=(3, 4)):  # the workers' inputs (worker_main.inputs)
    g = np.random.default_rng(100 + rank)
    if dtype == "bool":
        return g.random(shape) > 0.5
    if dtype.startswith("int"):
        return g.integers(-5, 6, shape).astype(dtype)
    return g.standard_normal(shape).astype(dtype)


def close(a, b, **kw):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(a, b, **kw) if a.dtype.kind == "f" else np.testing.assert_array_equal(a, b)


def test_queries(results):
    for r, res in enumerate(results):
        assert (res["rank"], res["world"], res["backend"], res["initialized"]) == (r, WORLD, "gloo", True)


OPS = {"float32": ["SUM", "AVG", "MAX", "MIN", "PRODUCT"], "int64": ["SUM", "MAX", "MIN", "PRODUCT"],
       "float64": ["SUM", "AVG"], "int32": ["SUM", "MIN"], "bool": ["SUM", "MIN"]}
REDUCE = {"SUM": lambda xs: np.sum(xs, 0), "MAX": lambda xs: np.max(xs, 0), "MIN": lambda xs: np.min(xs, 0),
          "PRODUCT": lambda xs: np.prod(xs, 0), "AVG": lambda xs: np.mean(xs, 0)}


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "bool"])
def test_all_reduce_broadcast_all_gather(results, dt):
    xs = np.stack([inputs(r, dt) for r in range(WORLD)])
    for res in results:
        for op in OPS[dt]:
            want = REDUCE[op](xs)
            if dt == "bool":
                want = {"SUM": xs.any(0), "MAX": xs.any(0), "MIN": xs.all(0), "PRODUCT": xs.all(0)}[op]
            close(res[f"all_reduce/{dt}/{op}"], want.astype(dt), rtol=1e-6)
        close(res[f"broadcast/{dt}"], xs[1])
        for r in range(WORLD):
            close(res[f"all_gather/{dt}"][r], xs[r])


def test_async_views_and_no_autograd(results):
    xs = [inputs(r, "float32") for r in range(WORLD)]
    for r, res in enumerate(results):
        ok, done, val = res["async"]
        assert ok and done
        want = xs[r].copy()
        want[1] = xs[0][1] + xs[1][1]  # only the view t[1] was reduced, in place in t
        close(val, want, rtol=1e-6)
        val, no_grad_fn = res["leaf_requires_grad"]
        close(val, xs[0] + xs[1], rtol=1e-6)
        assert no_grad_fn  # like torch.distributed: not recorded by autograd


def test_gather_scatter_family(results):
    x = [inputs(r, "float32", (6, 2)) for r in range(WORLD)]
    for r, res in enumerate(results):
        close(res["all_gather_into_tensor"], np.concatenate(x))
        close(res["all_gather_into_tensor_stacked"], np.stack(x))
        for op in ("SUM", "MAX", "AVG"):
            close(res[f"reduce_scatter_tensor/{op}"], REDUCE[op](np.stack(x))[3 * r:3 * r + 3], rtol=1e-6)
        close(res["reduce_scatter"], np.sum(x, 0)[3 * r:3 * r + 3], rtol=1e-6)
        d64 = [inputs(q, "float64") for q in range(WORLD)]
        close(res["reduce"], d64[0] + d64[1] if r == 1 else d64[r])  # only dst gets the result
        close(res["scatter"], np.full((3, 4), 7.0 + r, np.float32))
        a2a = [inputs(q, "float32", (4, 2)) for q in range(WORLD)]
        close(res["all_to_all_single"], np.concatenate([a2a[q][2 * r:2 * r + 2] for q in range(WORLD)]))
    assert results[1]["gather"] is None
    for q, g in enumerate(results[0]["gather"]):
        close(g, inputs(q, "int64"))


def test_send_recv(results):
    close(results[1]["p2p"], inputs(0, "float64", (5,)))
    close(results[0]["p2p"], np.array([4, 2]))
    assert results[0]["recv_from"] == 1


def test_object_collectives(results):
    want = [{"rank": r, "data": list(range(r + 2)), "s": "x" * (10 * r)} for r in range(WORLD)]
    for r, res in enumerate(results):
        assert res["all_gather_object"] == want
        assert res["broadcast_object_list"] == ["from 1", 1, {"k": (1, 1.5)}]
        assert res["scatter_object_list"] == f"for {r}"
    assert results[0]["gather_object"] == [("obj", 0), ("obj", 1)] and results[1]["gather_object"] is None


def test_groups(results):
    assert results[0]["groups"] == (True, -1, -1, [0, 1], 0, 2)
    assert results[1]["groups"] == (False, 0, 1, [0, 1], 1, 2)
    close(results[1]["solo_all_reduce"], inputs(1, "float32"))  # a one-member group
    for res in results:
        close(res["pair_all_reduce"], inputs(0, "float32") + inputs(1, "float32"), rtol=1e-6)


def _torch_reference(init):
    """The same model and optimizer in real PyTorch, one process, full batches."""
    real_torch.manual_seed(0)
    model = real_torch.nn.Sequential(real_torch.nn.Linear(5, 16), real_torch.nn.Tanh(),
                                     real_torch.nn.Linear(16, 3))
    model.load_state_dict({k: real_torch.from_numpy(v) for k, v in init.items()})
    opt = real_torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = np.random.default_rng(7)
    X, Y = g.standard_normal((20, 8, 5)).astype("float32"), g.standard_normal((20, 8, 3)).astype("float32")
    for step in range(20):
        opt.zero_grad()
        real_torch.nn.functional.mse_loss(model(real_torch.from_numpy(X[step])),
                                          real_torch.from_numpy(Y[step])).backward()
        opt.step()
    final = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    opt.zero_grad()
    for i in (0, 1):
        real_torch.nn.functional.mse_loss(model(real_torch.from_numpy(X[i])), real_torch.from_numpy(Y[i])).backward()
    return final, [p.grad.numpy() for p in model.parameters()]


def test_ddp_equals_one_process_on_the_full_batch(results):
    r0, r1 = results
    for k in r0["ddp_init"]:  # rank 1 started from other weights: DDP broadcast rank 0's
        close(r1["ddp_init"][k], r0["ddp_init"][k])
    final, accumulated = _torch_reference(r0["ddp_init"])
    for res in results:
        assert sorted(res["ddp_final"]) == sorted("module." + k for k in final)
        for k, v in final.items():
            close(res["ddp_final"]["module." + k], v, rtol=2e-5, atol=2e-6)
        for got, want in zip(res["ddp_no_sync_grads"], accumulated):
            close(got, want, rtol=2e-5, atol=2e-6)
    # inside no_sync the gradients stayed local (they differ between the ranks)
    assert not np.allclose(r0["ddp_no_sync_local"][0], r1["ddp_no_sync_local"][0])
    assert len(r0["ddp_buckets"]) > 1  # a tiny bucket_cap_mb split the parameters


def test_ddp_parameter_used_on_one_rank(results):
    x = [inputs(r, "float32", (4, 3)) for r in range(WORLD)]
    for res in results:
        g = res["ddp_unused"]
        close(g["a.bias"], np.full(2, 4.0, np.float32))  # d(sum)/d(bias) = 4 rows on both ranks
        close(g["a.weight"], np.tile(np.mean([xi.sum(0) for xi in x], 0), (2, 1)), rtol=1e-5)
        close(g["b.bias"], np.full(2, 2.0, np.float32))  # rank 1's 4, rank 0's nothing: mean 2
        close(g["b.weight"], np.tile(x[1].sum(0) / 2, (2, 1)), rtol=1e-5)


def test_distributed_sampler_from_the_group(results):
    ds = list(range(11))
    for shuffle in (False, True):
        for drop_last in (False, True):
            shards = []
            for r, res in enumerate(results):
                n, rank, idx, length = res["sampler"][(shuffle, drop_last)]
                assert (n, rank, length) == (WORLD, r, len(idx))
                ref = real_torch.utils.data.distributed.DistributedSampler(ds, num_replicas=WORLD, rank=r,
                                                                           shuffle=shuffle, drop_last=drop_last)
                assert length == len(ref)
                if not shuffle:
                    assert idx == list(ref)
                shards.append(idx)
            union = shards[0] + shards[1]
            if drop_last:
                assert len(set(union)) == len(union) == 10  # disjoint, one index dropped
            else:
                assert set(union) == set(ds) and len(union) == 12  # covers, padded with one repeat


def test_datapipe_loader_shards_one_order_across_ranks(results):
    # rank 0's epoch seed (its first draw after manual_seed(0)) seeds the Shuffler on both ranks,
    # whose order is torch's Shuffler's for that seed; each rank keeps torch's shard of it
    import jtorch
    from torch.utils.data.datapipes.iter import IterableWrapper
    from torch.utils.data.graph_settings import apply_sharding
    jtorch.manual_seed(0)
    shared = int(jtorch.empty((), dtype=jtorch.int64).random_().item())
    seed = int(jtorch.empty((), dtype=jtorch.int64).random_(generator=jtorch.Generator().manual_seed(shared)).item())
    for r, res in enumerate(results):
        ref = IterableWrapper(range(10)).shuffle().set_seed(seed).sharding_filter()
        apply_sharding(ref, WORLD, r)
        assert res["datapipe"] == list(ref)
