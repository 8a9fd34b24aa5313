"""What the ``__torch_function__`` protocol costs plain-Tensor code: per-op latency (CPU time, minimum of
rounds) of a few small ops, with and without a Tensor subclass that overrides ``__torch_function__``
(jtorch.vision.tv_tensors) imported. The two columns should agree.

    python -m bench.torch_function_cost          # runs both, one subprocess each, alternating
"""
import subprocess
import sys
import time

CASES = {
    "x + y": "x + y", "x.relu()": "x.relu()", "torch.matmul": "torch.matmul(x, y)", "x.shape": "x.shape",
    "x.sum()": "x.sum()", "x[0]": "x[0]", "F.softmax": "F.softmax(x, 1)", "x.mul_(1.0)": "x.mul_(1.0)",
    "linear fwd+bwd": "F.linear(x, w).sum().backward()",
}


def measure(with_subclass, rounds=15, calls=2000):
    import jtorch as torch
    import jtorch.nn.functional as F
    if with_subclass:
        import jtorch.vision.tv_tensors  # noqa: F401
    x, y = torch.randn(4, 4), torch.randn(4, 4)
    w = torch.randn(4, 4, requires_grad=True)
    ns = {"torch": torch, "F": F, "x": x, "y": y, "w": w}
    res = {}
    for name, expr in CASES.items():
        f = eval("lambda: " + expr, ns)
        for _ in range(200):
            f()
        n = calls // 10 if "bwd" in name else calls
        best = float("inf")
        for _ in range(rounds):
            t = time.process_time()
            for _ in range(n):
                f()
            best = min(best, (time.process_time() - t) / n * 1e6)
        res[name] = best
    return res


def main(repeats=3):
    best = {False: {}, True: {}}
    for _ in range(repeats):
        for sub in (False, True):
            out = subprocess.run([sys.executable, "-m", "bench.torch_function_cost", "--one", str(int(sub))],
                                 capture_output=True, text=True, check=True).stdout
            for item in out.split(";"):
                k, v = item.rsplit("=", 1)
                best[sub][k] = min(best[sub].get(k, float("inf")), float(v))
    print(f"{'op':16s} {'plain (us)':>11s} {'tv_tensors imported (us)':>25s}")
    for k in CASES:
        print(f"{k:16s} {best[False][k]:11.2f} {best[True][k]:25.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        r = measure(sys.argv[2] == "1")
        print(";".join(f"{k}={v}" for k, v in r.items()))
    else:
        main()
