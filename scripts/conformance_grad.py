"""Gradient mode of scripts/conformance.py (``--grad``): op_db's autograd samples through torch and jtorch.

For every OpInfo with ``supports_autograd`` whose name jtorch has, each sample is taken with
``requires_grad=True`` (float64 and float32 by default), run forward in both libraries, and the backward of
``sum((out * cotangent).sum())`` over the differentiable (floating/complex, requires-grad) outputs is taken,
with one seeded random cotangent per output shared by both libraries (its real part for complex outputs).
The gradients of every tensor input (``sample.input``, tensor args and kwargs, tensors inside lists as in
``cat``/``stack``) are compared: value, shape, dtype, and None (the input is not in the graph) against a
tensor of zeros. When torch's backward raises, jtorch's must raise too. ``--grad2`` differentiates the
gradients once more (double backward, with a second seeded cotangent) and compares the second-order
gradients the same way.

Kept apart from the forward mode (conformance.py) so that the two evolve independently; it reuses that
module's conversion and op-resolution helpers.
"""
import time

import numpy as np

# ops whose gradients depend on a random draw (dropout masks, random sampling, random projections):
# only shapes, dtypes and None-ness are compared
_GRAD_SHAPE_ONLY = {"nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d",
                    "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout", "nn.functional.rrelu",
                    "svd_lowrank", "pca_lowrank", "nn.functional.fractional_max_pool2d",
                    "nn.functional.fractional_max_pool3d", "bernoulli", "normal", "multinomial",
                    "nn.functional.multi_head_attention_forward", "rand_like", "randn_like", "randint_like",
                    "uniform", "exponential", "cauchy", "geometric", "log_normal", "empty_like", "new_empty",
                    "empty", "empty_strided", "new_empty_strided", "empty_permuted"}
_GRAD_RANDOM_SAMPLE = {"nn.functional.scaled_dot_product_attention": lambda s: s.kwargs.get("dropout_p", 0.0) > 0}

# tolerances per dtype: gradients accumulate more rounding than forward values (sums over broadcast dims,
# chained rules), so float32 is looser than the forward mode's 1e-4/1e-5
_GRAD_TOL = {"float64": (1e-6, 1e-7), "float32": (2e-3, 1e-4), "complex128": (1e-6, 1e-7),
             "complex64": (2e-3, 1e-4)}


def _grad_leaves(x, torch, found):
    """Every tensor in a sample's input/args/kwargs that requires grad, in a fixed walk order."""
    if isinstance(x, torch.Tensor):
        if x.requires_grad:
            found.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _grad_leaves(v, torch, found)
    elif isinstance(x, dict):
        for k in x:
            _grad_leaves(x[k], torch, found)
    return found


def _to_j_grad(x, jtorch, torch, conv, pairs):
    """``x`` converted to jtorch (through the forward mode's ``conv``), each torch tensor that requires grad
    becoming a jtorch leaf that requires grad; (torch tensor, jtorch leaf) pairs are appended to ``pairs``
    in the walk order of ``_grad_leaves``."""
    if isinstance(x, torch.Tensor):
        j = conv(x)
        if x.requires_grad:
            j = j.detach().requires_grad_(True)
            pairs.append((x, j))
        return j
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_to_j_grad(v, jtorch, torch, conv, pairs) for v in x)
    if isinstance(x, dict):
        return {k: _to_j_grad(v, jtorch, torch, conv, pairs) for k, v in x.items()}
    return conv(x)


def _flat_outputs(out, lib):
    """The tensors of an op's result (a tensor, a tuple/namedtuple/list of tensors), in order."""
    if isinstance(out, lib.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        res = []
        for o in out:
            res.extend(_flat_outputs(o, lib))
        return res
    return []


def _cotangent(shape, dtype_name, rng):
    c = rng.standard_normal(shape)
    if dtype_name.startswith("complex"):
        c = c + 1j * rng.standard_normal(shape)
    np_dt = {"float64": np.float64, "float32": np.float32, "float16": np.float32, "bfloat16": np.float32,
             "complex128": np.complex128, "complex64": np.complex64}.get(dtype_name, np.float64)
    return np.asarray(c, dtype=np_dt)


def _is_diff(t, torch):
    return isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex())


