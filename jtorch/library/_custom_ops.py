"""Custom operators: the kernels registered for each operator overload and how a call picks one.

An operator overload (``OpEntry``) has a schema and kernels by slot: a device type (``cpu``/``cuda``),
``default`` (every device), ``implicit`` (CompositeImplicitAutograd: written in differentiable jtorch ops,
also serves meta tensors), ``autograd`` (handles gradients itself) and ``fake`` (shapes only: meta tensors
and tracing). A call binds its arguments to the schema (torch's checks), then:

- meta inputs run the fake kernel;
- operators made by ``custom_op`` run their kernel below autograd (inputs detached, grad off, so the
  body may call ``.numpy()``); gradients come from ``register_autograd`` through an autograd Function
  (``GeneratedBackwardFor_<ns>_<name>_<overload>``), or backward raises torch's error when none is registered;
- under ``jtorch.compile`` (tensor values are jax tracers) a kernel with a fake registered runs as a
  ``jax.pure_callback``: the fake gives the result shapes, the real kernel runs on host values when the
  compiled program runs, so an opaque (numpy) body stays in the one XLA program. Without a fake the
  kernel is traced as ordinary jtorch code; a body that needs concrete values makes compile fall back to
  eager for that function (a graph break), as for any untraceable code.
"""
import jax
import numpy as np

from .. import _dispatch
from .._dispatch import GRAD
from ._schema import bind
from ._torch_dispatch import python_dispatch, _NOT_CLAIMED

# dispatch keys -> kernel slots
_SLOTS = {"cpu": "cpu", "CPU": "cpu", "cuda": "cuda", "CUDA": "cuda", "Meta": "fake", "meta": "fake",
          "default": "default", "CompositeExplicitAutograd": "default", "": "implicit",
          "CompositeImplicitAutograd": "implicit", "Autograd": "autograd", "AutogradCPU": "autograd",
          "AutogradCUDA": "autograd"}

ENTRIES = {}  # "ns::name.overload" (overload '' for default) -> OpEntry


def slot(dispatch_key):
    try:
        return _SLOTS[dispatch_key]
    except KeyError:
        raise RuntimeError(f"could not parse dispatch key: {dispatch_key}") from None


class OpEntry:
    """One operator overload: schema, kernels, fake, autograd formula."""

    def __init__(self, schema, custom, tags=()):
        from .._ops_namespace import OpOverload, packet
        self.schema = schema
        self.custom = custom          # made by custom_op (kernel runs below autograd; outputs may not alias inputs)
        self.kernels = {}
        self.autograd = None          # (backward, setup_context)
        self.vmap = None              # register_vmap's rule
        self.autocast = {}            # register_autocast: device type -> the dtype its inputs are cast to
        self.fn_cls = None
        self.opdef = None             # the CustomOpDef, for messages
        ns, name = schema.name.split("::")
        pk = packet(ns, name)
        self.overload = OpOverload(pk, schema.overload_name, schema, self, tags)
        pk._add(self.overload)

    @property
    def key(self):
        s = self.schema
        return s.name + ("." + s.overload_name if s.overload_name else "")

    def __call__(self, *args, **kwargs):
        return call(self, args, kwargs)

    def reset(self, schema):
        """A custom_op defined again under the same name: the old definition goes (as in torch)."""
        self.schema = self.overload._schema = schema
        self.kernels, self.autograd, self.vmap, self.fn_cls, self.autocast = {}, None, None, None, {}


def lookup(qualname):
    """The entry for ``ns::name`` or ``ns::name.overload``, or None."""
    if qualname.endswith(".default"):
        qualname = qualname[:-len(".default")]
    return ENTRIES.get(qualname)


# ---------------------------------------------------------------- calling
def _leaves(vals):
    T = _dispatch.Tensor
    for v in vals:
        if isinstance(v, T):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from (x for x in v if isinstance(x, T))


def invoke(fn, schema, vals):
    """``fn`` called with schema-ordered ``vals``: positional arguments by position, keyword-only by name."""
    args, kwargs = [], {}
    for a, v in zip(schema.arguments, vals):
        if a.kwarg_only:
            kwargs[a.name] = v
        else:
            args.append(v)
    return fn(*args, **kwargs)


