"""Seeded random short PyTorch programs, run under torch and jtorch and compared line by line.

A program is a list of Python source lines written against ``torch`` (so a failing one is a
repro that pastes into a test as is). The generator keeps a real-torch namespace beside it and
runs each candidate line there, so later lines pick shapes, dims and indices that fit what the
earlier lines made; a line torch rejects is kept now and then, to compare exception types.

``run(lines, lib)`` executes the lines with ``torch`` bound to ``lib`` and records, after each
line, the exception type it raised (or None) and a snapshot of the tensors it assigned (of every
tensor, in the "eager" mode and after the last line): dtype, shape, strides, storage offset,
``is_contiguous``, ``_version``, requires_grad / is_leaf / has grad_fn, values, ``.grad`` where
torch keeps one, and which tensors share a storage (the pattern of
``untyped_storage().data_ptr()``, not its values). ``compare`` finds the first difference and
``minimise`` deletes lines while the same kind of difference stays.
"""
import random
import re
import warnings

import numpy as np

FLOATS = ("float32", "float32", "float32", "float64")
DTYPES = FLOATS + ("int64", "int64", "int32", "bool", "complex64")


def _is_float(dt):
    return dt in ("float32", "float64")


def _is_complex(dt):
    return dt.startswith("complex")


def _dt(t):
    return str(t.dtype).split(".")[-1]


