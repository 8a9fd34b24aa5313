"""Run PyTorch's own operator database (op_db) through jtorch and report where results differ.

    python scripts/conformance.py [--dtypes float32,int64] [--ops add,mul] [--max-samples 8] [--out report.md]

For every OpInfo whose name jtorch has (as ``jtorch.<name>`` or a Tensor method), each sample
input is converted (tensors via numpy), run through both libraries, and compared: values, shape,
dtype; when torch raises, jtorch must raise too. A development tool, not a test: it prints per-op
pass counts and the first failure of each op.
"""
import argparse
import os
import sys
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def to_j(x, jtorch, torch):
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.dtype == torch.bfloat16:
            return jtorch.tensor(t.float().numpy()).to(jtorch.bfloat16)
        if t.is_conj():
            t = t.resolve_conj()
        return jtorch.tensor(t.numpy().copy())
    if isinstance(x, torch.dtype):
        return getattr(jtorch, str(x).split(".")[-1])
    if isinstance(x, torch.device):
        return jtorch.device(str(x))
    if isinstance(x, (list, tuple)):
        return type(x)(to_j(v, jtorch, torch) for v in x)
    if isinstance(x, dict):
        return {k: to_j(v, jtorch, torch) for k, v in x.items()}
    return x


def compare(j, t, torch, jtorch, rtol=1e-4, atol=1e-5):
    if isinstance(t, torch.Tensor):
        if not isinstance(j, jtorch.Tensor):
            return f"result type {type(j).__name__}, torch gives a Tensor"
        if tuple(j.shape) != tuple(t.shape):
            return f"shape {tuple(j.shape)} != {tuple(t.shape)}"
        if str(j.dtype) != str(t.dtype):
            return f"dtype {j.dtype} != {t.dtype}"
        a = np.asarray(j.detach().float() if j.dtype == jtorch.bfloat16 else j.detach())
        b = (t.detach().float() if t.dtype == torch.bfloat16 else t.detach().resolve_conj()).numpy()
        if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
            return None if np.array_equal(a, b) else "values differ"
        return None if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True) else \
            f"values differ (max abs {np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))):.3g})"
    if isinstance(t, (list, tuple)):
        if not isinstance(j, (list, tuple)) or len(j) != len(t):
            return "sequence result differs"
        for a, b in zip(j, t):
            r = compare(a, b, torch, jtorch, rtol, atol)
            if r:
                return r
        return None
    if isinstance(t, (int, float, bool)):
        jv = j.item() if isinstance(j, jtorch.Tensor) else j
        return None if np.isclose(jv, t, equal_nan=True) else f"{jv} != {t}"
    return None


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--dtypes", default="float32,int64")
    p.add_argument("--ops", default="")
    p.add_argument("--max-samples", type=int, default=8)
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    import jtorch
    dtypes = [getattr(torch, d) for d in args.dtypes.split(",")]
    wanted = set(filter(None, args.ops.split(",")))
    rows, total_ok, total = [], 0, 0
    for info in op_db:
        name = info.name
        if wanted and name not in wanted:
            continue
        if "." in name or info.variant_test_name:
            continue
        jf = getattr(jtorch, name, None)
        method = getattr(jtorch.Tensor, name, None)
        if jf is None and method is None:
            continue
        if isinstance(method, property):  # t.T, t.mT, ...
            jf, method = None, None
            prop = name
        else:
            prop = None
        if jf is not None and not callable(jf) or isinstance(jf, jtorch.dtype):
            jf = None  # jtorch.float is a dtype; the op is the method
        ok = n = 0
        first = None
        for dt in dtypes:
            if dt not in info.supported_dtypes("cpu"):
                continue
            try:
                samples = list(info.sample_inputs("cpu", dt, requires_grad=False))[:args.max_samples]
            except Exception:
                continue
            for s in samples:
                n += 1
                try:
                    t_out = info.op(s.input, *s.args, **s.kwargs)
                    t_err = None
                except Exception as e:  # torch raises: jtorch must raise too
                    t_out, t_err = None, e
                try:
                    ji = to_j(s.input, jtorch, torch)
                    ja = to_j(s.args, jtorch, torch)
                    jk = to_j(s.kwargs, jtorch, torch)
                    if prop is not None:
                        j_out = getattr(ji, prop)
                    elif jf is not None and isinstance(ji, jtorch.Tensor):
                        j_out = jf(ji, *ja, **jk)
                    elif method is not None:
                        j_out = getattr(ji, name)(*ja, **jk)
                    else:
                        j_out = jf(ji, *ja, **jk)
                    if t_err is not None:
                        msg = f"torch raises {type(t_err).__name__}, jtorch returns"
                    else:
                        msg = compare(j_out, t_out, torch, jtorch)
                except Exception as e:
                    msg = None if t_err is not None else f"raises {type(e).__name__}: {str(e)[:100]}"
                if msg is None:
                    ok += 1
                elif first is None:
                    first = f"{dt}: {msg}"
        if n:
            rows.append((name, ok, n, first))
            total_ok += ok
            total += n
    lines = [f"# op_db conformance: {total_ok}/{total} samples agree "
             f"({len([r for r in rows if r[1] == r[2]])}/{len(rows)} ops fully)", "",
             "| op | agree | samples | first difference |", "|---|---:|---:|---|"]
    for name, ok, n, first in sorted(rows, key=lambda r: (r[1] == r[2], r[0])):
        lines.append(f"| {name} | {ok} | {n} | {first or ''} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        traceback.print_exc()
