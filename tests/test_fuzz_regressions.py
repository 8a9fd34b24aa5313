"""Differences the differential fuzzer (tests/fuzz_programs.py, scripts/fuzz_semantics.py) found between
jtorch and torch, each minimised to a short program and run here through both on the same inputs: every
line's exception type, and the values, shapes, strides, dtypes, ``_version``, storage sharing and
gradients of the tensors it makes (``fuzz_programs.check``). Then a fixed handful of fuzzer seeds."""
import numpy as np
import pytest
import torch

import jtorch
from tests import fuzz_programs as fp


def _same(src, rng=None, eager=True):
    """Run the program (``{a}``, ``{b}``... filled with seeded random literals) in both: no difference."""
    if rng is not None:
        vals = {k: np.round(rng.uniform(-3, 3, size=4), 2).tolist() for k in ("a", "b", "c")}
        src = src.format(**vals)
    lines = [ln for ln in src.strip().splitlines() if ln.strip()]
    res = fp.check(lines, eager=eager)
    assert res is None, (res, lines[res[0]])
    return lines


def _error_in_both(lines, i, kind):
    """Line ``i`` raises ``kind`` in torch (so the comparison above covered jtorch raising it too)."""
    rec = fp.run(lines, torch, eager=False)
    assert rec[i]["error"] == kind, rec[i]["error"]


# ---- .data: its own version counter -------------------------------------------------------------
def test_data_write_keeps_version_and_backward(rng):
    lines = _same("""
w = torch.tensor({a}, requires_grad=True)
y = (w * torch.tensor({b})).sum()
w.data.mul_(2)
d = w.data
d[0] = 1.5
v = d[1:3]
v.add_(1)
y.backward()
""", rng)
    rec = fp.run(lines, jtorch, eager=True)
    assert rec[-1]["snaps"]["w"]["_version"] == 0 and rec[-1]["snaps"]["d"]["_version"] == 2


def test_data_write_to_saved_nonleaf_no_error(rng):
    # no "modified by an inplace operation" error in either; the gradients differ (a documented difference:
    # torch's backward reads the written storage, jtorch's the values the op saw), so only errors are compared
    src = """
a = torch.tensor({a}, requires_grad=True)
b = a * 2
c = b * b
b.data.add_(1)
c.sum().backward()
""".format(a=np.round(rng.uniform(-3, 3, size=4), 2).tolist())
    lines = src.strip().splitlines()
    for lib in (torch, jtorch):
        assert [r["error"] for r in fp.run(lines, lib)] == [None] * len(lines)


def test_detach_write_still_counts_for_backward(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 2
c = b * b
b.detach().add_(1)
c.sum().backward()
""", rng)
    _error_in_both(lines, 4, "RuntimeError")


# ---- indexing with a bool scalar is an advanced index: a copy ------------------------------------
def test_bool_scalar_index_copies(rng):
    _same("""
t = torch.tensor([{a}, {b}])
u = t[torch.tensor(True)]
v = t[True, 1]
w = t[None, True, ..., True]
u.add_(1)
t[True] = torch.tensor({c})
""", rng)


# ---- strides of new size-1 dims from expand ------------------------------------------------------
def test_expand_new_unit_dims_strides(rng):
    _same("""
t = torch.tensor([{a}, {b}, {c}]).reshape(12, 1)
u = t.expand(1, 12, 3)
v = t.expand(1, 1, 2, 12, 1)
w = torch.tensor(1.5).expand(1, 1)
x = t[:1].expand(1, 1, 1)
""", rng)


# ---- flatten of one dim returns the tensor itself ------------------------------------------------
def test_flatten_single_dim_is_self(rng):
    _same("""
t = torch.tensor({a}, requires_grad=True)
u = t.flatten(0)
v = t.reshape(2, 2).flatten(1, 1)
""", rng)
    t = jtorch.ones(3)
    assert t.flatten() is t


# ---- requires_grad_() on a non-leaf ---------------------------------------------------------------
def test_requires_grad_on_nonleaf(rng):
    lines = _same("""
t = torch.tensor({a}, requires_grad=True)
u = t.max() + 3
u.requires_grad_()
u.requires_grad_(False)
u.backward()
""", rng)
    _error_in_both(lines, 3, "RuntimeError")


# ---- torch's creation-meta checks: split/chunk/unbind pieces and no_grad views -------------------
def test_multi_output_view_inplace_raises(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 1
c, d = b.split(2)
c.mul_(2)
e = b.chunk(2)[1][0:1]
e.add_(1)
f = b.unbind(0)[0]
f.zero_()
k, l = torch.tensor({b}).split(2)
k.mul_(2)
c.data.mul_(2)
""", rng)
    for i in (3, 5, 7):
        _error_in_both(lines, i, "RuntimeError")


