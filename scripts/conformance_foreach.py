"""PyTorch's foreach databases through jtorch (``conformance.py --foreach``).

``foreach_unary_op_db``, ``foreach_binary_op_db``, ``foreach_pointwise_op_db``, ``foreach_reduce_op_db`` and
``foreach_other_op_db`` hold ForeachFuncInfo entries: ``torch._foreach_<name>`` and its in-place
``_foreach_<name>_``, whose samples are lists of tensors (square, of decreasing sizes, sometimes with empty
tensors between them) with a scalar, a list of scalars, a tensor list or a 0-dim tensor as the other operand.
For each entry and dtype (those of ``--dtypes`` the entry supports on CPU; ``--foreach-tensors`` tensors per
list, at most ``--max-samples`` samples spread over the entry's list), both libraries run:

* the out-of-place function: values, shapes, dtypes, tuple-or-list of the result, and the inputs left as
  they were;
* the in-place variant on copies of the inputs: the return value (the input list itself, as torch gives
  it) and the values written into the inputs;
* with ``supports_autograd``, gradients (float64 samples with ``requires_grad=True``, a seeded cotangent per
  output, as conformance_grad.py does) of the out-of-place function and, with ``supports_inplace_autograd``,
  of the in-place one applied to clones of the leaves;
* the entry's ``error_inputs`` if it has any (none in torch 2.13), and error-style inputs derived from its
  samples (each kind from the first sample that has what it changes): an empty list, a tensor list or a
  list of scalars one shorter, a tensor of another shape or dtype in the other tensor list, a 1-D tensor
  where a 0-dim one goes, a tensor instead of the input list.

Where torch raises, jtorch must raise the same exception type; where it does not, the results are compared.
"""
import random
import re

# ForeachSampleInput's kwarg for torch's own test (which kernel path it expects); the ops do not take it
_HARNESS_KWARGS = ("disable_fastpath",)


def foreach_entries():
    """(info, label) of every ForeachFuncInfo in torch's five foreach databases."""
    from torch.testing._internal import common_methods_invocations as cmi
    for db in ("foreach_unary_op_db", "foreach_binary_op_db", "foreach_pointwise_op_db", "foreach_reduce_op_db",
               "foreach_other_op_db"):
        for info in getattr(cmi, db):
            yield info, info.name


def _raised(f):
    try:
        return None, f()
    except Exception as e:  # noqa: BLE001 - what is raised is the thing compared
        return e, None


def _clean(s):
    """The sample with the harness's own kwargs taken out."""
    from torch.testing._internal.opinfo.core import SampleInput
    return SampleInput(s.input, args=tuple(s.args),
                       kwargs={k: v for k, v in s.kwargs.items() if k not in _HARNESS_KWARGS})


def _spread(samples, n):
    """At most ``n`` samples, spread evenly over the list (op_db orders them by kind of the other operand)."""
    if len(samples) <= n:
        return samples
    step = len(samples) / n
    return [samples[int(i * step)] for i in range(n)]


def samples_of(info, dtype, num_tensors, max_samples, requires_grad=False):
    """The entry's samples (seeded: the scalars are drawn from python's ``random``), cleaned and spread; for
    ``_foreach_pow`` a scalar base with the first sample's list as exponents is added."""
    import torch
    random.seed(0)
    torch.manual_seed(0)
    try:
        raw = list(info.sample_inputs("cpu", dtype, requires_grad=requires_grad, num_input_tensors=[num_tensors]))
    except TypeError:  # a sample function without num_input_tensors
        raw = list(info.sample_inputs("cpu", dtype, requires_grad=requires_grad))
    out = [_clean(s) for s in _spread(raw, max_samples)]
    if info.supports_scalar_self_arg and out:
        from torch.testing._internal.opinfo.core import SampleInput
        out.append(SampleInput(1.5, args=(out[0].input,)))
    return out


def _j_funcs(info, jtorch):
    """jtorch's (out-of-place, in-place) functions for the entry; the out-of-place one is None for an entry
    that only has the in-place form (zero, copy), either is None when jtorch lacks it."""
    inplace_only = info.op is info.inplace_variant
    out_name = None if inplace_only else info.op.__name__
    in_name = info.inplace_variant.__name__ if info.inplace_variant is not None else None
    return (getattr(jtorch, out_name, None) if out_name else None,
            getattr(jtorch, in_name, None) if in_name else None, out_name, in_name)