def _no_kernel(entry, backend):
    name = entry.key
    return NotImplementedError(
        f"Could not run '{name}' with arguments from the '{backend}' backend. This could be because the operator "
        f"doesn't exist for this backend. '{name}' is only available for these backends: "
        f"[{', '.join(sorted(k for k in entry.kernels))}].")


def _nothing(*args, **kwargs):
    return None


def fake_kernel(entry):
    """The registered fake; a custom op that returns nothing gets one that does nothing (as in torch)."""
    fake = entry.kernels.get("fake")
    fake = None if fake is fallthrough_kernel else fake
    if fake is None and entry.custom and not entry.schema.returns:
        return _nothing
    return fake


def fallthrough_kernel():
    """A kernel that is no kernel: registered for a dispatch key, calls skip that key (torch's fallthrough)."""
    raise NotImplementedError("fallthrough_kernel() should never be called.")


def _select(entry, tensors):
    """(kernel, kind): kind 'fake' for meta inputs, 'implicit' for a composite kernel, else 'backend'."""
    k = {s: f for s, f in entry.kernels.items() if f is not fallthrough_kernel}
    if any(t.is_meta for t in tensors):
        if fake_kernel(entry) is not None:
            return fake_kernel(entry), "fake"
        if "default" in k and not entry.custom:  # CompositeExplicitAutograd serves the Meta key too
            return k["default"], "backend"
        if "implicit" in k:
            return k["implicit"], "implicit"
        if entry.custom:
            raise RuntimeError(f"There was no fake impl registered for {entry.opdef!r}. This is necessary for "
                               "torch.compile/export/fx tracing to work. Please use "
                               f"`{entry.opdef._name}.register_fake` to add an fake impl.")
        raise _no_kernel(entry, "Meta")
    device = tensors[0].device.type if tensors else "cpu"
    for s in (device, "default"):
        if s in k:
            return k[s], "backend"
    if "implicit" in k:
        return k["implicit"], "implicit"
    fallback = FALLBACKS.get(device.upper())
    if fallback is not None and fallback[0] is not fallthrough_kernel:
        return _fallback_kernel(entry, device.upper(), *fallback), "backend"
    raise _no_kernel(entry, device.upper())


# ---------------------------------------------------------------- Library("_", "IMPL").fallback
FALLBACKS = {}  # dispatch key name -> (fn, with_keyset)
# the keys torch 2.13 itself holds a backend fallback for (registering another raises)
_TORCH_FALLBACKS = frozenset(
    "ADInplaceOrView AutocastCPU AutocastCUDA AutocastMPS AutocastXPU Autograd AutogradCPU AutogradCUDA AutogradHPU "
    "AutogradLazy AutogradMPS AutogradMeta AutogradOther AutogradXLA AutogradXPU BackendSelect "
    "CompositeExplicitAutograd CompositeExplicitAutogradNonFunctional CompositeImplicitAutograd Conjugate "
    "FuncTorchBatched FuncTorchBatchedDecomposition FuncTorchDynamicLayerBackMode FuncTorchDynamicLayerFrontMode "
    "FuncTorchGradWrapper FuncTorchVmapMode Functionalize Meta Negative PreDispatch Python PythonDispatcher "
    "PythonTLSSnapshot ZeroTensor".split())
# the other keys a fallback may be registered for (runtime backend keys and their functionality keys)
_FALLBACK_KEYS = frozenset(
    "AutocastHPU AutocastIPU AutocastPrivateUse1 AutogradFunctionality AutogradIPU AutogradNestedTensor "
    "AutogradPrivateUse1 AutogradPrivateUse2 AutogradPrivateUse3 CPU CUDA CompositeImplicitAutogradNestedTensor Dense "
    "HIP HPU IPU Lazy MAIA MPS MTIA NestedTensor NestedTensorCPU NestedTensorCUDA NestedTensorHPU NestedTensorMeta "
    "NestedTensorPrivateUse1 NestedTensorXPU PrivateUse1 PrivateUse2 PrivateUse3 Quantized QuantizedCPU QuantizedCUDA "
    "QuantizedPrivateUse1 QuantizedXPU Sparse SparseCPU SparseCUDA SparseCsr SparseCsrCPU SparseCsrCUDA SparseCsrHIP "
    "SparseCsrMPS SparseCsrMeta SparseCsrPrivateUse1 SparseCsrVE SparseCsrXPU SparseHIP SparseMPS SparseMeta "
    "SparsePrivateUse1 SparseVE SparseXPU VE XLA XPU".split())


