"""Per-call cost of a compiled function by the kind of tensor arguments it takes (us per call, minimum
of rounds, this thread's CPU time so that other processes on a shared machine do not count).

    python -m bench.compile_view_args

Cases: a plain tensor; a view passed as the same object every call (``w = base[2:]``, the argument
plan reused); a new view of the same geometry every call (``base[2:]``, its making included); two
views of one base; a slice at a moving offset (``base.narrow(0, i, 2)``: new positions every call);
two plain tensors; calls alternating between a transposed view and a slice of one base (two argument
geometries, each with its own plan).
"""
import os
import sys
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    import jtorch as torch

    def one(x):
        return x * 2

    def two(a, b):
        return a + b

    base = torch.randn(10, 4)
    w = base[2:]
    sq = torch.randn(6, 6)
    step = iter(range(10 ** 9))
    flip = iter(range(10 ** 9))
    cases = [
        ("plain", one, lambda: (torch.randn(8, 4),)),
        ("view, same object", one, lambda: (w,)),
        ("new view each call", one, None),
        ("two views of one base", two, lambda: (base[:3], base[3:6])),
        ("narrow at moving offset", one, "moving"),
        ("two plain", two, lambda: (torch.randn(3, 4), torch.randn(3, 4))),
        ("alternating .t() / slice", one, "alternating"),
    ]
    for name, fn, make in cases:
        cf = torch.compile(fn)
        if make is None:
            def call(cf=cf):
                return cf(base[2:])
        elif make == "moving":
            def call(cf=cf):
                return cf(base.narrow(0, next(step) % 6, 2))
        elif make == "alternating":
            views = (sq.t(), sq[1:5])

            def call(cf=cf, views=views):
                return cf(views[next(flip) % 2])
        else:
            args = make()

            def call(cf=cf, args=args):
                return cf(*args)
        for _ in range(5):
            call()
        best = min(timeit.repeat(call, number=2000, repeat=9, timer=time.thread_time)) / 2000
        print(f"{name:26s} {best * 1e6:6.1f} us  (programs: {cf.compiles})")


if __name__ == "__main__":
    main()