def test_multi_output_view_after_base_write(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 1
c, d, e, f = b.unbind(0)
b.mul_(2)
g = c.requires_grad
h = c * 2
""", rng)
    _error_in_both(lines, 5, "RuntimeError")


def test_no_grad_view_inplace_raises(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 1
with torch.no_grad(): e = b[0:2]
e.mul_(2)
with torch.no_grad(): e.mul_(2)
with torch.no_grad(): f = a[1:3]
f.add_(1)
del e, f
""", rng, eager=False)
    _error_in_both(lines, 3, "RuntimeError")
    _error_in_both(lines, 6, "RuntimeError")


def test_view_of_leaf_made_to_require_grad(rng):
    lines = _same("""
t = torch.tensor({a}).reshape(4, 1)
t.requires_grad_()
u = t.squeeze(1)
u.clamp_(-1, 1)
""", rng)
    _error_in_both(lines, 3, "RuntimeError")


# ---- in-place writes to a tensor whose elements share memory -------------------------------------
@pytest.mark.parametrize("op", ["add_(1)", "mul_(torch.tensor({a}))", "copy_(torch.tensor({a}))", "clamp_(0, 1)",
                                "scatter_add_(0, torch.tensor([2]), torch.tensor([1.5]))", "uniform_()",
                                "fill_(torch.tensor(2.0))", "__setitem__(slice(0, 2), 2.0)"])
def test_expanded_inplace_raises(op, rng):
    lines = _same(f"""
t = torch.tensor([{{c}}]).sum().reshape(1).expand(4)
t.{op}
""", rng)
    _error_in_both(lines, 1, "RuntimeError")


# (masked_fill_, index_fill_ and index_put_ run too, but torch's write of one element reaches every
# element sharing its memory, jtorch's scatter writes the last: values differ, torch deprecates the use)
@pytest.mark.parametrize("op", ["fill_(2.0)", "zero_()", "__setitem__(1, 2.0)", "copy_(t)"])
def test_expanded_inplace_allowed(op, rng):
    _same(f"""
t = torch.tensor([{{c}}]).sum().reshape(1).expand(4)
t.{op}
u = torch.tensor({{a}}).as_strided((3,), (1,)).add_(1)
""", rng)