def register_fallback(key, fn, with_keyset):
    if key in _TORCH_FALLBACKS or key in FALLBACKS:
        raise RuntimeError(f"Tried to register multiple backend fallbacks for the same dispatch key {key}; previous "
                           "registration registered at " + ("torch" if key in _TORCH_FALLBACKS else "a Library") +
                           ", new registration registered at a Library")
    if key not in _FALLBACK_KEYS:
        raise RuntimeError(f"could not parse dispatch key: {key}")
    FALLBACKS[key] = (fn, with_keyset)


def drop_fallback(key, fn):
    if FALLBACKS.get(key, (None,))[0] is fn:
        del FALLBACKS[key]


def _fallback_kernel(entry, key, fn, with_keyset):
    """The kernel a fallback gives an operator without one: ``fn(op, [keyset,] *args, **kwargs)``."""
    from .._dispatch_keys import DispatchKeySet
    if with_keyset:
        return lambda *args, **kwargs: fn(entry.overload, DispatchKeySet(key), *args, **kwargs)
    return lambda *args, **kwargs: fn(entry.overload, *args, **kwargs)


class DataDependentSize(RuntimeError):
    """A fake kernel asked for a size only the data decides (``get_ctx().new_dynamic_size()``)."""


class FakeImplCtx:
    """What ``torch.library.get_ctx()`` gives a fake kernel. jtorch's fakes run on meta tensors (eager) and
    under jax tracing, where every size is static: a data-dependent size cannot be made, so asking for one
    raises (eager: torch's meta-tensor error; jtorch.compile: the function falls back to eager)."""

    def new_dynamic_size(self, *, min=0, max=None):
        op = _FAKE_RUNNING[-1] if _FAKE_RUNNING else "this operator"
        raise DataDependentSize(
            f"{op}: You're trying to run this operator with meta Tensors (as opposed to FakeTensors), but this "
            "operator may return an output Tensor with data-dependent shape. Meta Tensors don't support operators "
            "with outputs that have data-dependent shapes but FakeTensors do. If your operator does not return an "
            "output with data-dependent shape, make sure the FakeTensor and/or meta kernel does not call "
            "torch.library.get_ctx(). Otherwise, please use FakeTensors.")

    new_data_dependent_symint = new_dynamic_size


_FAKE_RUNNING = []  # names of the ops whose fake kernel is running (for get_ctx's message)


def run_fake(entry, fake, vals):
    _FAKE_RUNNING.append(entry.key)
    try:
        return invoke(fake, entry.schema, vals)
    finally:
        _FAKE_RUNNING.pop()


def call(entry, args, kwargs):
    vals = bind(entry.schema, args, kwargs)
    if entry.autocast:
        from ..amp import autocast_mode as A
        dev = next((d for d in entry.autocast if d in A._ACTIVE), None)
        if dev is not None:  # register_autocast: floating inputs cast, the op runs with autocast off
            vals = [A._cast_to(v, dev, entry.autocast[dev]) for v in vals]
            with A.autocast(dev, enabled=False):
                return _call(entry, vals)
    return _call(entry, vals)


def _call(entry, vals):
    schema = entry.schema
    if entry.kernels.get("autograd", fallthrough_kernel) is not fallthrough_kernel:
        return invoke(entry.kernels["autograd"], schema, vals)
    tensors = list(_leaves(vals))
    kernel, kind = _select(entry, tensors)
    if not entry.custom and kind != "implicit":  # (custom ops: below autograd, in run_below_autograd)
        out = python_dispatch(entry, vals, tensors)
        if out is not _NOT_CLAIMED:
            return out
    if kind == "fake" and not entry.custom:
        return run_fake(entry, kernel, vals)
    needs_grad = GRAD.enabled and any(t.requires_grad for t in tensors)
    if kind == "implicit" or not entry.custom and entry.autograd is None:
        if kind == "backend" and not needs_grad and fake_kernel(entry) is not None:
            out = _as_callback(entry, kernel, vals)  # traced: an opaque kernel stays in the program
            if out is not _NOT_TRACED:
                return out
        return invoke(kernel, schema, vals)  # gradients flow through the kernel's own ops
    if needs_grad:
        return _apply_function(entry, vals)
    prev = GRAD.enabled
    GRAD.enabled = False
    try:
        return run_below_autograd(entry, vals)
    finally:
        GRAD.enabled = prev


