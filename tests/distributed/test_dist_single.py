"""jtorch.distributed in this one process: errors before init like torch, a one-process group
(tcp:// on loopback, no peers), the traced collectives (ranks emulated by vmap), DDP on one
rank (eager and compiled), engine callbacks, Backend/ReduceOp values."""
import datetime

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch as real_torch

import jtorch as torch
import jtorch.distributed as dist
from jtorch import nn
from jtorch.distributed import _collectives as C
from dist_procs import free_port


@pytest.fixture
def world1():
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1,
                            timeout=datetime.timedelta(seconds=30))
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_before_init_errors_like_torch():
    assert dist.is_available() and not dist.is_initialized()
    for f in (dist.get_rank, dist.get_world_size, dist.get_backend, dist.barrier, lambda: dist.new_group([0]),
              lambda: dist.all_reduce(torch.ones(2)), lambda: dist.all_gather_object([None], 1)):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            f()
    with pytest.raises(ValueError, match="not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="not been initialized"):
        torch.utils.data.distributed.DistributedSampler(list(range(4)))
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()


def test_init_arguments(monkeypatch):
    for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ValueError, match="environment variable RANK expected"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="MASTER_ADDR expected"):
        dist.init_process_group("gloo", rank=0, world_size=1)
    with pytest.raises(ValueError, match="rank parameter missing"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1234", world_size=1)
    with pytest.raises(ValueError, match="Invalid rank 3"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1234", world_size=2, rank=3)
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("fancy", init_method="tcp://127.0.0.1:1234", world_size=1, rank=0)
    with pytest.raises(TypeError, match="timedelta"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1234", world_size=1, rank=0, timeout=30)
    with pytest.raises(RuntimeError, match="no GPUs found"):
        dist.init_process_group("nccl", init_method="tcp://127.0.0.1:1234", world_size=1, rank=0)
    assert not dist.is_initialized()
    # this process's XLA backend is up: joining a bigger world now cannot work; say why
    with pytest.raises(RuntimeError, match="before jtorch starts its XLA backend"):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", world_size=2, rank=0)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    dist.init_process_group()  # env://, backend for the device
    try:
        assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
    finally:
        dist.destroy_process_group()


def test_init_twice_raises(world1):
    with pytest.raises(ValueError, match="trying to initialize the default process group twice!"):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1)
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group("cpu:gloo,cuda:nccl", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0,
                            world_size=1)
    assert dist.get_backend() == "cpu:gloo,cuda:nccl"


def test_one_process_group_collectives(world1, rng):
    assert dist.group.WORLD is dist.GroupMember.WORLD is not None
    assert dist.get_process_group_ranks(dist.group.WORLD) == [0]
    x = rng.standard_normal((2, 3)).astype(np.float32)
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.PRODUCT):
        t = torch.from_numpy(x.copy())
        dist.all_reduce(t, op=op)
        np.testing.assert_allclose(t.numpy(), x, rtol=1e-6)
    out = [torch.zeros(2, 3)]
    work = dist.all_gather(out, torch.from_numpy(x), async_op=True)
    assert work.wait() and work.is_completed()
    np.testing.assert_array_equal(out[0].numpy(), x)
    with pytest.raises(RuntimeError, match="invalid tensor size"):
        dist.all_gather([torch.zeros(3)], torch.from_numpy(x))
    with pytest.raises(ValueError, match="does not contain global rank 3"):
        dist.broadcast(torch.ones(2), src=3)
    with pytest.raises(ValueError, match="Must specify global_rank or group_rank"):
        dist.broadcast(torch.ones(2))  # torch: broadcast and reduce need src/dst
    with pytest.raises(ValueError, match="Can't specify both"):
        dist.reduce(torch.ones(2), dst=0, group_dst=0)
    t = torch.ones(2)
    dist.broadcast(t, group_src=0)
    dist.gather(t, [torch.zeros(2)])  # gather/scatter default to rank 0
    dist.scatter(t, [torch.full((2,), 5.0)])
    assert t.tolist() == [5.0, 5.0]
    with pytest.raises(TypeError, match="Expected parameter `tensor` of type torch.Tensor"):
        dist.all_reduce(x)
    objs = [None]
    dist.all_gather_object(objs, {"a": (1, "b")})
    assert objs == [{"a": (1, "b")}]
    lst = [1, "two", 3.0]
    dist.broadcast_object_list(lst)
    assert lst == [1, "two", 3.0]
    dist.barrier()
    g = dist.new_group([0])
    assert dist.get_rank(g) == 0 and dist.get_world_size(g) == 1
    with pytest.raises(ValueError, match="Invalid rank 1"):
        dist.new_group([0, 1])


def test_types_like_torch():
    assert str(dist.ReduceOp.SUM) == str(real_torch.distributed.ReduceOp.SUM) == "RedOpType.SUM"
    assert repr(dist.ReduceOp.MAX) == repr(real_torch.distributed.ReduceOp.MAX)
    assert dist.ReduceOp.AVG == dist.ReduceOp(dist.ReduceOp.AVG)
    assert dist.Backend("GLOO") == real_torch.distributed.Backend("GLOO") == "gloo"
    assert dist.Backend.NCCL == "nccl" and dist.GroupMember.NON_GROUP_MEMBER == -100
    assert issubclass(dist.DistBackendError, RuntimeError) and issubclass(dist.DistStoreError, dist.DistError)
    assert torch.distributed is dist and torch.nn.parallel.DistributedDataParallel is not None


def test_traced_collectives_follow_the_axis(rng):
    """Inside a trace binding AXIS (here: 3 emulated ranks under vmap, as jtorch.compile's SPMD
    step binds it under shard_map), the array collectives become lax collectives over it."""
    class G:  # the world group, as the SPMD step sees it
        ranks, is_world = (0,), True
    x = rng.standard_normal((3, 4)).astype(np.float32)  # one row per emulated rank
    vm = lambda f: jax.vmap(f, axis_name=C.AXIS)(jnp.asarray(x))  # noqa: E731
    np.testing.assert_allclose(vm(lambda a: C.all_reduce_array(a, dist.ReduceOp.SUM, G)),
                               np.broadcast_to(x.sum(0), x.shape), rtol=1e-6)
    np.testing.assert_allclose(vm(lambda a: C.all_reduce_array(a, dist.ReduceOp.AVG, G)),
                               np.broadcast_to(x.mean(0), x.shape), rtol=1e-6)
    np.testing.assert_allclose(vm(lambda a: C.all_reduce_array(a, dist.ReduceOp.MIN, G)),
                               np.broadcast_to(x.min(0), x.shape))
    np.testing.assert_allclose(vm(lambda a: C.all_reduce_array(a, dist.ReduceOp.PRODUCT, G)),
                               np.broadcast_to(x.prod(0), x.shape), rtol=1e-6)
    np.testing.assert_allclose(vm(lambda a: C.broadcast_array(a, 2, G)), np.broadcast_to(x[2], x.shape))
    np.testing.assert_allclose(vm(lambda a: C.all_gather_array(a, G)), np.broadcast_to(x, (3, 3, 4)))
    y = rng.standard_normal((3, 6)).astype(np.float32)
    got = jax.vmap(lambda a: C.reduce_scatter_array(a, dist.ReduceOp.SUM, G), axis_name=C.AXIS)(jnp.asarray(y))
    np.testing.assert_allclose(got, y.sum(0).reshape(3, 2), rtol=1e-6)
    # a trace without the axis: a one-process group needs no communication, a bigger one cannot work
    np.testing.assert_allclose(jax.jit(lambda a: C.all_reduce_array(a, dist.ReduceOp.SUM, G))(x), x)

    class G2:
        ranks, is_world = (0, 1), True
    with pytest.raises(RuntimeError, match="SPMD step"):
        jax.jit(lambda a: C.all_reduce_array(a, dist.ReduceOp.SUM, G2))(x)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_ddp_one_rank(world1, rng):
    X = [torch.from_numpy(rng.standard_normal((5, 4)).astype(np.float32)) for _ in range(3)]
    results = []
    for wrap, compiled in ((False, False), (True, False), (True, True)):
        model = _mlp()
        net = nn.parallel.DistributedDataParallel(model) if wrap else model
        opt = torch.optim.SGD(net.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = net(x).pow(2).mean()
            loss.backward()
            opt.step()
            return loss
        step = torch.compile(step) if compiled else step
        for x in X:
            step(x)
        results.append([p.detach().numpy().copy() for p in model.parameters()])
        if wrap:
            assert net.module is model
            assert list(net.state_dict()) == ["module." + k for k in model.state_dict()]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="doesn't have any parameter that requires a gradient"):
        nn.parallel.DistributedDataParallel(nn.ReLU())
    with pytest.raises(ValueError, match="device_ids"):
        nn.parallel.DistributedDataParallel(_mlp(), device_ids=[0])


def test_ddp_buckets_reverse_order_and_caps(world1):
    model = nn.Sequential(nn.Linear(300, 300), nn.Linear(300, 300), nn.Linear(300, 4).double())
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.3)
    params = list(model.parameters())
    names = {id(p): i for i, p in enumerate(params)}
    buckets = [[names[id(p)] for p in b] for b in ddp._buckets]
    assert sorted(sum(buckets, [])) == list(range(6))
    for b in buckets:  # within a bucket: reverse registration order, one dtype
        assert b == sorted(b, reverse=True) and len({params[i].dtype for i in b}) == 1
    f32 = [b for b in buckets if params[b[0]].dtype == torch.float32]
    assert f32 == [[3, 2], [1, 0]]  # 0.3 MiB cap: each 360 KB weight closes a bucket


def test_queue_callback_runs_after_backward():
    from jtorch.autograd import Variable
    with pytest.raises(RuntimeError, match="during backward pass"):
        Variable._execution_engine.queue_callback(lambda: None)
    w = torch.ones(3, requires_grad=True)
    seen = []
    w.register_hook(lambda g: Variable._execution_engine.queue_callback(lambda: seen.append(w.grad.tolist())))
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert seen == [[1.0, 2.0, 3.0]]  # ran once, after the gradient was accumulated