def _weighted_loss(outs, cts, lib):
    loss = None
    for o, c in zip(outs, cts):
        term = (o * c).sum()
        if term.is_complex():
            term = term.real
        loss = term if loss is None else loss + term
    return loss


def _compare_grad(jg, tg, torch, jtorch, dname, values, none_is_zero=False):
    from conformance import compare
    if tg is None and jg is None:
        return None
    if none_is_zero:  # second order: torch's None (a linear path) against jtorch's zeros is no difference
        if tg is None and isinstance(jg, jtorch.Tensor) and not bool((jg != 0).any()):
            return None
        if jg is None and isinstance(tg, torch.Tensor) and not bool((tg != 0).any()):
            return None
    if (tg is None or tg.numel() == 0) and (jg is None or jg.numel() == 0):
        return None  # an empty input: None or an empty gradient hold the same (no) values
    if tg is None:
        nz = bool((jg != 0).any()) if isinstance(jg, jtorch.Tensor) else True
        return f"torch gives None (not in the graph), jtorch {'a nonzero tensor' if nz else 'zeros'}"
    if jg is None:
        return f"jtorch gives None, torch {'zeros' if not bool((tg != 0).any()) else 'a nonzero tensor'}"
    if torch._is_zerotensor(tg):  # torch's lazily materialised zeros (sgn, ...)
        tg = torch.zeros(tg.shape, dtype=tg.dtype)
    rtol, atol = _GRAD_TOL.get(dname, (2e-3, 1e-4))
    # scale the absolute tolerance with the gradient's size: entries that are sums of many products
    # carry the rounding of the largest terms
    scale = float(tg.detach().abs().max()) if tg.numel() and not tg.is_sparse else 1.0
    scale = scale if np.isfinite(scale) else 1.0
    return compare(jg, tg, torch, jtorch, rtol=rtol, atol=atol * max(1.0, scale), values=values)


def _aligned_cotangents(j_out, t_out, name, cts, diff_idx, jtorch, C):
    """Cotangents for jtorch's eigen/singular vectors: torch's, times the unit factor per vector that maps
    jtorch's vectors onto torch's (as the forward mode's _align_vectors), so that both losses are the same
    function of the input and the gradients are comparable (a vector's sign or phase is unspecified)."""
    k, pair, rows = C._UNIT_FACTOR[name]
    if not isinstance(t_out, tuple) or not isinstance(j_out, tuple) or tuple(j_out[k].shape) != tuple(t_out[k].shape) \
            or j_out[k].numel() == 0:
        return cts
    a, b = np.asarray(j_out[k].detach()), t_out[k].detach().resolve_conj().numpy()
    unit = C._unit_factors(a, b)
    factors = {k: unit}
    if pair is not None:
        factors[pair] = np.swapaxes(np.conj(unit), -1, -2) if rows else unit
    out = list(cts)
    for pos, i in enumerate(diff_idx):
        if i in factors:
            out[pos] = (cts[pos] * factors[i]).astype(cts[pos].dtype)
    return out


def _is_identity(f):
    """op_db's default output_process_fn_grad (``lambda x: x``)."""
    ident = (lambda x: x).__code__
    return f.__code__.co_code == ident.co_code and f.__code__.co_argcount == 1 and not f.__closure__


def _rebind(f, jtorch, memo=None):
    """op_db's helper function ``f`` (an output_process_fn_grad such as ``abs(eigenvectors)`` or svd's
    ``uniformize``) with ``torch`` bound to jtorch, closures included; None if it is not op_db's."""
    import types
    memo = {} if memo is None else memo
    if not isinstance(f, types.FunctionType) or not (f.__module__ or "").startswith("torch.testing._internal"):
        return None
    if f in memo:
        return memo[f]
    g = dict(f.__globals__)
    g["torch"] = jtorch
    for k, v in f.__globals__.items():
        if isinstance(v, types.FunctionType) and v is not f and k in f.__code__.co_names:
            r = _rebind(v, jtorch, memo)
            if r is not None:
                g[k] = r
    cells = None
    if f.__closure__:
        cells = tuple(types.CellType(_rebind(c.cell_contents, jtorch, memo) or c.cell_contents)
                      if isinstance(getattr(c, "cell_contents", None), types.FunctionType) else c
                      for c in f.__closure__)
    h = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, cells)
    memo[f] = h
    return h


