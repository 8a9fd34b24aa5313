"""DDP communication hooks in a one-process world, side by side with real torch's DDP (also a
one-process gloo world): the checks at registration, what the hook receives (GradBucket), how its
result becomes the gradients, and the errors for a hook returning the wrong thing."""
import datetime

import numpy as np
import pytest
import torch as real_torch
import torch.distributed as real_dist

import jtorch as torch
import jtorch.distributed as dist
from jtorch import nn
from jtorch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks as real_default_hooks
from dist_procs import free_port


@pytest.fixture(scope="module")
def worlds():
    t = datetime.timedelta(seconds=30)
    real_dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1,
                                 timeout=t)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1, timeout=t)
    yield
    real_dist.destroy_process_group()
    dist.destroy_process_group()


def models():
    real_torch.manual_seed(0)
    theirs = real_torch.nn.Sequential(real_torch.nn.Linear(3, 4), real_torch.nn.Tanh(), real_torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def registration_errors(mod, ddp_cls, model):
    ddp = ddp_cls(model)
    out = []

    def bad_bucket(state, bucket: int):
        pass

    def bad_return(state, bucket) -> int:
        pass
    for hook in (5, bad_bucket, bad_return):
        try:
            ddp.register_comm_hook(None, hook)
        except Exception as e:  # noqa: BLE001
            out.append((type(e).__name__, str(e)))
    ddp.register_comm_hook(None, lambda state, bucket: None)
    try:
        ddp.register_comm_hook(None, lambda state, bucket: None)
    except Exception as e:  # noqa: BLE001
        out.append((type(e).__name__, str(e)))
    return out


def test_registration_checks_like_torch(worlds):
    theirs, ours = models()
    want = registration_errors(real_dist, real_torch.nn.parallel.DistributedDataParallel, theirs)
    got = registration_errors(dist, nn.parallel.DistributedDataParallel, ours)
    assert got == want and len(got) == 4


def run_hook(torch_mod, ddp_cls, model, futures, x):
    seen = []

    def hook(state, bucket):
        state.append((bucket.index(), bucket.is_last(), tuple(bucket.buffer().shape),
                      [tuple(p.shape) for p in bucket.parameters()], [tuple(g.shape) for g in bucket.gradients()],
                      bucket.buffer().detach().numpy().copy()))
        fut = futures.Future()
        fut.set_result(bucket.buffer() * 3)
        return fut
    ddp = ddp_cls(model)
    ddp.register_comm_hook(seen, hook)
    ddp(x).pow(2).sum().backward()  # torch rebuilds its buckets after the first backward: compare the second
    seen.clear()
    for p in model.parameters():
        p.grad = None
    ddp(x).pow(2).sum().backward()
    return seen, [p.grad.numpy().copy() for p in model.parameters()]


def test_a_hook_sees_the_bucket_and_sets_the_gradients_like_torch(worlds):
    theirs, ours = models()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    seen_t, grads_t = run_hook(real_torch, real_torch.nn.parallel.DistributedDataParallel, theirs,
                               real_torch.futures, real_torch.from_numpy(x))
    seen_j, grads_j = run_hook(torch, nn.parallel.DistributedDataParallel, ours, torch.futures, torch.from_numpy(x))
    assert [s[:5] for s in seen_j] == [s[:5] for s in seen_t]  # index, is_last, buffer shape, params, grads
    for a, b in zip(seen_j, seen_t):
        np.testing.assert_allclose(a[5], b[5], rtol=1e-5, atol=1e-6)
    for a, b in zip(grads_j, grads_t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _torch_bf16_on_one_rank(state, bucket):
    """What torch's bf16_compress_hook computes in a world of one: the bucket rounded to bfloat16."""
    fut = real_torch.futures.Future()
    fut.set_result(bucket.buffer().copy_(bucket.buffer().to(real_torch.bfloat16).div_(1)))
    return fut


@pytest.mark.parametrize("name", ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"])
def test_builtin_hooks_on_one_rank_like_torch(worlds, name):
    theirs, ours = models()
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    for ddp_cls, model, hooks, xx in ((real_torch.nn.parallel.DistributedDataParallel, theirs, real_default_hooks,
                                       real_torch.from_numpy(x)),
                                      (nn.parallel.DistributedDataParallel, ours, default_hooks, torch.from_numpy(x))):
        ddp = ddp_cls(model)
        hook = getattr(hooks, name)
        if hooks is real_default_hooks and name == "bf16_compress_hook":
            hook = _torch_bf16_on_one_rank  # torch allows its bf16 hook only with NCCL; jtorch on gloo too
        ddp.register_comm_hook(None, hook)
        ddp(xx).pow(2).sum().backward()
    tol = {"allreduce_hook": 1e-5, "fp16_compress_hook": 2 ** -10, "bf16_compress_hook": 2 ** -7}[name]
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad.dtype == torch.float32
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=1e-6)


def test_a_hook_returning_the_wrong_thing_raises_runtime_error(worlds):
    _, ours = models()
    x = torch.ones(2, 3)
    ddp = nn.parallel.DistributedDataParallel(ours)
    ddp.register_comm_hook(None, lambda s, bucket: bucket.buffer())
    with pytest.raises(RuntimeError, match="must return a torch.futures.Future object"):
        ddp(x).sum().backward()
    _, ours = models()
    ddp = nn.parallel.DistributedDataParallel(ours)

    def short(state, bucket):
        fut = torch.futures.Future()
        fut.set_result(torch.zeros(3))
        return fut
    ddp.register_comm_hook(None, short)
    with pytest.raises(RuntimeError):
        ddp(x).sum().backward()


def test_register_ddp_comm_hook_by_type(worlds):
    from jtorch.distributed.algorithms.ddp_comm_hooks import DDPCommHookType, register_ddp_comm_hook
    _, ours = models()
    ddp = nn.parallel.DistributedDataParallel(ours)
    register_ddp_comm_hook(DDPCommHookType.FP16_COMPRESS, ddp)
    with pytest.raises(RuntimeError, match="can only be called once"):
        ddp.register_comm_hook(None, default_hooks.allreduce_hook)