def run_below_autograd(entry, vals):
    """The custom op's kernel on detached inputs (grad off): what torch runs below the Autograd key."""
    schema = entry.schema
    tensors = list(_leaves(vals))
    kernel, kind = _select(entry, tensors)
    out = python_dispatch(entry, vals, tensors)
    if out is not _NOT_CLAIMED:
        return out
    if kind == "backend" and fake_kernel(entry) is not None:
        out = _as_callback(entry, kernel, vals)
        if out is not _NOT_TRACED:
            return out
    T = _dispatch.Tensor

    def detach(v):
        if isinstance(v, T):
            return v.detach()
        if isinstance(v, (list, tuple)):
            return type(v)(detach(x) for x in v)
        return v

    detached = [detach(v) for v in vals]
    out = run_fake(entry, kernel, detached) if kind == "fake" else invoke(kernel, schema, detached)
    if kind == "backend" and entry.custom:
        _check_outputs(entry, tensors, out)
    return out


def _check_outputs(entry, tensors, out):
    T = _dispatch.Tensor
    outs = out if isinstance(out, (tuple, list)) else (out,)
    storages = {id(t._st) for t in tensors}
    seen = set()
    for o in outs:
        if isinstance(o, T):
            if id(o._st) in storages or id(o._st) in seen:
                raise RuntimeError(
                    f"{entry.opdef._name}: The output of this custom operator (1) must not also be an input to this "
                    "custom operator and (2) may not alias any inputs to this custom operator or other returns. The "
                    "most common way to trigger this error is if we have y = custom_op(x) and y and x are the same "
                    "Tensor. Please instead return a clone of the offending output tensor(s) (e.g. return x.clone()) "
                    "or refactor the custom operator to not return y.")
            seen.add(id(o._st))


# ---------------------------------------------------------------- autograd
def setup_context(entry, ctx, inputs, output):
    """The registered setup_context; keyword-only arguments come separately, by name (as in torch)."""
    if entry.autograd is None or entry.autograd[1] is None:
        return
    args = entry.schema.arguments
    n_pos = sum(1 for a in args if not a.kwarg_only)
    if n_pos == len(args):
        entry.autograd[1](ctx=ctx, inputs=tuple(inputs), output=output)
    else:
        kw = {a.name: v for a, v in zip(args[n_pos:], inputs[n_pos:])}
        entry.autograd[1](ctx=ctx, inputs=tuple(inputs[:n_pos]), keyword_only_inputs=kw, output=output)


def backward(entry, ctx, grads):
    """The registered backward: one gradient per schema argument (None for keyword-only ones)."""
    if entry.autograd is None:
        raise RuntimeError(f"Trying to backward through {entry.overload} but no autograd formula was "
                           "registered. Please use register_autograd to add one.")
    args = entry.schema.arguments
    n_pos = sum(1 for a in args if not a.kwarg_only)
    res = entry.autograd[0](ctx, *grads)
    res = res if isinstance(res, tuple) else (res,)
    if len(res) != n_pos:
        raise RuntimeError(f"{entry.overload}: the backward registered with register_autograd returned {len(res)} "
                           f"gradients; expected {n_pos} (one per positional input, None for the ones that are not "
                           "Tensors)")
    return res + (None,) * (len(args) - n_pos)


def _flatten_lists(out):
    """An op's result with its lists of tensors (``List[Tensor]`` returns) spread into one flat tuple, and
    the lengths that rebuild it (None: not a list). The autograd Function sees one output per tensor."""
    outs = out if isinstance(out, tuple) else (out,)
    flat, lengths = [], []
    for o in outs:
        if isinstance(o, list):
            flat.extend(o)
            lengths.append(len(o))
        else:
            flat.append(o)
            lengths.append(None)
    return tuple(flat), (lengths, isinstance(out, tuple))


