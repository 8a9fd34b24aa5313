"""3-D ops of the video models (conv3d, max/avg pool 3d, batch norm 3d; forward and backward) and
the r3d_18 / r2plus1d_18 eval forward: jtorch eager against torch and raw jitted JAX, interleaved
in one process, minimum of rounds (CPU).

    nice -n -10 python -m bench.video_ops
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import jtorch  # noqa: E402


def _best(fn, rounds=5, n=3):
    fn()
    best = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n * 1e3)
    return best


def _jax_conv(x, w):
    """Raw JAX: one 3-D convolution (what jtorch ran before its CPU lowering splits it into 2-D ones)."""
    return jax.lax.conv_general_dilated(x, w, (1, 1, 1), [(1, 1)] * 3, dimension_numbers=("NCDHW", "OIDHW", "NCDHW"))


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 64, 8, 28, 28)).astype(np.float32)
    w = rng.normal(size=(64, 64, 3, 3, 3)).astype(np.float32) * 0.05
    rows = []

    def op_row(name, tfn, jfn, xfn):
        # the backward of a random output gradient (a sum's would be constant-folded by XLA)
        with torch.no_grad():
            g = rng.normal(size=tuple(tfn(torch.from_numpy(x)).shape)).astype(np.float32)

        def run(lib, fn, grad):
            xt = lib.from_numpy(x).requires_grad_(grad)
            gt = lib.from_numpy(g)

            def go():
                out = fn(xt)
                if grad:
                    xt.grad = None
                    out.backward(gt)
                    return xt.grad
                return out
            return go
        xf, gf = jnp.asarray(x), jnp.asarray(g)
        for grad in (False, True):
            tt = _best(run(torch, tfn, grad))
            jt = _best(lambda f=run(jtorch, jfn, grad): np.asarray(f()))
            jx = jax.jit(lambda a, c: jax.vjp(xfn, a)[1](c)[0]) if grad else jax.jit(lambda a, c: xfn(a))
            xa = _best(lambda: jx(xf, gf).block_until_ready())
            rows.append((name + (" fwd+bwd" if grad else " fwd"), tt, jt, xa))

    tw, jw, xw = torch.from_numpy(w), jtorch.from_numpy(w), jnp.asarray(w)
    op_row("conv3d 3x3x3 64->64", lambda a: torch.nn.functional.conv3d(a, tw, padding=1),
           lambda a: jtorch.nn.functional.conv3d(a, jw, padding=1), lambda a: _jax_conv(a, xw))
    op_row("max_pool3d 3 s2 p1", lambda a: torch.nn.functional.max_pool3d(a, 3, 2, 1),
           lambda a: jtorch.nn.functional.max_pool3d(a, 3, 2, 1),
           lambda a: jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 1, 3, 3, 3), (1, 1, 2, 2, 2),
                                           [(0, 0), (0, 0), (1, 1), (1, 1), (1, 1)]))
    op_row("avg_pool3d 2x7x7 s1", lambda a: torch.nn.functional.avg_pool3d(a, (2, 7, 7), 1),
           lambda a: jtorch.nn.functional.avg_pool3d(a, (2, 7, 7), 1),
           lambda a: jax.lax.reduce_window(a, 0.0, jax.lax.add, (1, 1, 2, 7, 7), (1, 1, 1, 1, 1), "VALID") / 98)
    tb, jb = torch.nn.BatchNorm3d(64).train(), jtorch.nn.BatchNorm3d(64).train()
    op_row("batch_norm3d train", tb, jb,
           lambda a: (a - a.mean((0, 2, 3, 4), keepdims=True)) * jax.lax.rsqrt(a.var((0, 2, 3, 4), keepdims=True)
                                                                                + 1e-5))
    print(f"{'op':32s} {'torch ms':>9s} {'jtorch ms':>10s} {'jax ms':>8s} {'jt/torch':>9s} {'jt/jax':>7s}")
    for name, tt, jt, xa in rows:
        print(f"{name:32s} {tt:9.2f} {jt:10.2f} {xa:8.2f} {jt / tt:9.2f} {jt / xa:7.2f}")

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "vision"))
    from tv import torchvision
    tvm = torchvision().models.video
    import jtorch.vision.models as JM
    clip = rng.normal(size=(1, 3, 8, 112, 112)).astype(np.float32)
    for name in ("r3d_18", "r2plus1d_18"):
        tm, jm = getattr(tvm, name)().eval(), getattr(JM.video, name)().eval()
        jm.load_state_dict({k: jtorch.from_numpy(v.numpy().copy()) for k, v in tm.state_dict().items()})
        tc, jc = torch.from_numpy(clip), jtorch.from_numpy(clip)
        with torch.no_grad():
            tt = _best(lambda: tm(tc), rounds=3, n=1)
        with jtorch.no_grad():
            jt = _best(lambda: np.asarray(jm(jc)), rounds=3, n=1)
        print(f"{name + ' eval 1x3x8x112x112':32s} {tt:9.2f} {jt:10.2f} {'':>8s} {jt / tt:9.2f}")


if __name__ == "__main__":
    main()