# ---- errors for dtypes torch rejects -------------------------------------------------------------
def test_floor_divide_has_no_derivative(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = torch.div(a, 2.0, rounding_mode='floor')
b.sum().backward()
c = a // 2
c.sum().backward()
""", rng)
    _error_in_both(lines, 4, "RuntimeError")


def test_bool_subtraction_and_matmul_raise(rng):
    lines = _same("""
a = torch.tensor({a})
m = a > 0
b = a - m
c = m - 1
d = a - True
e = m @ m
f = m.reshape(2, 2) @ m.reshape(2, 2)
g = m.reshape(2, 2) @ m[:2]
h = a - 1
""", rng)
    for i, kind in ((2, "RuntimeError"), (3, "RuntimeError"), (4, "RuntimeError"), (5, "NotImplementedError"),
                    (6, "NotImplementedError"), (7, "NotImplementedError")):
        _error_in_both(lines, i, kind)


def test_complex_ordering_ops_raise(rng):
    lines = _same("""
c = torch.tensor({a}) * 1j
a = c < 1
b = torch.maximum(c, c)
d = c.clamp(0, 1)
e = c.max()
f = c.amax(0)
g = c.max(0)
h = c.sort()
k = c.topk(1)
l = c.argmax()
m = c.aminmax()
n = torch.tensor({b}).bool() & c
o = c == c
""", rng)
    for i in range(1, 12):
        assert fp.run(lines, torch)[i]["error"] is not None


def test_setitem_checks_python_numbers(rng):
    lines = _same("""
t = torch.tensor({a})
t[0] = 1j
t[torch.tensor([True, False, True, False])] = 2j
u = torch.tensor([1, 2], dtype=torch.int32)
u[0] = 2 ** 40
u[1] = 1.5
""", rng)
    for i in (1, 2, 4):
        _error_in_both(lines, i, "RuntimeError")


def test_rebased_split_piece_refuses_grad_fn(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 1
c, d, e, f = b.unbind(0)
with torch.no_grad(): b.mul_(2)
g = e.bool()
h = e * 2
k, l = b.split(2)
b.data.mul_(2)
m = k * 2
""", rng, eager=False)
    _error_in_both(lines, 5, "RuntimeError")


def test_detach_inplace_of_saved_nonleaf_and_leaf(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 2
c = b.std()
b.detach_()
c.backward()
x = torch.tensor({b}, requires_grad=True)
y = (x * x).sum()
x.detach_()
y.backward()
""", rng)
    _error_in_both(lines, 4, "RuntimeError")


def test_saved_value_of_numpy_shared_tensor(rng):
    _same("""
x = torch.tensor({a}, requires_grad=True)
y = x / 0.5
n = y.detach().numpy()
y.clamp_(-1, -0.75)
n[0] = 5
y.sum().backward()
""", rng)


def test_partial_overlap_inplace_raises(rng):
    lines = _same("""
x = torch.tensor({a})
x.mul_(x[0])
x[1:].add_(x[:-1])
x[1:].copy_(x[:-1])
x[2:].copy_(x[:2])
x.add_(x)
x.view(2, 2)[0].sub_(x.view(2, 2)[:, 0])
x[1:3] = x[0:2]
x.masked_fill_(x > 0, x[0])
""", rng)
    for i in (1, 2, 3, 7):
        _error_in_both(lines, i, "RuntimeError")


def test_inplace_operand_aliasing_target_keeps_its_check(rng):
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * 1
b.mul_(b)
b.sum().backward()
c = a * 1
c.pow_(2)
c.sum().backward()
d = (a * 1).view(2, 2)
d[0].mul_(d[1])
d.sum().backward()
""", rng)
    _error_in_both(lines, 3, "RuntimeError")


@pytest.mark.parametrize("op", ["to(torch.float32)", "__truediv__(2)", "sign()", "floor()", "ceil()", "round()",
                                "trunc()", "frac()", "neg()", "deg2rad()", "round(decimals=1)"])
def test_no_spurious_saved_tensor_errors(op, rng):
    _same(f"""
a = torch.tensor({{a}}, dtype=torch.float64, requires_grad=True)
b = a * 1
c = b.{op}
with torch.no_grad(): b.mul_(2)
c.sum().backward()
""", rng)


def test_more_dtype_errors(rng):
    lines = _same("""
c = torch.tensor({a}) * 1j
a = c % c
b = torch.fmod(c, 2)
d = torch.div(c, c, rounding_mode='trunc')
e = torch.arange(4, dtype=torch.complex64)
f = torch.arange(4, dtype=torch.bool)
g = torch.tensor([1, 2]).softmax(0)
h = torch.ones(2, 2, dtype=torch.int64).log_softmax(0)
k = torch.tensor([1, 2]).masked_fill_(torch.tensor([True, False]), 1.5 + 0j)
m = torch.hypot(c, c)
n = torch.tensor([False, True])
n[torch.tensor([0, 0])] = 1.5j
n[1] = 0j
n.fill_(0.5j)
o = torch.tensor([False, False]).masked_fill_(torch.tensor([True, False]), 2j)
p = torch.tensor([1.5, 2]).index_fill_(0, torch.tensor([1]), 2j)
""", rng)
    for i in (*range(1, 8), 9):
        assert fp.run(lines, torch)[i]["error"] == ("RuntimeError" if i == 0 else "NotImplementedError")


