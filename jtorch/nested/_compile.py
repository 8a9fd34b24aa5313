"""jtorch.compile of a function with nested tensor arguments.

A nested tensor's kernels slice and pad with its offsets on the host, so a program is traced for one ragged
structure: each distinct structure of the nested arguments (layout, ragged dim, component starts and lengths,
which arguments share a ragged size) gets its own compiled function over the arguments' values, which are
dense tensors. Inside, the nested arguments are rebuilt on the traced values with the call's own offsets and
ragged sizes; nested results come back as their values and are rebuilt outside with the structure the trace
saw (sharing an argument's ragged size where the trace's result did). Like torch, a new batch structure
recompiles; past the recompile limit the function runs eagerly."""
import warnings

import jax
import numpy as np

from .. import _dispatch
from ._tensor import NestedTensor


def _is_tensor(x):
    return isinstance(x, _dispatch.Tensor)


class _Call:
    """The nested arguments' structure a compiled function was made for (``args``: offsets, lengths, ragged dim,
    layout, ragged size, host starts/lengths of each, from the first call with it: the program may be traced
    again later, for a backward) and what the trace saw of the results. Not a plain object, so compile does
    not take it for Python state."""
    __slots__ = ("args", "results")

    def __init__(self, nested):
        self.args = [(a._offsets, a._lengths, a._ragged_idx, a._layout, a._jint, (a._starts, a._lens))
                     for a in nested]
        self.results = None


def _structure(leaves, positions):
    """The key of the nested arguments' structure (ragged sizes shared between arguments by index)."""
    jints, key = [], []
    for i in positions:
        nt = leaves[i]
        share = next((n for n, j in enumerate(jints) if j is nt._jint), len(jints))
        if share == len(jints):
            jints.append(nt._jint)
        key.append((i, nt._layout.name, nt._ragged_idx, nt._starts.tobytes(), nt._lens.tobytes(),
                    nt._lengths is not None, share))
    return tuple(key)


def _lifted(fn, call, tree, positions):
    def lifted(*flat):
        leaves = list(flat)
        for (offsets, lengths, ragged_idx, layout, jint, host), i in zip(call.args, positions):
            leaves[i] = NestedTensor._make(flat[i], offsets, lengths, ragged_idx, layout, jint, host)
        args, kwargs = jax.tree_util.tree_unflatten(tree, leaves)
        out = fn(*args, **kwargs)
        outs, out_tree = jax.tree_util.tree_flatten(out, is_leaf=_is_tensor)
        results = []
        for k, o in enumerate(outs):
            if isinstance(o, NestedTensor):
                # the structure, tied to an argument's where the result shares its ragged size
                src = next((n for n, a in enumerate(call.args) if a[4] is o._jint), None)
                results.append((k, o._layout, o._ragged_idx, src, (o._starts, o._lens), o._lengths is not None))
                outs[k] = o._values
        call.results = results
        return jax.tree_util.tree_unflatten(out_tree, outs)
    lifted.__name__ = lifted.__qualname__ = getattr(fn, "__name__", "fn")
    return lifted


def compiled_call(compiled, args, kwargs):
    """``compiled(*args, **kwargs)`` where some arguments are nested tensors."""
    from ..compile import CompiledFunction
    from .. import tensor as make_tensor, int64
    leaves, tree = jax.tree_util.tree_flatten((args, kwargs), is_leaf=_is_tensor)
    positions = [i for i, x in enumerate(leaves) if isinstance(x, NestedTensor)]
    key = (tree, _structure(leaves, positions))
    slot = compiled._nested.get(key)
    if slot is None:
        from .._dynamo import config
        if len(compiled._nested) >= config.recompile_limit:
            warnings.warn(f"jtorch.compile: {getattr(compiled.fn, '__name__', 'function')} recompiled "
                          f"{config.recompile_limit} times for new nested-tensor structures (cache_size_limit); "
                          "running it eagerly from now on.")
            compiled.eager = True
            return compiled.fn(*args, **kwargs)
        call = _Call([leaves[i] for i in positions])
        inner = CompiledFunction(_lifted(compiled.fn, call, tree, positions), fullgraph=compiled.fullgraph,
                                 dynamic=compiled.dynamic)
        slot = compiled._nested[key] = (inner, call)
    inner, call = slot
    nested = [leaves[i] for i in positions]
    out = inner(*[x._values if isinstance(x, NestedTensor) else x for x in leaves])
    if not call.results:
        return out
    outs, out_tree = jax.tree_util.tree_flatten(out, is_leaf=_is_tensor)
    for k, layout, ragged_idx, src, host, has_lengths in call.results:
        if src is not None:
            a = nested[src]
            outs[k] = NestedTensor._make(outs[k], a._offsets, a._lengths, ragged_idx, layout, a._jint, host)
        else:  # a structure made inside: offsets from the host starts and lengths (read off no traced tensor)
            starts, lens = host
            offsets = make_tensor(np.append(starts, starts[-1] + lens[-1] if len(lens) else 0), dtype=int64)
            lengths = make_tensor(lens, dtype=int64) if has_lengths else None
            outs[k] = NestedTensor._make(outs[k], offsets, lengths, ragged_idx, layout, None, host)
    return jax.tree_util.tree_unflatten(out_tree, outs)