def _run_grad_sample(info, s, dname, call_t, call_j, to_j, torch, jtorch, seed, values, order2):
    """None when the gradients agree, else a message."""
    import conformance as C
    t_in = _grad_leaves([s.input, s.args, s.kwargs], torch, [])
    if not t_in:
        return "skip"
    rng = np.random.default_rng(seed)
    cts = None  # stays None when torch's forward raises
    proc_t = s.output_process_fn_grad
    proc_j = _rebind(proc_t, jtorch)
    if proc_j is None or _is_identity(proc_t):  # op_db's default: lambda x: x
        proc_t = proc_j = None
    try:
        t_out = call_t()
        if proc_t is not None:
            t_out = proc_t(t_out)
        t_outs = [o for o in _flat_outputs(t_out, torch) if _is_diff(o, torch) and o.requires_grad]
        if not t_outs:
            return "skip"
        cts = [_cotangent(tuple(o.shape), str(o.dtype).split(".")[-1], rng) for o in t_outs]
        t_loss = _weighted_loss(t_outs, [torch.from_numpy(c) for c in cts], torch)
        t_grads = torch.autograd.grad(t_loss, t_in, allow_unused=True, create_graph=order2)
        t_err = None
    except Exception as e:
        t_err, t_grads = e, None
    t_first = t_grads
    if order2 and t_err is None:
        try:
            t_g2 = [g for g in t_grads if g is not None and g.requires_grad]
            if not t_g2:
                return "skip"
            cts2 = [_cotangent(tuple(g.shape), str(g.dtype).split(".")[-1], rng) for g in t_g2]
            t_loss2 = _weighted_loss(t_g2, [torch.from_numpy(c) for c in cts2], torch)
            t_grads = torch.autograd.grad(t_loss2, t_in, allow_unused=True)
        except Exception as e:
            t_err, t_grads = e, None
    pairs = []
    try:
        ji, ja, jk = _to_j_grad([s.input, s.args, s.kwargs], jtorch, torch, to_j, pairs)
        j_in = [j for _, j in pairs]
        j_out = call_j(ji, ja, jk)
        if proc_j is not None:
            j_out = proc_j(j_out)
    except Exception as e:
        if t_err is not None:
            return None
        return f"forward raises {type(e).__name__}: {str(e)[:100]}"
    if t_err is not None and cts is None:
        return f"torch's forward raises {type(t_err).__name__} ({str(t_err)[:60]}), jtorch's returns"
    if t_err is not None:
        try:
            j_outs = [o for o in _flat_outputs(j_out, jtorch) if _is_diff(o, jtorch) and o.requires_grad]
            j_loss = _weighted_loss(j_outs, [jtorch.tensor(c) for c in cts], jtorch)
            jtorch.autograd.grad(j_loss, j_in, allow_unused=True)
        except Exception:
            return None
        return f"torch raises {type(t_err).__name__} ({str(t_err)[:60]}), jtorch returns"
    try:
        j_all = _flat_outputs(j_out, jtorch)
        t_all = _flat_outputs(t_out, torch)
        if len(j_all) != len(t_all):
            return f"{len(j_all)} outputs, torch {len(t_all)}"
        j_outs = []
        for jo, to in zip(j_all, t_all):
            if _is_diff(to, torch) and to.requires_grad:
                if not jo.requires_grad:
                    return f"output of dtype {jo.dtype} does not require grad"
                j_outs.append(jo)
        j_cts = cts
        if info.name in C._UNIT_FACTOR and proc_j is None:
            j_cts = _aligned_cotangents(j_out, t_out, info.name, cts, [i for i, to in enumerate(t_all) if
                                                                        _is_diff(to, torch) and to.requires_grad],
                                        jtorch, C)
        j_loss = _weighted_loss(j_outs, [jtorch.tensor(c) for c in j_cts], jtorch)
        j_grads = jtorch.autograd.grad(j_loss, j_in, allow_unused=True, create_graph=order2)
        if order2:
            j_g2 = [g for g, tg in zip(j_grads, t_first) if tg is not None and tg.requires_grad]
            if len(j_g2) != len(cts2) or any(g is None or not g.requires_grad for g in j_g2):
                return "a first-order gradient does not require grad (double backward)"
            j_loss2 = _weighted_loss(j_g2, [jtorch.tensor(c) for c in cts2], jtorch)
            j_grads = jtorch.autograd.grad(j_loss2, j_in, allow_unused=True)
    except Exception as e:
        return f"backward raises {type(e).__name__}: {str(e)[:100]}"
    for k, (jg, tg) in enumerate(zip(j_grads, t_grads)):
        msg = _compare_grad(jg, tg, torch, jtorch, dname, values, none_is_zero=order2)
        if msg:
            return f"grad of input {k} (shape {tuple(t_in[k].shape)}): {msg}"
    return None


