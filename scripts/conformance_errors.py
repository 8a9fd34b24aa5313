"""op_db's error inputs: bad arguments on which torch raises, run through jtorch (``conformance.py --errors``).

Each OpInfo's ``error_inputs`` yields a sample with the exception type and message pattern torch's own tests
expect. A sample agrees when jtorch raises an exception of that type (a subclass counts, as ``pytest.raises``);
the message is compared separately (``re.search`` of torch's pattern), reported but not required, as messages
are worded by each library. First torch itself is run: samples where torch does not raise as op_db says (a
CUDA-only check, a pattern for another build) are left out and counted.
"""
import re


def _raised(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001 - what is raised is the thing compared
        return e
    return None


def _to_j_aliased(values, jtorch, torch):
    """``to_j`` of each value, except that torch tensors sharing a storage with another one, or holding an
    element twice (an expand), become views (``as_strided``) of one jtorch tensor holding that storage: op_db's
    ``out=`` error inputs write into an input (the same tensor given twice is one storage too) or into an
    expanded tensor."""
    from conformance import to_j
    flat = []

    def walk(x):
        if isinstance(x, torch.Tensor):
            flat.append(x)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
    walk(values)
    seen = {}
    for t in flat:
        if t.layout == torch.strided and t.device.type == "cpu":
            seen.setdefault(t.untyped_storage().data_ptr(), []).append(t)
    bases = {}

    def conv(x):
        if isinstance(x, torch.Tensor):
            group = seen.get(x.untyped_storage().data_ptr()) if x.layout == torch.strided and \
                x.device.type == "cpu" else None
            shared = group is not None and len(group) > 1  # (the same tensor twice counts)
            repeats = any(n > 1 and st == 0 for n, st in zip(x.shape, x.stride()))
            if group is not None and (shared or repeats) and len({t.dtype for t in group}) == 1:
                key = x.untyped_storage().data_ptr()
                if key not in bases:
                    whole = x.detach().as_strided((x.untyped_storage().nbytes() // x.element_size(),), (1,), 0)
                    bases[key] = to_j(whole.clone(), jtorch, torch)
                return bases[key].as_strided(tuple(x.shape), x.stride(), x.storage_offset())
            return to_j(x, jtorch, torch)
        if isinstance(x, (list, tuple)):
            return type(x)(conv(v) for v in x)
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        return to_j(x, jtorch, torch)  # (dtypes, devices, modules)
    return conv(values)


def check_op(info, name, label, torch, jtorch, verbose=False):
    """(agree, message agrees, samples, torch's own misses, unbuildable inputs, first difference) over one
    OpInfo's error inputs; None when jtorch lacks the op or op_db's generator fails on this build."""
    from conformance import _j_caller, same_error_type
    try:
        cases = list(info.error_inputs("cpu"))
    except Exception:  # noqa: BLE001 - op_db's generator itself fails on this build
        return None
    call = _j_caller(info, name, jtorch)
    if call is None:
        return None
    ok = msg_ok = n = skipped = unbuilt = 0
    first = None
    for case in cases:
        s = case.sample_input
        t_err = _raised(lambda: info.op(s.input, *s.args, **s.kwargs))
        if not isinstance(t_err, case.error_type) or not re.search(case.error_regex, str(t_err)):
            skipped += 1
            continue
        try:
            ji, ja, jk = _to_j_aliased((s.input, s.args, s.kwargs), jtorch, torch)
        except Exception:  # noqa: BLE001 - jtorch cannot hold the input (65 dimensions): left out, counted
            unbuilt += 1
            continue
        n += 1
        j_err = _raised(lambda: call(ji, ja, jk))
        if j_err is not None and same_error_type(j_err, case.error_type):
            ok += 1
            msg_ok += bool(re.search(case.error_regex, str(j_err)))
            continue
        got = f"{type(j_err).__name__}: {str(j_err)[:100]}" if j_err else "no error"
        if verbose:
            print(f"{label}: want {case.error_type.__name__} ({case.error_regex!r}), got {got}", flush=True)
        if first is None:
            first = f"want {case.error_type.__name__} /{case.error_regex[:60]}/ got {got}"
    return ok, msg_ok, n, skipped, unbuilt, first


def run_errors(args, op_db, torch, jtorch):
    from conformance import _selected
    rows, absent, skipped, unbuilt = [], [], 0, 0
    for info, name, label in _selected(op_db, args):
        if info.error_inputs_func is None:
            continue
        res = check_op(info, name, label, torch, jtorch, args.verbose)
        if res is None:
            absent.append(label)
            continue
        ok, msg_ok, n, sk, ub, first = res
        skipped += sk
        unbuilt += ub
        if n:
            rows.append((label, ok, msg_ok, n, first and first.replace("|", "\\|").replace("\n", " ")))
    total = sum(r[3] for r in rows)
    lines = [f"# op_db error inputs: {sum(r[1] for r in rows)}/{total} raise torch's exception type "
             f"({len([r for r in rows if r[1] == r[3]])}/{len(rows)} ops fully); "
             f"{sum(r[2] for r in rows)}/{total} also match torch's message pattern", "",
             f"{skipped} error inputs left out (torch itself does not raise as op_db expects on this build), "
             f"{unbuilt} whose input jtorch cannot build (more than 64 dimensions); "
             f"{len(absent)} entries jtorch lacks or whose error inputs fail to build: {', '.join(absent) or '-'}", "",
             "| op | type agrees | message agrees | samples | first difference |", "|---|---:|---:|---:|---|"]
    for label, ok, msg_ok, n, first in sorted(rows, key=lambda r: (r[1] == r[3], r[0])):
        lines.append(f"| {label} | {ok} | {msg_ok} | {n} | {first or ''} |")
    return "\n".join(lines) + "\n"