def _copies(x, torch):
    """``x`` with every tensor cloned (lists rebuilt), so that an in-place run leaves the sample as it was."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_copies(v, torch) for v in x)
    return x


def _judge_raise(t_err, j_err):
    from conformance import same_error_type
    if t_err is not None:
        if j_err is None:
            return f"torch raises {type(t_err).__name__} ({str(t_err)[:60]}), jtorch returns"
        if not same_error_type(j_err, type(t_err)):
            return f"torch raises {type(t_err).__name__}, jtorch {type(j_err).__name__}: {str(j_err)[:80]}"
        return None
    if j_err is not None:
        return f"raises {type(j_err).__name__}: {str(j_err)[:100]}"
    return "ok"


def _container(j, t):
    if type(t) in (list, tuple) and type(j) is not type(t):
        return f"returns a {type(j).__name__}, torch a {type(t).__name__}"
    return None


def check_out_of_place(t_fn, j_fn, s, torch, jtorch):
    """None when jtorch's out-of-place call of sample ``s`` agrees with torch's, else what differs."""
    from conformance import compare, to_j
    t_err, t_out = _raised(lambda: t_fn(s.input, *s.args, **s.kwargs))
    ji, ja, jk = to_j(s.input, jtorch, torch), to_j(s.args, jtorch, torch), to_j(s.kwargs, jtorch, torch)
    j_err, j_out = _raised(lambda: j_fn(ji, *ja, **jk))
    msg = _judge_raise(t_err, j_err)
    if msg != "ok":
        return msg
    return (_container(j_out, t_out) or compare(j_out, t_out, torch, jtorch)
            or _prefixed("input changed: ", compare(ji, s.input, torch, jtorch)))


def _prefixed(prefix, msg):
    return prefix + msg if msg else None


def check_in_place(t_fn, j_fn, s, torch, jtorch):
    """None when jtorch's in-place call agrees with torch's on copies of the sample's tensors: raised type,
    the returned object (torch gives back the input list), and the values written into the inputs."""
    from conformance import compare, to_j
    t_in, t_args, t_kwargs = _copies(s.input, torch), _copies(s.args, torch), _copies(s.kwargs, torch)
    t_err, t_out = _raised(lambda: t_fn(t_in, *t_args, **t_kwargs))
    ji, ja, jk = to_j(s.input, jtorch, torch), to_j(s.args, jtorch, torch), to_j(s.kwargs, jtorch, torch)
    j_err, j_out = _raised(lambda: j_fn(ji, *ja, **jk))
    msg = _judge_raise(t_err, j_err)
    if msg != "ok":
        return msg
    if (t_out is t_in) != (j_out is ji):
        return f"returns {'the input list' if j_out is ji else type(j_out).__name__}, torch " \
               f"{'the input list' if t_out is t_in else type(t_out).__name__}"
    return (_prefixed("inputs written: ", compare(ji, t_in, torch, jtorch)) or _container(j_out, t_out)
            or compare(j_out, t_out, torch, jtorch))


def _on_clones(fn):
    """``fn`` (an in-place foreach op) applied to clones of the input list, as torch's in-place autograd
    tests do: the leaves stay untouched and the gradient flows through the clones."""
    def call(inp, *args, **kwargs):
        return fn([t.clone() for t in inp], *args, **kwargs)
    return call


def _per_tensor_reference(info):
    """torch's own per-tensor op (``info.ref``: ``torch.addcdiv`` for ``_foreach_addcdiv``) over the lists: the
    reference where torch's foreach backward itself fails (an internal error, as ``_foreach_mul`` with a 0-dim
    tensor operand or ``_foreach_addcdiv`` on CPU give in this torch)."""
    def pick(v, i):
        if isinstance(v, (list, tuple)):
            return v[i]
        return v

    def call(inp, *args, **kwargs):
        kwargs = dict(kwargs)
        if "scalars" in kwargs:  # addcmul/addcdiv's list of values: one ``value`` per tensor
            scalars = kwargs.pop("scalars")
            kwargs["value"] = scalars.tolist() if hasattr(scalars, "tolist") else scalars
        return tuple(info.ref(t, *[pick(a, i) for a in args], **{k: pick(v, i) for k, v in kwargs.items()})
                     for i, t in enumerate(inp))
    return call


def check_grad(t_fn, j_fn, s, i, torch, jtorch, reference=None):
    """(None / "skip" / what differs, whether torch's per-tensor ``reference`` stood in) for the gradients of
    ``t_fn`` against ``j_fn`` on sample ``s`` (conformance_grad's comparison: one seeded cotangent per
    differentiable output). Where torch's foreach backward raises though its forward ran, the gradients are
    compared with those of ``reference`` instead."""
    import conformance as C
    from conformance_grad import _run_grad_sample

    class _Info:  # _run_grad_sample only looks the name up among the unit-factor decompositions
        name = "_foreach"

    def run(fn):
        return _run_grad_sample(_Info, s, "float64", lambda: fn(s.input, *s.args, **s.kwargs),
                                lambda ji, ja, jk: j_fn(ji, *ja, **jk),
                                lambda x: C.to_j(x, jtorch, torch), torch, jtorch, 1000 + i, True, False)
    msg = run(t_fn)
    if reference is not None and isinstance(msg, str) and msg.startswith("torch raises") \
            and msg.endswith("jtorch returns"):
        return run(reference), True
    return msg, False


def derived_error_samples(s, torch):
    """Error-style variants of sample ``s`` (torch's own foreach tests check these by hand): the lists
    emptied, the other lists one shorter, a tensor of another shape or dtype in the other tensor list, a
    list of scalars one too short, a 1-D tensor for the 0-dim tensor operand, a tensor for the input list.
    Whether torch raises on each is torch's to say; jtorch is compared either way."""
    from torch.testing._internal.opinfo.core import SampleInput
    inp, args, kwargs = s.input, list(s.args), dict(s.kwargs)
    if not isinstance(inp, (list, tuple)) or not inp:
        return []
    lists = [k for k, a in enumerate(args) if isinstance(a, (list, tuple))]
    tensor_lists = [k for k in lists if args[k] and all(isinstance(v, torch.Tensor) for v in args[k])]
    out = [("empty lists", SampleInput([], args=tuple([] if k in lists else a for k, a in enumerate(args)),
                                       kwargs=kwargs))]
    for k in lists:
        what = "tensor list one shorter" if k in tensor_lists else "list of scalars one shorter"
        out.append((what, SampleInput(inp, args=tuple(a[:-1] if j == k else a for j, a in enumerate(args)),
                                      kwargs=kwargs)))
    if isinstance(kwargs.get("scalars"), (list, tuple)):  # (addcmul/addcdiv take theirs as a keyword)
        out.append(("list of scalars one shorter", SampleInput(inp, args=tuple(args),
                                                               kwargs={**kwargs, "scalars": kwargs["scalars"][:-1]})))
    if tensor_lists:
        k = tensor_lists[-1]
        first = args[k][0]
        other_shape = torch.zeros(tuple(first.shape) + (2,), dtype=first.dtype)
        out.append(("a tensor of another shape", SampleInput(
            inp, args=tuple([other_shape] + list(a[1:]) if j == k else a for j, a in enumerate(args)), kwargs=kwargs)))
        other = torch.float64 if first.dtype != torch.float64 else torch.float32
        out.append(("a tensor of another dtype", SampleInput(
            inp, args=tuple([first.to(other)] + list(a[1:]) if j == k else a for j, a in enumerate(args)),
            kwargs=kwargs)))
    zero_dim = [k for k, a in enumerate(args) if isinstance(a, torch.Tensor) and a.dim() == 0]
    if zero_dim:
        k = zero_dim[0]
        out.append(("a 1-D tensor for the 0-dim one", SampleInput(
            inp, args=tuple(a.expand(2).clone() if j == k else a for j, a in enumerate(args)), kwargs=kwargs)))
    out.append(("a tensor for the input list", SampleInput(inp[0], args=tuple(args), kwargs=kwargs)))
    return out


def check_entry(info, torch, jtorch, dtypes, max_samples=8, num_tensors=4, grad=True, grad_samples=None,
                errors=True, on_difference=None):
    """Per mode (forward, inplace, grad, errors): [agree, samples, first difference]; None when jtorch lacks
    the entry's functions. ``on_difference(mode, message)`` sees every difference (``--verbose``)."""
    j_out_fn, j_in_fn, out_name, in_name = _j_funcs(info, jtorch)
    if (out_name and j_out_fn is None) or (in_name and j_in_fn is None):
        return None
    res = {m: [0, 0, None] for m in ("forward", "inplace", "grad", "errors")}

    def record(mode, msg, where):
        if msg == "skip":
            return
        res[mode][1] += 1
        if msg is None:
            res[mode][0] += 1
            return
        if on_difference is not None:
            on_difference(mode, f"{where}: {msg}")
        if res[mode][2] is None:
            res[mode][2] = f"{where}: {msg}".replace("|", "\\|").replace("\n", " ")

    res["grad_by_reference"] = 0

    def grad_record(*args, where):
        try:
            msg, by_reference = args[0](*args[1:])
        except Exception as e:  # noqa: BLE001 - a bug of this script, not of jtorch: say so
            msg, by_reference = f"harness error {type(e).__name__}: {str(e)[:100]}", False
        res["grad_by_reference"] += by_reference and msg != "skip"
        record("grad", msg, where + (" (against torch's per-tensor op)" if by_reference else ""))

    supported = info.supported_dtypes("cpu")
    for dt in dtypes:
        if dt not in supported:
            continue
        dname = str(dt).split(".")[-1]
        samples = samples_of(info, dt, num_tensors, max_samples)
        for k, s in enumerate(samples):
            if out_name:
                record("forward", check_out_of_place(info.op, j_out_fn, s, torch, jtorch), f"{dname} #{k}")
            if in_name and not isinstance(s.input, (int, float, complex)):
                record("inplace", check_in_place(info.inplace_variant, j_in_fn, s, torch, jtorch), f"{dname} #{k}")
        derived = {}  # per kind of variant, from the first sample that has one
        for s in samples if errors else ():
            for what, e in derived_error_samples(s, torch):
                derived.setdefault(what, e)
        for what, e in derived.items():
            if out_name:
                record("errors", check_out_of_place(info.op, j_out_fn, e, torch, jtorch), f"{dname} {what}")
            if in_name:
                record("errors", check_in_place(info.inplace_variant, j_in_fn, e, torch, jtorch),
                       f"{dname} {what} (in place)")
    if errors and info.error_inputs_func is not None:
        for case in info.error_inputs("cpu"):
            s = _clean(case.sample_input)
            t_err, _ = _raised(lambda: info.op(s.input, *s.args, **s.kwargs))
            if not isinstance(t_err, case.error_type) or not re.search(case.error_regex, str(t_err)):
                continue  # torch itself does not raise as op_db says on this build
            record("errors", check_out_of_place(info.op, j_out_fn or j_in_fn, s, torch, jtorch), "error_inputs")
    if grad and info.supports_autograd and torch.float64 in info.supported_backward_dtypes("cpu"):
        samples = samples_of(info, torch.float64, num_tensors, grad_samples or max_samples, requires_grad=True)
        for i, s in enumerate(samples):
            if isinstance(s.input, (int, float, complex)):
                continue
            ref = _per_tensor_reference(info) if info.ref is not None else None
            if out_name:
                grad_record(check_grad, info.op, j_out_fn, s, i, torch, jtorch, ref, where=f"#{i}")
            if in_name and (info.supports_inplace_autograd or not out_name):
                grad_record(check_grad, _on_clones(info.inplace_variant), _on_clones(j_in_fn), s, i, torch, jtorch,
                            ref and _on_clones(ref), where=f"#{i} in place")
    return res


_MODES = ("forward", "inplace", "grad", "errors")


def run_foreach(args, torch, jtorch):
    """The report over every foreach entry (``--ops`` narrows it); conformance.py prints/writes it."""
    import time
    dtypes = [getattr(torch, d) for d in args.foreach_dtypes.split(",")]
    wanted = set(filter(None, args.ops.split(",")))
    rows, absent = [], []
    for info, label in foreach_entries():
        if wanted and label not in wanted and label.replace("_foreach_", "") not in wanted:
            continue
        t0 = time.time()
        res = check_entry(info, torch, jtorch, dtypes, args.max_samples, args.foreach_tensors,
                          on_difference=(lambda m, msg, _l=label: print(f"  {_l} {m} {msg}")) if args.verbose else None)
        if res is None:
            absent.append(label)
            continue
        rows.append((label, res))
        if args.verbose:
            print(label, {m: res[m][:2] for m in _MODES}, f"{time.time() - t0:.1f}s",
                  next((res[m][2] for m in _MODES if res[m][2]), ""), flush=True)
    tot = {m: (sum(r[m][0] for _, r in rows), sum(r[m][1] for _, r in rows)) for m in _MODES}
    full = sum(all(r[m][0] == r[m][1] for m in _MODES) for _, r in rows)
    by_reference = sum(r["grad_by_reference"] for _, r in rows)
    lines = [f"# foreach op databases: {full}/{len(rows)} entries fully agree; "
             + ", ".join(f"{m} {ok}/{n}" for m, (ok, n) in tot.items()), "",
             f"dtypes {args.foreach_dtypes} (those each entry supports on CPU), {args.foreach_tensors} tensors per "
             f"list, at most {args.max_samples} samples per entry and dtype; gradients in float64 ({by_reference} "
             f"compared with torch's per-tensor op, where torch's foreach backward raises an internal error); errors: "
             f"error-style inputs derived from the entry's samples per dtype (and op_db's error_inputs, none "
             f"in this torch). {len(absent)} entries jtorch lacks (not counted): {', '.join(absent) or '-'}", "",
             "| entry | forward | in place | grad | errors | first difference |", "|---|---:|---:|---:|---:|---|"]
    for label, r in sorted(rows, key=lambda x: (all(x[1][m][0] == x[1][m][1] for m in _MODES), x[0])):
        first = next((f"{m}: {r[m][2]}" for m in _MODES if r[m][2]), "")
        lines.append(f"| {label} | " + " | ".join(f"{r[m][0]}/{r[m][1]}" for m in _MODES) + f" | {first} |")
    return "\n".join(lines) + "\n"