def test_result_layouts_of_roll_and_nonzero(rng):
    _same("""
x = torch.tensor([{a}, {b}, {c}]).t()
a = x.roll(1, 0)
b = x.roll(1)
c = x.flip(0)
d = (x > 0).nonzero()
e = torch.tensor({a}).reshape(1, 2, 2, 1).to(memory_format=torch.channels_last).roll(1, 1)
""", rng)


def test_retained_grad_follows_inplace_writes(rng):
    _same("""
a = torch.tensor({a}, requires_grad=True)
c = a.clone()
c.retain_grad()
d = c.zero_()
e = a.clone()
e.retain_grad()
e[0] = 5
v = e[1:3]
v.retain_grad()
e.mul_(3)
loss = (c * 2 + d).sum() + (e * torch.tensor({b})).sum() + (v * 2).sum(); loss.backward()
""", rng)


def test_chunk_of_empty_dim_and_empty_expanded_write(rng):
    _same("""
a, b, c = torch.tensor({a})[4:].chunk(3)
t = torch.tensor({b})[:0].reshape(1, 0).expand(2, 1, 0)
t[0::1, 0] = -0.75
u = torch.atan2(torch.tensor({c}) * 1j, torch.tensor({c}) * 1j)
v = (torch.tensor({c}) * 1j).relu_()
""", rng)


@pytest.mark.parametrize("op", ["exp()", "sigmoid()", "tanh()", "sqrt()", "relu()", "softmax(0)", "log_softmax(0)",
                                "amax()", "max(0).values", "sort().values", "topk(2).values"])
@pytest.mark.parametrize("write", ["input", "result"])
def test_saved_tensor_checks_follow_torch(op, write, rng):
    """torch's backward of these reads their result (or indices): writing the input afterwards is fine,
    writing the result raises (for the reductions and sorts, as torch says for each)."""
    _same(f"""
a = torch.tensor({{a}}, requires_grad=True)
b = a.abs() + 0.5
c = b.{op}
with torch.no_grad(): {'b' if write == 'input' else 'c'}.mul_(2)
c.sum().backward()
""", rng)


# ---- a fixed handful of fuzzer programs ------------------------------------------------------------
@pytest.mark.parametrize("seed", [2, 3, 4, 5, 7, 8, 12, 13])
def test_fuzz_programs_match_torch(seed):
    lines = fp.generate(seed)
    res = fp.check(lines, eager=seed % 2 == 1)
    assert res is None, (res, "\n".join(lines))


