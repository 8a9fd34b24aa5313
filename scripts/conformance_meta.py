"""PyTorch's operator database (op_db) on the meta device, through torch and jtorch.

    python scripts/conformance_meta.py [--ops add,mul] [--max-samples 4]

For every OpInfo jtorch has (resolved as scripts/conformance.py does), the float32 sample inputs made
on the meta device run through torch; where torch gives meta results, the same shapes and dtypes (meta
tensors; CPU tensors stay CPU values) run through jtorch, which must give meta results of the same
shapes and dtypes. Prints the counts and the first failure of each op. A development tool, not a test.
"""
import argparse
import collections
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--ops", default="")
    p.add_argument("--max-samples", type=int, default=4)
    args = p.parse_args(argv)
    args.top_level_only = False
    warnings.simplefilter("ignore")
    import torch
    import jtorch
    import conformance as C
    from torch.testing._internal.common_methods_invocations import op_db

    def to_j(x):
        if isinstance(x, torch.Tensor):
            if not x.is_meta:
                return C.to_j(x, jtorch, torch)
            return jtorch.empty(tuple(x.shape), dtype=getattr(jtorch, str(x.dtype).split(".")[-1]), device="meta")
        if isinstance(x, (list, tuple)):
            return type(x)(to_j(v) for v in x)
        if isinstance(x, dict):
            return {k: to_j(v) for k, v in x.items()}
        return C.to_j(x, jtorch, torch)

    def flat(x):
        return [y for z in x for y in flat(z)] if isinstance(x, (list, tuple)) else [x]

    def described(ts):
        return [(tuple(t.shape), str(t.dtype), t.device.type) for t in ts][:3]

    fails, ok, tried = collections.OrderedDict(), 0, 0
    for info, name, label in C._selected(op_db, args):
        call = C._j_caller(info, name, jtorch)
        if call is None or torch.float32 not in info.dtypes:
            continue
        try:
            samples = list(info.sample_inputs("meta", torch.float32))[:args.max_samples]
        except Exception:  # noqa: BLE001 - op_db entries without meta samples
            continue
        for s in samples:
            try:
                t = [v for v in flat(info.op(s.input, *s.args, **s.kwargs)) if isinstance(v, torch.Tensor)]
            except Exception:  # noqa: BLE001 - torch has no meta kernel for it
                continue
            if not t or not all(v.is_meta for v in t):
                continue
            tried += 1
            try:
                j = [v for v in flat(call(to_j(s.input), to_j(s.args), to_j(s.kwargs))) if isinstance(v, jtorch.Tensor)]
            except Exception as e:  # noqa: BLE001 - reported
                fails.setdefault(label, f"{type(e).__name__}: {str(e)[:110]}")
                continue
            if len(j) != len(t) or any(tuple(a.shape) != tuple(b.shape) or str(a.dtype) != str(b.dtype)
                                       or not a.is_meta for a, b in zip(j, t)):
                fails.setdefault(label, f"{described(j)} vs torch's {described(t)}")
            else:
                ok += 1
    print(f"{ok} of {tried} samples with meta results in torch match; {len(fails)} ops differ")
    for k, v in fails.items():
        print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