class Generator:
    """Builds one program; ``self.ns`` is the real-torch namespace after the kept lines."""

    def __init__(self, seed, n_lines=14):
        import torch
        self.torch = torch
        self.r = random.Random(seed)
        self.n_lines = n_lines
        self.lines = []
        self.count = 0
        self.ns = self._fresh_ns()

    def _fresh_ns(self):
        return {"torch": self.torch}

    # ---- helpers -------------------------------------------------------------------------
    def name(self, prefix="t"):
        self.count += 1
        return f"{prefix}{self.count}"

    def tensors(self):
        T = self.torch.Tensor
        return [(k, v) for k, v in self.ns.items() if isinstance(v, T)]

    def pick(self, pred=lambda v: True):
        c = [(k, v) for k, v in self.tensors() if pred(v)]
        return self.r.choice(c) if c else (None, None)

    def scalar(self, dt):
        r = self.r
        kind = r.choice(["int", "float", "float", "bool", "complex"] if r.random() < 0.15 else
                        ["int", "float"] if not _is_complex(dt) else ["int", "float", "complex"])
        if kind == "int":
            return str(r.randint(-3, 4))
        if kind == "float":
            return repr(r.randint(-12, 12) / 4)
        if kind == "bool":
            return r.choice(["True", "False"])
        return repr(complex(r.randint(-4, 4) / 2, r.randint(-4, 4) / 2))

    def values(self, shape, dt):
        r = self.r

        def one():
            if dt == "bool":
                return r.choice([True, False])
            if dt.startswith("int") or dt == "uint8":
                return r.randint(-4, 5)
            if _is_complex(dt):
                return complex(r.randint(-8, 8) / 4, r.randint(-8, 8) / 4)
            return r.randint(-16, 16) / 4

        def build(s):
            return [build(s[1:]) for _ in range(s[0])] if s else one()
        return build(list(shape))

    def literal(self, shape, dt, requires_grad=False):
        rg = ", requires_grad=True" if requires_grad else ""
        return f"torch.tensor({self.values(shape, dt)!r}, dtype=torch.{dt}{rg})"

    def rand_shape(self, max_dims=3):
        nd = self.r.choice([0, 1, 1, 2, 2, 2, 3, 3][: 3 + 2 * max_dims])
        return [self.r.randint(1, 4) for _ in range(nd)]

    def bshape(self, shape):
        """A shape that broadcasts to ``shape`` (a suffix, some dims made 1)."""
        k = self.r.randint(0, len(shape))
        return [1 if self.r.random() < 0.3 else s for s in shape[len(shape) - k:]]

    def operand(self, shape, dt, allow_var=True):
        """Source of a tensor broadcastable to ``shape``: an existing variable or a literal."""
        r = self.r
        if allow_var and r.random() < 0.5:
            k, _ = self.pick(lambda v: _broadcasts(tuple(v.shape), tuple(shape)))
            if k is not None:
                return k
        return self.literal(self.bshape(shape), dt)

    def dim(self, v, allow_neg=True):
        nd = max(v.dim(), 1)
        d = self.r.randrange(nd)
        return d - nd if allow_neg and self.r.random() < 0.3 else d

    # ---- running candidate lines ---------------------------------------------------------
    def attempt(self, line, keep_error=0.15):
        """Run ``line`` in the torch namespace; keep it if it ran (or, rarely, if it raised)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(line, self.ns)
        except Exception:  # noqa: BLE001 (a rejected line is compared by exception type)
            if self.r.random() < keep_error:
                self.lines.append(line)
                return True
            self.ns = self._fresh_ns()  # the failed line may have changed state: replay the kept ones
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for ln in self.lines:
                    try:
                        exec(ln, self.ns)
                    except Exception:  # noqa: BLE001
                        pass
            return False
        self.lines.append(line)
        return True

    def build(self):
        r = self.r
        for _ in range(r.randint(1, 3)):
            self.attempt(self.make_leaf(), keep_error=0)
        tries = 0
        while len(self.lines) < self.n_lines and tries < 200:
            tries += 1
            kind = r.choices(["leaf", "view", "inplace", "outofplace", "grad", "numpy"], [1, 5, 5, 4, 1.5, 0.7])[0]
            try:
                line = getattr(self, "gen_" + kind)()
            except (ValueError, IndexError):  # (a choice over an empty dim)
                line = None
            if line:
                self.attempt(line)
        self.attempt(self.gen_backward(), keep_error=1)
        return self.lines

    # ---- line generators -----------------------------------------------------------------
    def make_leaf(self):
        r = self.r
        dt = r.choice(DTYPES)
        shape = self.rand_shape()
        n = self.name()
        if r.random() < 0.25 and dt != "bool":
            numel = int(np.prod(shape)) if shape else 1
            return f"{n} = torch.arange({numel}, dtype=torch.{dt}).reshape({tuple(shape)!r})"
        rg = (_is_float(dt) or _is_complex(dt)) and r.random() < 0.6
        return f"{n} = {self.literal(shape, dt, rg)}"

    def gen_leaf(self):
        return self.make_leaf()

    def gen_view(self):
        r = self.r
        k, v = self.pick()
        if k is None:
            return None
        n = self.name()
        shape = list(v.shape)
        nd = len(shape)
        dt = _dt(v)
        ops = ["slice", "select", "view", "reshape", "transpose", "permute", "expand", "unfold",
               "diagonal", "as_strided", "narrow", "split", "chunk", "unbind", "squeeze",
               "unsqueeze", "flatten", "detach", "data", "t", "movedim", "index", "mask"]
        if _is_complex(dt):
            ops += ["real", "imag", "view_as_real"] * 3
        if dt in ("float32", "float64") and shape and shape[-1] == 2:
            ops += ["view_as_complex"] * 2
        op = r.choice(ops)
        if op == "slice":
            if nd == 0:
                return f"{n} = {k}[...]"
            parts = []
            for d in range(r.randint(1, nd)):
                s = shape[d]
                c = r.random()
                if c < 0.2:
                    parts.append(str(r.randint(-s, s - 1)))
                elif c < 0.27:
                    parts.append("None")
                elif c < 0.3:
                    parts.append("...")
                else:
                    a = r.choice(["", str(r.randint(-s, s))])
                    b = r.choice(["", str(r.randint(-s, s + 1))])
                    st = r.choice(["", "", ":2", ":3", ":1"]) if r.random() > 0.02 else ":-1"
                    parts.append(f"{a}:{b}{st}")
            return f"{n} = {k}[{', '.join(parts)}]"
        if op == "select":
            if nd == 0:
                return None
            d = self.dim(v)
            return f"{n} = {k}.select({d}, {r.randint(-shape[d], shape[d] - 1 + (r.random() < 0.05))})"
        if op in ("view", "reshape"):
            new = _factor(int(np.prod(shape)) if shape else 1, r)
            if new and r.random() < 0.3:
                new[r.randrange(len(new))] = -1
            return f"{n} = {k}.{op}({tuple(new)!r})"
        if op == "transpose":
            return f"{n} = {k}.transpose({self.dim(v)}, {self.dim(v)})" if nd else None
        if op == "permute":
            p = list(range(nd))
            r.shuffle(p)
            return f"{n} = {k}.permute({tuple(p)!r})"
        if op == "t":
            return f"{n} = {k}.t()" if nd <= 2 else f"{n} = {k}.mT"
        if op == "expand":
            new = [r.randint(1, 3) if s == 1 else (-1 if r.random() < 0.3 else s) for s in shape]
            new = [r.randint(1, 3) for _ in range(r.choice([0, 0, 1]))] + new
            return f"{n} = {k}.expand({tuple(new)!r})"
        if op == "unfold":
            if nd == 0:
                return None
            d = self.dim(v)
            return f"{n} = {k}.unfold({d}, {r.randint(1, shape[d])}, {r.randint(1, 2)})"
        if op == "diagonal":
            if nd < 2:
                return None
            d1, d2 = r.sample(range(nd), 2)
            return f"{n} = {k}.diagonal({r.randint(-1, 1)}, {d1}, {d2})"
        if op == "as_strided":
            if v.requires_grad and v._base is not None:
                return None  # (a documented difference: jtorch sends its gradient to the view's base)
            total = v.untyped_storage().nbytes() // max(v.element_size(), 1)
            if total == 0:
                return None
            size = [r.randint(1, 3) for _ in range(r.randint(1, 2))]
            stride = [r.randint(0, 3) for _ in size]
            span = sum((s - 1) * st for s, st in zip(size, stride))
            if span >= total:
                return None
            off = r.randint(0, total - 1 - span)
            return f"{n} = {k}.as_strided({tuple(size)!r}, {tuple(stride)!r}, {off})"
        if op == "narrow":
            if nd == 0:
                return None
            d = self.dim(v)
            st = r.randint(0, shape[d] - 1)
            return f"{n} = {k}.narrow({d}, {st}, {r.randint(0, shape[d] - st)})"
        if op in ("split", "chunk", "unbind"):
            if nd == 0:
                return None
            d = self.dim(v)
            arg = r.randint(1, 3)
            call = (f"{k}.split({arg}, {d})" if op == "split" else
                    f"{k}.chunk({arg}, {d})" if op == "chunk" else f"{k}.unbind({d})")
            try:
                cnt = len(eval(call, self.ns))
            except Exception:  # noqa: BLE001
                return None
            if cnt > 4:
                return None
            names = [n] + [self.name() for _ in range(cnt - 1)]
            return f"{', '.join(names)}{',' if cnt == 1 else ''} = {call}"
        if op == "squeeze":
            return f"{n} = {k}.squeeze({self.dim(v) if nd and r.random() < 0.6 else ''})"
        if op == "unsqueeze":
            return f"{n} = {k}.unsqueeze({r.randint(-nd - 1, nd)})"
        if op == "flatten":
            return f"{n} = {k}.flatten({r.randint(0, max(nd - 1, 0))})"
        if op == "detach":
            return f"{n} = {k}.detach()"
        if op == "data":
            return f"{n} = {k}.data"
        if op == "movedim":
            return f"{n} = {k}.movedim({self.dim(v)}, {self.dim(v)})" if nd else None
        if op == "index":  # advanced indexing: a copy
            if nd == 0:
                return None
            idx = [r.randint(-shape[0], shape[0] - 1) for _ in range(r.randint(1, 3))]
            return f"{n} = {k}[torch.tensor({idx!r})]"
        if op == "mask":
            return f"{n} = {k}[{self.literal(shape[:r.randint(0, nd)], 'bool')}]"
        if op in ("real", "imag"):
            return f"{n} = {k}.{op}"
        if op == "view_as_real":
            return f"{n} = torch.view_as_real({k})"
        if op == "view_as_complex":
            return f"{n} = torch.view_as_complex({k})"
        return None

    def gen_inplace(self):
        r = self.r
        k, v = self.pick()
        if k is None:
            return None
        shape = list(v.shape)
        nd = len(shape)
        dt = _dt(v)
        target = k
        c = r.random()
        if c < 0.08:
            target = f"{k}.data"
        elif c < 0.14:
            target = f"{k}.detach()"
        op = r.choice(["arith", "arith", "arith", "copy", "fill", "zero", "clamp", "setitem",
                       "setitem", "index_put", "masked_fill", "scatter", "unary", "index_fill"])
        # elements sharing memory: torch writes them one by one (an add twice, the last index_put wins), jtorch
        # computes the result then stores it; where torch raises (a stride-0 dim) the ops that raise are kept
        overlap = _overlap(v)
        if overlap == "other" and op not in ("fill", "zero") or \
                overlap == "expanded" and op in ("setitem", "index_put", "masked_fill", "index_fill"):
            return None
        if op == "arith":
            f = r.choice(["add_", "sub_", "mul_", "div_"])
            other = self.scalar(dt) if r.random() < 0.5 else self.operand(shape, r.choice([dt, dt, *DTYPES]))
            alpha = f", alpha={r.randint(-2, 2)}" if f in ("add_", "sub_") and r.random() < 0.2 else ""
            line = f"{target}.{f}({other}{alpha})"
        elif op == "copy":
            line = f"{target}.copy_({self.operand(shape, r.choice([dt, *DTYPES]))})"
        elif op == "fill":
            line = f"{target}.fill_({self.scalar(dt)})"
        elif op == "zero":
            line = f"{target}.zero_()"
        elif op == "clamp":
            lo = r.randint(-8, 2) / 4
            line = f"{target}.clamp_({lo}, {lo + r.randint(0, 8) / 4})" if r.random() < 0.7 else \
                f"{target}.clamp_(min={lo})"
        elif op == "unary":
            line = f"{target}.{r.choice(['neg_', 'abs_', 'sigmoid_', 'exp_', 'relu_', 'sqrt_', 'floor_'])}()"
        elif op == "setitem":
            if nd == 0:
                idx = "..."
                sub = []
            else:
                kind = r.choice(["int", "slice", "bool", "tensor", "tensor2"])
                s0 = shape[0]
                if kind == "int":
                    idx, sub = str(r.randint(-s0, s0 - 1)), shape[1:]
                elif kind == "slice":
                    a, step = r.randint(0, s0 - 1), r.randint(1, 2)
                    idx = f"{a}::{step}" if nd == 1 else f"{a}::{step}, {r.randint(0, shape[1] - 1)}"
                    sub = [len(range(a, s0, step))] + shape[2:]
                elif kind == "bool":
                    m = self.values(shape[:1], "bool")
                    idx, sub = f"torch.tensor({m!r})", [sum(m)] + shape[1:]
                elif kind == "tensor":
                    ii = [r.randint(-s0, s0 - 1) for _ in range(r.randint(1, 3))]
                    idx, sub = f"torch.tensor({ii!r})", [len(ii)] + shape[1:]
                else:
                    ii = [r.randint(0, s0 - 1) for _ in range(2)]
                    jj = [r.randint(0, shape[-1] - 1) for _ in range(2)]
                    idx = f"torch.tensor({ii!r}), ..., torch.tensor({jj!r})" if nd > 1 else f"torch.tensor({ii!r})"
                    sub = [2] + (shape[1:-1] if nd > 1 else [])
            val = self.scalar(dt) if r.random() < 0.5 else self.operand(sub, r.choice([dt, dt, *DTYPES]), allow_var=False)
            line = f"{target}[{idx}] = {val}"
        elif op == "index_put":
            if nd == 0:
                return None
            ii = [r.randint(0, shape[0] - 1) for _ in range(r.randint(1, 3))]
            vals = self.literal([len(ii)] + shape[1:], dt)
            line = f"{target}.index_put_((torch.tensor({ii!r}),), {vals}, accumulate={r.random() < 0.5})"
        elif op == "masked_fill":
            line = f"{target}.masked_fill_({self.literal(self.bshape(shape), 'bool')}, {self.scalar(dt)})"
        elif op == "scatter":
            if nd == 0:
                return None
            d = self.dim(v)
            ishape = [r.randint(1, s) for s in shape]
            idx = [[0]] if False else None
            idx = np.array([r.randint(0, shape[d] - 1) for _ in range(int(np.prod(ishape)))]).reshape(ishape)
            if r.random() < 0.5:
                line = f"{target}.scatter_({d}, torch.tensor({idx.tolist()!r}), {self.scalar(dt)})"
            else:
                f = r.choice(["scatter_", "scatter_add_"])
                line = f"{target}.{f}({d}, torch.tensor({idx.tolist()!r}), {self.literal(ishape, dt)})"
        elif op == "index_fill":
            if nd == 0:
                return None
            d = self.dim(v)
            ii = [r.randint(0, shape[d] - 1) for _ in range(r.randint(1, 2))]
            line = f"{target}.index_fill_({d}, torch.tensor({ii!r}), {self.scalar(dt)})"
        else:
            return None
        if r.random() < 0.1:
            line = f"with torch.no_grad(): {line}"
        elif r.random() < 0.1 and not line.startswith(target + "["):
            line = f"{self.name()} = {line}"
        return line

    def gen_outofplace(self):
        r = self.r
        k, v = self.pick()
        if k is None:
            return None
        shape = list(v.shape)
        nd = len(shape)
        dt = _dt(v)
        n = self.name()
        op = r.choice(["binop", "binop", "binop", "rbinop", "fn2", "unary", "unary", "reduce", "cast",
                       "clone", "matmul", "cat", "where", "cmp"])
        if op in ("binop", "rbinop"):
            sym = r.choice(["+", "-", "*", "/", "**", "//", "%"] if r.random() < 0.3 else ["+", "-", "*", "/"])
            other = self.scalar(dt) if r.random() < 0.4 else self.operand(shape, r.choice([dt, *DTYPES]))
            if sym == "**" and other.startswith("torch") is False and r.random() < 0.7:
                other = str(r.randint(0, 3))
            return f"{n} = {k} {sym} {other}" if op == "binop" else f"{n} = {other} {sym} {k}"
        if op == "fn2":
            f = r.choice(["add", "mul", "sub", "maximum", "minimum", "atan2", "true_divide", "logical_and",
                          "bitwise_and", "hypot", "fmod"])
            return f"{n} = torch.{f}({k}, {self.operand(shape, r.choice([dt, *DTYPES]))})"
        if op == "cmp":
            sym = r.choice(["<", "<=", "==", "!=", ">"])
            return f"{n} = {k} {sym} {self.operand(shape, r.choice([dt, *DTYPES])) if r.random() < 0.6 else self.scalar(dt)}"
        if op == "unary":
            f = r.choice(["neg", "abs", "exp", "sin", "sigmoid", "relu", "tanh", "sign", "square",
                          "sqrt", "reciprocal", "floor", "sgn", "cumsum", "softmax", "logsumexp",
                          "flip", "roll", "tril", "nonzero", "sort"])
            if f in ("cumsum", "softmax", "logsumexp", "flip", "roll"):
                if nd == 0 and f in ("flip", "roll"):
                    return None
                d = self.dim(v) if nd else 0
                arg = {"flip": f"({d},)", "roll": f"1, {d}"}.get(f, str(d))
                return f"{n} = {k}.{f}({arg})"
            if f == "sort":
                return f"{n} = {k}.sort({self.dim(v) if nd else 0}).values"
            return f"{n} = {k}.{f}()"
        if op == "reduce":
            f = r.choice(["sum", "mean", "prod", "amax", "std", "norm", "max"])
            if nd and r.random() < 0.6:
                return f"{n} = {k}.{f}({self.dim(v)}{', keepdim=True' if r.random() < 0.4 else ''})" + \
                    (".values" if f == "max" else "")
            return f"{n} = {k}.{f}()"
        if op == "cast":
            if r.random() < 0.5:
                return f"{n} = {k}.to(torch.{r.choice(DTYPES)})"
            return f"{n} = {k}.{r.choice(['float', 'double', 'long', 'int', 'bool', 'cfloat'])}()"
        if op == "clone":
            return f"{n} = {k}.{r.choice(['clone', 'contiguous'])}()"
        if op == "matmul":
            if nd == 0:
                return None
            # (no 1-D @ 2-D: torch's result has _version 1 there, an artifact of its kernel's squeeze_)
            kk, _ = self.pick(lambda u: u.dim() >= 1 and u.shape[0] == shape[-1] and _dt(u) == dt and
                              (nd > 1 or u.dim() != 2))
            if kk is None or kk == k and nd != 2:
                other = self.literal([shape[-1], r.randint(1, 3)] if nd > 1 and r.random() < 0.7 else [shape[-1]], dt)
            else:
                other = kk
            return f"{n} = {k} @ {other}"
        if op == "cat":
            kk, _ = self.pick(lambda u: tuple(u.shape) == tuple(shape))
            f = r.choice(["cat", "stack"])
            d = self.dim(v) if nd else 0
            return f"{n} = torch.{f}([{k}, {kk or k}], {d})"
        if op == "where":
            return f"{n} = torch.where({self.literal(self.bshape(shape), 'bool')}, {k}, {self.operand(shape, dt)})"
        return None

    def gen_numpy(self):
        """``.numpy()`` (memory shared both ways) of a tensor, or a write through such an array."""
        r = self.r
        arrays = [k for k, v in self.ns.items() if k.startswith("n") and isinstance(v, np.ndarray)]
        if arrays and r.random() < 0.5:
            k = r.choice(arrays)
            if self.ns[k].ndim == 0 or self.ns[k].size == 0:
                return f"{k}[...] = {r.randint(-3, 3)}"
            return f"{k}[{r.randrange(self.ns[k].shape[0])}] = {r.randint(-3, 3)}"
        k, v = self.pick(lambda u: not u.dtype.is_complex)
        if k is None:
            return None
        return f"{self.name('n')} = {k}{'.detach()' if v.requires_grad else ''}.numpy()"

    def gen_grad(self):
        r = self.r
        k, v = self.pick(lambda u: u.dtype.is_floating_point or u.dtype.is_complex)
        if k is None:
            return None
        op = r.choice(["retain", "hook", "hook_mod", "requires_grad", "requires_grad", "detach_"])
        if op == "retain":
            return f"{k}.retain_grad()"
        if op in ("hook", "hook_mod") and v._base is not None:
            return None  # (torch drops a view's hooks when a write through its base remakes its grad_fn)
        if op == "hook":
            h = self.name("h")
            return f"{h} = []; {k}.register_hook(lambda g: {h}.append(g.clone()))"
        if op == "hook_mod":
            return f"{k}.register_hook(lambda g: g * {r.randint(-2, 3)})"
        # requires_grad_() and detach_() only on a base no other variable aliases: torch reports a view made
        # before its base's requires_grad_() as requiring grad yet sends no gradient through it (jtorch: False),
        # remakes a leaf view's grad_fn from its own base after a write, and refuses views of a detached base
        ptr = v.untyped_storage().data_ptr()
        if op in ("requires_grad", "detach_") and (v._base is not None or any(
                u is not v and u.untyped_storage().data_ptr() == ptr for _, u in self.tensors())):
            return None
        if op == "requires_grad":
            return f"{k}.requires_grad_()"
        return f"{k}.detach_()"

    def gen_backward(self):
        r = self.r
        terms = []
        for k, v in self.tensors():
            if v.requires_grad and (v.dtype.is_floating_point or v.dtype.is_complex) and r.random() < 0.7:
                w = self.values(list(v.shape), "float32")
                # (an empty one: torch's view_as_real backward refuses the stride-0 gradient of its sum)
                expr = f"{k}.abs()" if v.dtype.is_complex and (not v.numel() or r.random() < 0.5) else (
                    f"torch.view_as_real({k}).sum(-1)" if v.dtype.is_complex else k)
                terms.append(f"({expr} * torch.tensor({w!r})).sum()")
        if not terms:
            return "pass"
        return f"loss = {' + '.join(terms[:4])}; loss.backward()"


def _overlap(t):
    """None, "expanded" (a dim of size > 1 and stride 0) or "other" (elements sharing memory otherwise)."""
    if t.numel() <= 1:
        return None
    if any(n > 1 and s == 0 for n, s in zip(t.shape, t.stride())):
        return "expanded"
    pos = np.zeros(1, np.int64)
    for n, s in zip(t.shape, t.stride()):
        pos = (pos[:, None] + np.arange(n) * s).ravel()
    return "other" if len(np.unique(pos)) < len(pos) else None


def _broadcasts(src, dst):
    if len(src) > len(dst):
        return False
    return all(a == 1 or a == b for a, b in zip(src[::-1], dst[::-1]))


def _factor(n, r):
    """A random shape with ``n`` elements."""
    out = []
    rest = n
    while rest > 1 and len(out) < 3:
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        d = r.choice(divs)
        out.append(d)
        rest //= d
    if rest > 1:
        out.append(rest)
    if r.random() < 0.2:
        out.insert(r.randint(0, len(out)), 1)
    return out


def generate(seed, n_lines=14):
    return Generator(seed, n_lines).build()


# ---- running and comparing ---------------------------------------------------------------------

_ASSIGNED = re.compile(r"^\s*([A-Za-z_][\w, ]*?)\s*=(?!=)")


def _targets(line):
    m = _ASSIGNED.match(line)
    if not m:
        return []
    return [s.strip() for s in m.group(1).split(",") if s.strip()]


def _np(t):
    """The values as a numpy copy; for jtorch through ``np.asarray``, which (unlike ``.numpy()``) does not
    make the storage share a numpy buffer: reading must not change what is read (programs do that with
    their own ``.numpy()`` lines)."""
    t = t.detach()
    if type(t).__module__.startswith("torch"):
        return np.array(t.resolve_conj().resolve_neg().cpu().numpy())
    return np.array(np.asarray(t))


def snap(t, lib):
    """The observable facts of one tensor (plain Python values)."""
    rec = {
        # (strides of an empty tensor and of size-1 dims are arbitrary in torch: left out)
        "dtype": _dt(t), "shape": tuple(t.shape),
        "stride": tuple(s if n > 1 else None for n, s in zip(t.shape, t.stride())) if t.numel() else None,
        "storage_offset": t.storage_offset(), "is_contiguous": t.is_contiguous(),
        "_version": t._version, "requires_grad": t.requires_grad, "is_leaf": t.is_leaf,
        "has_grad_fn": t.grad_fn is not None, "value": _np(t),
    }
    if t.is_leaf or t.retains_grad:
        g = t.grad
        rec["grad"] = None if g is None else (tuple(g.shape), _dt(g), _np(g))
    return rec


def _storage_groups(ns, lib):
    """For each tensor variable, the first variable sharing its storage (empty storages left out)."""
    firsts, out = {}, {}
    for k, v in ns.items():
        if isinstance(v, lib.Tensor) and v.untyped_storage().nbytes() > 0:
            p = v.untyped_storage().data_ptr()
            out[k] = firsts.setdefault(p, k)
    return out


def run(lines, lib, eager=False):
    """Run the program with ``torch`` bound to ``lib``: one record per line."""
    ns = {"torch": lib}
    records = []
    for i, line in enumerate(lines):
        err = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(line, ns)
        except Exception as e:  # noqa: BLE001 (compared by type)
            err = type(e).__name__
        last = i == len(lines) - 1
        names = [k for k, v in ns.items() if isinstance(v, lib.Tensor)] if (eager or last) else \
            [k for k in _targets(line) if isinstance(ns.get(k), lib.Tensor)]
        snaps = {}
        for k in names:
            try:
                snaps[k] = snap(ns[k], lib)
            except Exception as e:  # noqa: BLE001
                snaps[k] = {"snapshot_error": type(e).__name__}
        hooks = {k: [_np(g) for g in v] for k, v in ns.items() if k.startswith("h") and isinstance(v, list)} \
            if (eager or last) else {}
        if eager or last:  # the arrays of ``.numpy()`` lines: memory shared with their tensors
            hooks.update({k: [np.array(v)] for k, v in ns.items() if k.startswith("n") and isinstance(v, np.ndarray)})
        groups = _storage_groups(ns, lib) if (eager or last) else None
        records.append({"error": err, "snaps": snaps, "hooks": hooks, "groups": groups})
    return records


def _values_equal(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
        return np.array_equal(a, b)
    return np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)


def compare(rt, rj):
    """The first difference between torch's records ``rt`` and jtorch's ``rj``: (line, field, detail) or None."""
    for i, (a, b) in enumerate(zip(rt, rj)):
        if a["error"] != b["error"]:
            return i, "error", (a["error"], b["error"])
        # (a backward that raised in both may have reached some leaves first, in another order)
        raised = a["error"] is not None
        if a["groups"] != b["groups"]:
            return i, "storage_sharing", (a["groups"], b["groups"])
        for k, sa in a["snaps"].items():
            sb = b["snaps"].get(k)
            if sb is None:
                return i, "missing", k
            for f, va in sa.items():
                if raised and f == "grad":
                    continue
                vb = sb.get(f, "<absent>")
                if f == "value":
                    same = isinstance(vb, np.ndarray) and _values_equal(va, vb)
                elif f == "grad" and va is not None and vb is not None and vb != "<absent>":
                    same = va[:2] == vb[:2] and _values_equal(va[2], vb[2])
                else:
                    same = va == vb if not isinstance(va, np.ndarray) else False
                if not same:
                    return i, f, (k, va, vb)
        for k, ha in a["hooks"].items():
            hb = b["hooks"].get(k)
            if hb is None or len(ha) != len(hb) or not all(_values_equal(x, y) for x, y in zip(ha, hb)):
                return i, "hook", (k, ha, hb)
    return None


def check(lines, eager=False):
    import torch

    import jtorch
    return compare(run(lines, torch, eager), run(lines, jtorch, eager))


def minimise(lines, eager=False, field=None):
    """Delete lines while a difference of the same field stays."""
    first = check(lines, eager)
    if first is None:
        return lines
    field = field or first[1]
    cur = list(lines)
    changed = True
    while changed:
        changed = False
        for i in range(len(cur) - 1, -1, -1):
            cand = cur[:i] + cur[i + 1:]
            if not cand:
                continue
            try:
                res = check(cand, eager)
            except Exception:  # noqa: BLE001
                continue
            if res is not None and res[1] == field:
                cur = cand
                changed = True
    return cur