# ---- what torch saves for backward: writing it in place makes backward raise -----------------------
_SAVED_CASES = [  # expressions of b (4 positive float64 elements, requiring grad); m: b as a 2x2 matrix
    "b.prod()", "b.prod(0)", "b.cumprod(0)", "b.logsumexp(0)", "b.logcumsumexp(0)", "b.norm()", "b.norm(1)",
    "torch.linalg.vector_norm(b, float('inf'))", "b.std()", "b.median()", "b.nanmedian()", "b.sgn()", "b.hypot(b * 2)",
    "b ** b", "2 ** b", "b ** torch.tensor(2.)", "b ** 2", "torch.special.erfcx(b)", "torch.special.i0e(b)",
    "torch.special.i1(b)", "torch.special.i1e(b)", "torch.special.log_ndtr(b)", "torch.special.ndtri(b / 4)",
    "torch.special.ndtr(b)", "m.det()", "m.inverse()", "torch.linalg.svdvals(m)", "torch.linalg.eigvalsh(m)",
    "torch.linalg.svd(m)[1]", "torch.linalg.qr(m)[0]", "torch.linalg.eigh(m)[1]", "torch.linalg.pinv(m)",
    "torch.linalg.solve(m, b[:2])", "torch.linalg.cholesky(m + torch.eye(2, dtype=torch.float64) * 3)",
    "torch.linalg.cholesky(m + torch.eye(2, dtype=torch.float64) * 3, upper=True)",
    "torch.linalg.matrix_norm(m)", "torch.linalg.matrix_norm(m, 1)",
    "torch.cdist(m, m * 2)", "b.median(0).values", "b.mode(0).values", "b.kthvalue(2).values", "torch.frexp(b)[0]",
    "torch.nn.functional.tanhshrink(b)", "torch.nn.functional.cross_entropy(m, torch.tensor([0, 1]))",
    "torch.diff(b)", "torch.trapezoid(b)", "torch.cumulative_trapezoid(b)",
    "torch.lerp(b, b * 2, 0.3)", "torch.nn.functional.interpolate(m[None], scale_factor=2)",
    "torch.nn.functional.pairwise_distance(m, m * 2)"]


def _same_errors_and_grad(src, rng):
    """Each line's exception type and the leaf ``a``'s gradient agree (not the layouts of linalg results)."""
    vals = {"a": np.round(rng.uniform(-3, 3, size=4), 2).tolist()}
    lines = [ln for ln in src.format(**vals).strip().splitlines() if ln.strip()]
    rt, rj = fp.run(lines, torch), fp.run(lines, jtorch)
    assert [r["error"] for r in rt] == [r["error"] for r in rj], lines
    gt, gj = rt[-1]["snaps"]["a"]["grad"], rj[-1]["snaps"]["a"]["grad"]
    assert (gt is None) == (gj is None), lines
    if gt is not None:
        np.testing.assert_allclose(gj[2], gt[2], rtol=1e-6, atol=1e-9, err_msg="\n".join(lines))
    return rt


def test_saved_values_follow_torch(rng):
    """For each op, writing its input or its result in place after the call: backward raises exactly where
    torch's does (what torch's backward keeps: the result of prod, norms, det, svd...; only indices for
    median(dim)/mode/kthvalue; only intermediates of composites such as tanhshrink and cross_entropy)."""
    raised = set()
    for expr in _SAVED_CASES:
        for write in ("b", "c"):
            rec = _same_errors_and_grad(f"""
a = torch.tensor({{a}}, dtype=torch.float64, requires_grad=True)
b = a.abs() + 0.5
m = b.view(2, 2)
c = {expr}
with torch.no_grad(): {write}.mul_(2)
c.sum().backward()
""", rng)
            raised.add((write, rec[-1]["error"]))
    assert raised == {(w, e) for w in "bc" for e in ("RuntimeError", None)}  # (torch: each kind of case)


_INPLACE_SAVED = ["exp_()", "exp2_()", "expm1_()", "sigmoid_()", "tanh_()", "sqrt_()", "rsqrt_()", "reciprocal_()",
                  "relu_()", "tan_()", "cumprod_(0)", "hypot_(b * 2)", "sin_()", "pow_(2)", "mul_(3)",
                  "clamp_(0.7, 1.5)", "log_()", "erf_()"]
_INPLACE_NN = ["elu", "selu", "celu", "leaky_relu", "relu", "hardtanh", "silu", "hardswish", "threshold"]


def test_inplace_saved_result_follows_torch(rng):
    """An in-place op whose backward torch computes from its result (``exp_``, ``elu_``...) keeps its
    target: a later write raises in backward; the others keep a copy of the original (``sin_``)."""
    calls = [f"b.{op}" for op in _INPLACE_SAVED] + [
        f"torch.nn.functional.{f}(b, {'1., 0., ' if f == 'threshold' else ''}inplace=True)" for f in _INPLACE_NN] + [
        "torch.nn.functional.rrelu(b, training=False, inplace=True)"]
    for call in calls:
        for write in ("", "with torch.no_grad(): b.mul_(2)"):
            _same(f"""
a = torch.tensor({{a}}, dtype=torch.float64, requires_grad=True)
b = a.abs() + 0.5
{call}
{write}
b.sum().backward()
""", rng)