def run_grad(args, op_db, torch, jtorch):
    """Per-op gradient agreement over op_db; returns the report text (conformance.py prints/writes it)."""
    import conformance as C
    dtypes = [getattr(torch, d) for d in args.grad_dtypes.split(",")]
    rows, absent, total_ok, total, slow = [], [], 0, 0, []
    for info, name, label in C._selected(op_db, args):
        if not info.supports_autograd or (args.grad2 and not info.supports_gradgrad):
            continue  # second order only where op_db says torch supports it
        call = C._j_caller(info, name, jtorch)
        if call is None:
            absent.append(label)
            continue
        values = not (name in _GRAD_SHAPE_ONLY)
        ok = n = 0
        first = None
        t0 = time.time()
        for dt in dtypes:
            if dt not in info.supported_backward_dtypes("cpu"):
                continue
            try:
                samples = list(C._samples(info, dt, args.reference, requires_grad=True))[:args.max_samples]
            except Exception:
                continue
            for i, s in enumerate(samples):
                v = values and not (name in _GRAD_RANDOM_SAMPLE and _GRAD_RANDOM_SAMPLE[name](s))
                conv = (lambda x, _n=name: C.to_j(x, jtorch, torch, keep_views=_n in C._STORAGE_OPS))
                try:
                    msg = _run_grad_sample(info, s, str(dt).split(".")[-1],
                                           lambda s=s: info.op(s.input, *s.args, **s.kwargs),
                                           call, conv, torch, jtorch, 1000 + i, v, args.grad2)
                except Exception as e:  # a bug of this script, not of jtorch: say so
                    msg = f"harness error {type(e).__name__}: {str(e)[:100]}"
                if msg == "skip":
                    continue
                n += 1
                if msg is None:
                    ok += 1
                elif first is None:
                    first = f"{dt}: {msg}".replace("|", "\\|").replace("\n", " ")
        if first is not None and _torch_grad_xfail(info):
            first = "[op_db xfails/skips torch's own gradcheck of this op] " + first
        if n:
            rows.append((label, ok, n, first))
            total_ok += ok
            total += n
        if args.verbose:
            print(f"{label}: {ok}/{n} ({time.time() - t0:.1f}s) {first or ''}", flush=True)
    order = "second-order gradients (--grad2)" if args.grad2 else "gradients (--grad)"
    lines = [f"# op_db {order}: {total_ok}/{total} samples agree "
             f"({len([r for r in rows if r[1] == r[2]])}/{len(rows)} ops fully)", "",
             f"dtypes {args.grad_dtypes}, at most {args.max_samples} samples per op and dtype; "
             f"{len(absent)} autograd op_db entries jtorch lacks (not counted): {', '.join(absent) or '-'}", "",
             "| op | agree | samples | first difference |", "|---|---:|---:|---|"]
    for name, ok, n, first in sorted(rows, key=lambda r: (r[1] == r[2], r[0])):
        lines.append(f"| {name} | {ok} | {n} | {first or ''} |")
    return "\n".join(lines) + "\n"


def _torch_grad_xfail(info):
    """Whether op_db itself marks torch's backward gradcheck of this op as failing or skipped (its
    gradient is then not a reference: as_strided_scatter's is wrong where the scattered region overlaps)."""
    for d in getattr(info, "skips", ()) or ():
        if d.cls_name == "TestBwdGradients" and d.test_name in (None, "test_fn_grad"):
            return True
    return False


