"""Where a compiled program's JAX derivative stops: where jtorch's tape would record no edge.

A compiled forward whose outputs require grad is recorded as one autograd op whose backward is JAX's VJP of
the traced program (compile._run_recorded). JAX alone would differentiate through everything the tape does
not record: ``detach()``, ``.data``, no_grad / inference_mode regions, tensors that do not require grad. So
while jtorch.compile traces a function (``_dispatch.CUT``):

- an op's tensor input that the tape would give no edge (grad mode off, a non-differentiable op, an input
  that does not require grad) goes in through ``stop_gradient``;
- a write into a storage that the tape does not record (under no_grad, through a detached alias) leaves the
  storage the derivative it had, with the new value (``_untracked.untracked``), as torch's untracked
  in-place write keeps the tensor's history (``w.data.mul_(2)``: the gradient still reaches ``w``).

``t.data = other`` on a tensor with history gives ``t`` its new value with the derivative it had (a fresh
storage: ``t`` no longer shares ``other``'s), as eager's ``t`` stays the same autograd tensor with a new
value; a state tensor rebound so goes back to its storage, which takes the new value (``rebinds``: see
compile.py), so the program's next run and its VJP read it there.

A tensor the function computes and calls ``retain_grad()`` on (``retained``) has its ``.grad`` from a *probe*:
the program's JAX derivative never exposes the gradient of a value inside it, so the function is traced again
with one more input per retained tensor, a zero added to its storage where ``retain_grad()`` is called; that
input's gradient is the tensor's (compile.py gives it to the returned tensor). Exact where nothing read the
tensor before that call and nothing writes it after (``inexact`` otherwise: compile.py runs such a forward
eagerly).

Both cuts are the identity in XLA: the programs do no more work, the trace records a few more equations.
Nothing is cut inside a torch.func transform (its own rules: autograd/grad_mode.py) nor in the forward of a
custom ``autograd.Function`` whose backward the tape would run (JAX cannot call that backward: it
differentiates the forward, see autograd/function.py).
"""
import weakref

import jax
import jax.numpy as jnp

from . import _dispatch
from ._dispatch import GRAD, TRANSFORMS


def _stop(a):
    if isinstance(a, jax.core.Tracer) and jnp.issubdtype(a.dtype, jnp.inexact):
        return jax.lax.stop_gradient(a)
    return a


class Cuts:
    """``_dispatch.CUT[0]`` while a compile trace runs; ``on`` is False inside a custom Function's forward.
    ``hooked``: a hook was registered on a tensor the function computed (the program's VJP would not call
    it: compile.py runs such a forward eagerly)."""
    __slots__ = ("on", "hooked", "retained", "probes", "inexact", "read", "rebinds")

    def __init__(self, probes=None):
        self.on = True
        self.hooked = False
        self.retained = []  # tensors the function computed and called retain_grad() on, in order
        self.probes = probes  # the traced zeros added to them (None: a trace that finds them)
        self.inexact = False  # a probe would not give eager's gradient (see retain)
        self.read = weakref.WeakSet()  # storages that ops with a tape edge have read
        self.rebinds = []  # (tensor, binding before) of each ``.data =`` (see binding)

    def rebinding(self, t, other):
        """``t.data = other``: the tensor ``t`` is to be rebound to (``other``, or a tensor of its value with
        the derivative ``t`` had)."""
        if not self.on or TRANSFORMS.depth:
            return other
        self.rebinds.append((t, binding(t)))
        if not t.requires_grad:
            return other
        old, new = t._value, other._value
        if isinstance(old, jax.core.Tracer) and new.shape == old.shape and new.dtype == old.dtype \
                and jnp.issubdtype(new.dtype, jnp.inexact):
            from ._untracked import untracked
            return _dispatch.Tensor._wrap(untracked(new, old, everywhere=True))
        return other

    def retain(self, t):
        """``t.retain_grad()`` on a tensor with history: from here on its storage holds its value plus its
        probe, so the probe's gradient is the gradient reaching ``t`` (exact unless an op read it already,
        or it is a view: then the probe would miss a part)."""
        if not self.on or TRANSFORMS.depth:
            return
        k = len(self.retained)
        self.retained.append(t)
        st = t._st
        if t._vfn or st in self.read:
            self.inexact = True
        elif self.probes is not None and k < len(self.probes):
            probe = self.probes[k]
            a = st.array
            if probe.shape != a.shape or probe.dtype != a.dtype:
                self.inexact = True
                return
            st._arr = a + probe
            t._val = None

    def unbind(self):
        """Each tensor the trace rebound back on what it was before (the trace may be run again, or thrown
        away); returns [(tensor, binding)] that puts the trace's bindings back (compile.py: for a program
        it keeps)."""
        after = [(t, binding(t)) for t, _ in self.rebinds]
        for t, b in reversed(self.rebinds):
            bind(t, b)
        return after

    def inputs(self, op, dyn, arrays):
        """``arrays`` (an op's inputs, one per item of ``dyn``) with those the tape gives no edge stopped."""
        if not self.on or TRANSFORMS.depth:
            return arrays
        T = _dispatch.Tensor
        tracked = GRAD.enabled and op.differentiable
        out = list(arrays)
        for i, a in enumerate(dyn):
            if isinstance(a, T):
                if not (tracked and a.requires_grad):
                    out[i] = _stop(out[i])
                else:
                    self.read.add(a._st)
            elif op.seq and isinstance(a, (list, tuple)):
                out[i] = tuple(x if tracked and isinstance(t, T) and t.requires_grad else _stop(x)
                               for t, x in zip(a, out[i]))
        return out

    def written(self, t, old):
        """After ``t``'s storage took a new value in place (its root array was ``old``): a write the tape did
        not record keeps the storage's derivative. (A write to a retained tensor: its probe is no longer
        eager's gradient, which is the new value's.)"""
        if self.retained and any(r is not None and r._st is t._st for r in self.retained):
            self.inexact = True
        if not self.on or TRANSFORMS.depth or (GRAD.enabled and t.requires_grad):
            return
        st = t._st
        new = st._arr
        if isinstance(old, jax.core.Tracer) and isinstance(new, jax.core.Tracer) and new.shape == old.shape \
                and new.dtype == old.dtype and jnp.issubdtype(new.dtype, jnp.inexact):
            from ._untracked import untracked
            st._arr = untracked(new, old, everywhere=True)
            t._val = None  # (a view's cached value: read again from the root)


def binding(t):
    """What ``t.data = other`` changes of ``t``: its storage, view chain and what is derived from them."""
    return t._st, t._vfn, t._val, t._valver, t._strides, t._meta, t._sig


def bind(t, b):
    t._st, t._vfn, t._val, t._valver, t._strides, t._meta, t._sig = b
