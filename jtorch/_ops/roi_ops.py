"""The sum behind roi_align: each output row is a weighted sum of a few rows of a pixel table.

out[m] = sum_s weights[m, s] * table[rows[m, s]]. Gathering all (M, S, C) samples first and then
summing them holds S times the output (16 for roi_align's 2x2 grid of bilinear samples, hundreds
with adaptive sampling); here a scan over s adds one (M, C) gather at a time, and the backward
scatters one (M, C) slice at a time, keeping only the inputs (no gathered samples) for it."""

import jax
import jax.numpy as jnp
from jax import lax

from .._dispatch import defop


def _forward(table, rows, weights):
    def step(acc, rw):
        r, w = rw
        return acc + w[:, None] * jnp.take(table, r, axis=0), None
    init = jnp.zeros((rows.shape[0], table.shape[1]), table.dtype)
    return lax.scan(step, init, (rows.T, weights.T.astype(table.dtype)))[0]


@jax.custom_vjp
def _row_sum(table, rows, weights):
    return _forward(table, rows, weights)


def _row_sum_fwd(table, rows, weights):
    return _forward(table, rows, weights), (table, rows, weights)


def _row_sum_bwd(res, g):
    table, rows, weights = res

    def step(acc, rw):
        r, w = rw
        return acc.at[r].add(w[:, None] * g), jnp.sum(jnp.take(table, r, axis=0) * g, axis=1)
    d_table, d_w = lax.scan(step, jnp.zeros_like(table), (rows.T, weights.T.astype(table.dtype)))
    return d_table, None, d_w.T.astype(weights.dtype)


_row_sum.defvjp(_row_sum_fwd, _row_sum_bwd)


@defop(method=False, function=False, promote=None)
def _weighted_row_sum(table, rows, weights):
    """table (R, C), rows (M, S) int, weights (M, S) -> (M, C)."""
    return _row_sum(table, rows, weights)