def _unflatten_lists(flat, tree):
    lengths, was_tuple = tree
    it = iter(flat)
    outs = [[next(it) for _ in range(n)] if n is not None else next(it) for n in lengths]
    return tuple(outs) if was_tuple else outs[0]


def _apply_function(entry, vals):
    """The op on the eager tape through its autograd Function; list returns come back as lists."""
    res = _function(entry).apply(*vals)
    return _unflatten_lists(res if isinstance(res, tuple) else (res,), entry.out_tree)


def _function(entry):
    """The autograd Function class that carries this op's registered formula (eager tape). Its forward
    returns the result with lists spread (``_flatten_lists``); setup_context and backward see the lists."""
    if entry.fn_cls is None:
        from ..autograd.function import Function
        ns, name = entry.schema.name.split("::")
        cls_name = f"GeneratedBackwardFor_{ns}_{name}_{entry.overload._overloadname}"

        def forward(*vals):
            flat, entry.out_tree = _flatten_lists(run_below_autograd(entry, vals))
            return flat if entry.out_tree != ([None], False) else flat[0]  # (one tensor: as it came)

        def setup(ctx, inputs, output):
            ctx._out_tree = entry.out_tree
            output = _unflatten_lists(output if isinstance(output, tuple) else (output,), ctx._out_tree)
            setup_context(entry, ctx, inputs, output)

        def backward_(ctx, *grads):
            grads = _unflatten_lists(grads, ctx._out_tree)
            return backward(entry, ctx, grads if isinstance(grads, tuple) else (grads,))
        entry.fn_cls = type(Function)(cls_name, (Function,), {
            "forward": staticmethod(forward), "setup_context": staticmethod(setup),
            "backward": staticmethod(backward_)})
    return entry.fn_cls


# ---------------------------------------------------------------- tracing (jtorch.compile)
_NOT_TRACED = object()


def _as_callback(entry, kernel, vals):
    """Under a jax trace: the kernel as a ``jax.pure_callback`` whose result shapes come from the fake.
    Returns _NOT_TRACED when the inputs are concrete (or the results are not all tensors)."""
    T = _dispatch.Tensor
    tensors = list(_leaves(vals))
    arrays = [t._value for t in tensors]
    if not any(isinstance(a, jax.core.Tracer) for a in arrays):
        return _NOT_TRACED
    from .. import _meta
    schema = entry.schema

    def rebuild(make):
        it = iter(make)

        def one(v):
            if isinstance(v, T):
                return next(it)
            if isinstance(v, (list, tuple)):
                return type(v)(one(x) for x in v)
            return v
        return [one(v) for v in vals]

    metas = rebuild(_meta.empty(t.shape, t.dtype) for t in tensors)
    trace, _dispatch.TRACE = _dispatch.TRACE, None  # the fake reads only shapes: nothing for compile to record
    try:
        try:
            fake_out = run_fake(entry, fake_kernel(entry), metas)
        except DataDependentSize:
            # the result's shape depends on the data: not one XLA program (compile runs the function eagerly)
            raise jax.errors.ConcretizationTypeError(
                next(a for a in arrays if isinstance(a, jax.core.Tracer)),
                f"{entry.key} returns a tensor whose shape depends on its input data") from None
        multi = isinstance(fake_out, (tuple, list))
        fakes = list(fake_out) if multi else [] if fake_out is None and not schema.returns else [fake_out]
        if not all(isinstance(f, T) for f in fakes):
            return _NOT_TRACED
        fake_specs = [jax.ShapeDtypeStruct(tuple(f.shape), f.dtype.np) for f in fakes]
    finally:
        _dispatch.TRACE = trace
    written = [v for a, v in zip(schema.arguments, vals) if a.is_write and isinstance(v, T)]
    specs = tuple(fake_specs + [jax.ShapeDtypeStruct(tuple(t.shape), t.dtype.np) for t in written])
    n_out = len(fakes)

    def host(*arrs):
        import jtorch
        real = rebuild(jtorch.from_numpy(np.array(a)) for a in arrs)
        prev = GRAD.enabled
        GRAD.enabled = False
        try:
            out = invoke(kernel, schema, real)
        finally:
            GRAD.enabled = prev
        outs = list(out) if multi else [out] if fakes else []
        outs += [v for a, v in zip(schema.arguments, real) if a.is_write and isinstance(v, T)]
        return tuple(np.asarray(o.numpy(), dtype=s.dtype).reshape(s.shape) for o, s in zip(outs, specs))

    def opaque(*arrs):
        return jax.pure_callback(host, specs, *arrs, vmap_method="sequential")

    if entry.vmap is not None and not written:
        opaque = _batched(entry, opaque, vals, rebuild, multi, n_out)
    if entry.autograd is not None and not written:
        opaque = _differentiable(entry, opaque, vals, rebuild, multi, n_out)
    res = opaque(*arrays)
    for t, new in zip(written, res[n_out:]):
        t.copy_(T._wrap(new))
    outs = [T._wrap(r) for r in res[:n_out]]
    return type(fake_out)(outs) if multi else outs[0] if fakes else None