def test_hidden_and_linear_saves_backward_twice_and_double_backward(rng):
    """Ops torch saves only intermediates or indices for refuse a second backward (as torch's), linear ones
    allow it; a double backward still reaches the input through the intermediates."""
    for expr in ("torch.nn.functional.tanhshrink(b)", "torch.special.ndtr(b)", "b.median(0).values", "torch.diff(b)",
                 "torch.nn.functional.interpolate(b[None, None], scale_factor=2)", "b.exp()", "b.prod()"):
        _same(f"""
a = torch.tensor({{a}}, dtype=torch.float64, requires_grad=True)
b = a * 1.5
c = {expr}
c.sum().backward()
c.sum().backward()
d = {expr}
(torch.autograd.grad(d.sum(), b, create_graph=True)[0] ** 2).sum().backward()
""", rng)


def test_grad_of_nonleaf_stops_there_though_its_node_was_freed(rng):
    """``autograd.grad(y, b)`` runs no node behind b: b's own freed node raises nothing (torch's engine)."""
    _same("""
a = torch.tensor({a}, dtype=torch.float64, requires_grad=True)
b = a * torch.tensor({b}, dtype=torch.float64)
b.sin().sum().backward()
d = b.exp() * b
e = torch.autograd.grad(d.sum(), b)[0] * 1
f = torch.autograd.grad((b * 2).sum(), [b, a], allow_unused=True)
""", rng)


def test_view_made_before_base_required_grad_follows_base(rng):
    """A view made in no_grad mode or before its base's ``requires_grad_()`` reports its base's flag, ops on it
    record a node with no edge (no gradient reaches the base or the view), a view of it gets a grad_fn, and
    writing it in place raises torch's error; a view through a non-differentiable op does not follow."""
    lines = _same("""
a = torch.tensor({a})
v = a[1:]
w = a.view(torch.int32)
a.requires_grad_()
x = v * torch.tensor({b})[1:]
y = v.view(3)
v.requires_grad_(False)
x.sum().backward()
b = torch.tensor({c}, requires_grad=True)
with torch.no_grad(): u = b[:2]
z = (u * 2).sum() + (b * 3).sum(); z.backward()
v.mul_(2)
b.requires_grad_(False)
t = u * 1
""", rng)
    rec = fp.run(lines, torch, eager=True)
    assert rec[3]["snaps"]["v"]["requires_grad"] and not rec[3]["snaps"]["w"]["requires_grad"]
    assert rec[11]["error"] == "RuntimeError" and not rec[-1]["snaps"]["u"]["requires_grad"]


def test_cholesky_reads_one_triangle(rng):
    """torch factors the Hermitian matrix of A's lower (upper=True: upper) triangle; the other is ignored."""
    _same("""
a = (torch.tensor([{a}, {b}, {c}, {a}], dtype=torch.float64).abs() + torch.eye(4, dtype=torch.float64) * 9)
a.requires_grad_()
l = torch.linalg.cholesky(a).contiguous()
u = torch.linalg.cholesky(a, upper=True).contiguous()
c = torch.linalg.cholesky(a + 1j * (a.triu(1) - a.tril(-1)), upper=True).contiguous()
loss = (l * torch.tensor({b})).sum() + (u * torch.tensor({c})).sum() + c.abs().sum(); loss.backward()
""", rng)


def test_rebased_piece_cast_to_bool(rng):
    """A split/unbind piece whose base was written since refuses only a differentiable result (fuzzer seed 6075)."""
    lines = _same("""
t7 = torch.tensor([{a}, {b}, {c}], requires_grad=True)
t9 = t7 * torch.tensor({c})
t11, t12, t13 = t9.unbind(0)
t9.permute((0, 1)).masked_fill_(torch.tensor([True, True, True, False]), 1.5)
t15 = t13.bool()
t16 = t13.double()
""", rng)
    _error_in_both(lines, 5, "RuntimeError")


def test_unsafe_split_pieces_have_own_version_counters(rng):
    """torch's unsafe_split/unsafe_chunk pieces are no views: tensors over the base's storage with version
    counters of their own, written in place freely; an op that saved a piece sees the piece's writes only."""
    lines = _same("""
a = torch.tensor({a}, requires_grad=True)
b = a * torch.tensor({b})
p, q = b.unsafe_split(2)
r = p * q
p.mul_(2)
r.sum().backward()
x = b * 1
y = b.exp()
s, t = b.unsafe_chunk(2)
s.add_(1)
z = t.exp()
u = torch.unsafe_split(torch.tensor({c}), 3)
u[0].zero_()
loss = (x * torch.tensor({c})).sum() + y.sum() + (p * 3).sum() + z.sum(); loss.backward()
""", rng)
    _error_in_both(lines, 5, "RuntimeError")


def test_relu_of_bool_raises(rng):
    """torch refuses bool inputs to relu (fuzzer seed 6158)."""
    lines = _same("""
t = torch.tensor({a}) > 0
a = t.relu()
with torch.no_grad(): t.relu_()
b = torch.nn.functional.relu(t)
c = torch.tensor({b}).relu()
""", rng)
    for i in (1, 2, 3):
        _error_in_both(lines, i, "RuntimeError")


def test_bool_tensor_to_a_bool_power(rng):
    """torch's pow by a Python True/False copies / gives ones before its kernel (no bool) is asked (seed 6270)."""
    lines = _same("""
t = torch.tensor({a}) > 0
a = t ** True
b = t ** False
c = torch.pow(t, True)
d = t.clone().pow_(False)
e = t ** 1
f = t ** t
g = torch.tensor({b}) ** True
""", rng)
    _error_in_both(lines, 6, "NotImplementedError")


def test_detached_saved_result_serves_its_own_node(rng):
    """A result its own node saved (hypot, exp) may be detached in place: that node's backward still runs;
    another node that saved it raises (fuzzer seed 7018)."""
    lines = _same("""
t1 = torch.tensor({a}, requires_grad=True)
t3 = torch.hypot(t1, t1)
t4 = t3 / 3
e = t1.exp()
f = e * 2
t3.detach_()
e.detach_()
loss = (t4 * torch.tensor({b})).sum() + (f * torch.tensor({c})).sum(); loss.backward()
g = t1.exp()
h = g * t1
g.detach_()
h.sum().backward()
""", rng)
    _error_in_both(lines, len(lines) - 1, "RuntimeError")


def test_rounding_of_complex_raises(rng):
    """floor/ceil/trunc of a complex tensor: torch's NotImplementedError (fuzzer seed 7175)."""
    lines = _same("""
c = torch.tensor({a}) * (1 + 1j)
a = c.floor()
b = c.ceil()
d = c.trunc()
e = torch.tensor({b}).floor()
""", rng)
    for i in (1, 2, 3):
        _error_in_both(lines, i, "NotImplementedError")


def test_complex_tensor_value_into_real_by_mask(rng):
    """A one-element complex tensor written into a real tensor by masked_fill_ or a bool-mask assignment:
    torch reads it, and an imaginary part raises (fuzzer seed 7237)."""
    lines = _same("""
t = torch.tensor({a})
m = t > 0
t.masked_fill_(m, torch.tensor(1 + 1j))
t.masked_fill_(m, torch.tensor(2 + 0j))
t[torch.tensor([True, True, True, True])] = torch.tensor(-1 - 0.75j)
t[m] = torch.tensor([3 + 0j])
""", rng)
    for i in (2, 4):
        _error_in_both(lines, i, "RuntimeError")