class VmapInfo:
    """What a ``register_vmap`` rule gets first: the batch size and the randomness mode."""

    def __init__(self, batch_size, randomness="error"):
        self.batch_size, self.randomness = batch_size, randomness


def _batched(entry, opaque, vals, rebuild, multi, n_out):
    """``opaque`` with the op's ``register_vmap`` rule as its JAX batching rule (jtorch.func.vmap calls the
    rule once on the whole batch instead of the kernel once per example). Batched inputs arrive with the
    batch at dim 0 (their in_dims entry is 0), as jax batches them."""
    from jax.custom_batching import custom_vmap
    T = _dispatch.Tensor
    schema = entry.schema
    f = custom_vmap(opaque)

    @f.def_vmap
    def rule(axis_size, in_batched, *arrs):
        inputs = rebuild(T._wrap(a) for a in arrs)
        flags = iter(in_batched)
        dims = []
        for v in inputs:
            if isinstance(v, T):
                dims.append(0 if next(flags) else None)
            elif isinstance(v, (list, tuple)):
                dims.append([0 if next(flags) else None for x in v if isinstance(x, T)])
            else:
                dims.append(None)
        pos = [(a, v, d) for a, v, d in zip(schema.arguments, inputs, dims) if not a.kwarg_only]
        kw = {a.name: v for a, v in zip(schema.arguments, inputs) if a.kwarg_only}
        out, out_dims = entry.vmap(VmapInfo(axis_size), tuple(d for _, _, d in pos), *[v for _, v, _ in pos], **kw)
        outs = list(out) if multi else [out]
        out_dims = list(out_dims) if isinstance(out_dims, (tuple, list)) else [out_dims] * len(outs)
        res = []
        for o, d in zip(outs[:n_out], out_dims):
            o = o.unsqueeze(0).expand(axis_size, *o.shape) if d is None else o.movedim(d, 0)
            res.append(o._value)
        return tuple(res), (True,) * len(res)

    return f


def _differentiable(entry, opaque, vals, rebuild, multi, n_out):
    """``opaque`` with the op's registered formula as its JAX VJP, so JAX transforms (jtorch.func.grad, vjp)
    differentiate through the callback as the eager tape does."""
    T = _dispatch.Tensor
    from ..autograd.function import FunctionCtx

    def fwd(*arrs):
        out = opaque(*arrs)
        return out, (arrs, out)

    def bwd(saved, cts):
        arrs, out = saved
        inputs = rebuild(T._wrap(a) for a in arrs)
        outs = [T._wrap(o) for o in out[:n_out]]
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(v, T) for v in inputs)
        ctx.materialize_grads = True
        setup_context(entry, ctx, inputs, tuple(outs) if multi else outs[0])
        grads = backward(entry, ctx, [T._wrap(c) for c in cts[:n_out]])
        res = []
        for v, g in zip(inputs, grads):
            if isinstance(v, T):
                res.append(jax.numpy.zeros(v.shape, v.dtype.np) if g is None else g._value)
            elif isinstance(v, (list, tuple)):
                res.extend(jax.numpy.zeros(x.shape, x.dtype.np) for x in v if isinstance(x, T))
        return tuple(res)

    f = jax.custom_vjp(opaque)
    f.defvjp(fwd, bwd)
    return f
