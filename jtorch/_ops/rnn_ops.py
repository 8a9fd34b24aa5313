"""Recurrent networks (RNN tanh/relu, LSTM with projections, GRU) as one op.

A whole multi-layer, optionally bidirectional network over a whole sequence is a
single jitted call: each layer's input projection is one matmul over all time
steps, the recurrence is a ``jax.lax.scan``, and the backward is the VJP of the
same function (one more jitted call). Variable-length batches (PackedSequence)
pass ``lengths``: a sequence's state stops changing after its last step, its
outputs there are zero, and the reverse direction runs each sequence backwards
from its own last step, as torch's packed kernels do.
"""
import jax
import jax.numpy as jnp

from .. import _dtype as D
from .. import random as R
from .._dispatch import defop

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _cell(mode):
    """step(carry, (gx_t, live_t), w_hh, b_hh, w_hr) -> (carry, h_out) for one time step."""
    def step(carry, gx, live, w_hh, b_hh, w_hr):
        h = carry[0]
        gh = h @ w_hh.T
        if b_hh is not None:
            gh = gh + b_hh
        if mode == "LSTM":
            c = carry[1]
            i, f, g, o = jnp.split(gx + gh, 4, axis=-1)
            c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h_new = jax.nn.sigmoid(o) * jnp.tanh(c_new)
            if w_hr is not None:
                h_new = h_new @ w_hr.T
            new = (h_new, c_new)
        elif mode == "GRU":
            xr, xz, xn = jnp.split(gx, 3, axis=-1)
            hr, hz, hn = jnp.split(gh, 3, axis=-1)
            r = jax.nn.sigmoid(xr + hr)
            z = jax.nn.sigmoid(xz + hz)
            n = jnp.tanh(xn + r * hn)
            new = ((1 - z) * n + z * h,)
        else:
            pre = gx + gh
            new = (jnp.tanh(pre) if mode == "RNN_TANH" else jnp.maximum(pre, 0),)
        if live is not None:
            new = tuple(jnp.where(live[:, None], n_, o_) for n_, o_ in zip(new, carry))
        out = new[0] if live is None else jnp.where(live[:, None], new[0], 0)
        return new, out
    return step


def _reverse_index(T, lengths):
    """(T, B) time index that reverses each sequence within its own length."""
    t = jnp.arange(T)[:, None]
    return jnp.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _direction(mode, x, carry, w, lengths, reverse):
    """Run one direction of one layer. x: (T, B, F) time-major."""
    w_ih, w_hh, b_ih, b_hh, w_hr = w
    T = x.shape[0]
    if reverse:
        if lengths is None:
            x = x[::-1]
        else:
            ridx = _reverse_index(T, lengths)
            x = jnp.take_along_axis(x, ridx[:, :, None], axis=0)
    gx = x @ w_ih.T   # the input projection of every step in one matmul
    if b_ih is not None:
        gx = gx + b_ih
    step = _cell(mode)
    if lengths is None:
        carry, out = jax.lax.scan(lambda c, g: step(c, g, None, w_hh, b_hh, w_hr), carry, gx)
    else:
        live = jnp.arange(T)[:, None] < lengths[None, :]
        carry, out = jax.lax.scan(lambda c, xs: step(c, xs[0], xs[1], w_hh, b_hh, w_hr), carry, (gx, live))
    if reverse:
        out = out[::-1] if lengths is None else jnp.take_along_axis(out, ridx[:, :, None], axis=0)
    return carry, out


def _split_weights(weights, num_layers, num_dirs, has_bias, proj):
    per = 2 + (2 if has_bias else 0) + (1 if proj else 0)
    out = []
    for k in range(num_layers * num_dirs):
        ws = list(weights[k * per:(k + 1) * per])
        w_ih, w_hh = ws[0], ws[1]
        b_ih, b_hh = (ws[2], ws[3]) if has_bias else (None, None)
        w_hr = ws[-1] if proj else None
        out.append((w_ih, w_hh, b_ih, b_hh, w_hr))
    return out


@defop(method=False, function=False, seq=True, promote=None)
def _rnn(weights, input, hx, cx, lengths, key, dropout_p, mode="LSTM", num_layers=1, bidirectional=False,
         has_bias=True, proj=False, train=False):
    """input (T, B, F) time-major; hx (L*D, B, H_out); cx (L*D, B, H) for LSTM.
    Returns output (T, B, D*H_out), h_n and (LSTM) c_n."""
    D = 2 if bidirectional else 1
    ws = _split_weights(weights, num_layers, D, has_bias, proj)
    lengths = None if lengths is None else lengths.astype(jnp.int32)
    x = input
    hs, cs = [], []
    for layer in range(num_layers):
        if layer > 0 and train and dropout_p is not None:
            # dropout between layers (not after the last one), as torch does
            key, sub = jax.random.split(key)
            keep = jax.random.bernoulli(R.typed_key(sub), 1 - dropout_p, x.shape)
            x = x * jnp.where(keep, 1 / (1 - dropout_p), 0).astype(x.dtype)
        outs = []
        for d in range(D):
            k = layer * D + d
            carry = (hx[k], cx[k]) if mode == "LSTM" else (hx[k],)
            carry, out = _direction(mode, x, carry, ws[k], lengths, reverse=d == 1)
            hs.append(carry[0])
            if mode == "LSTM":
                cs.append(carry[1])
            outs.append(out)
        x = outs[0] if D == 1 else jnp.concatenate(outs, axis=-1)
    h_n = jnp.stack(hs)
    if mode == "LSTM":
        return x, h_n, jnp.stack(cs)
    return x, h_n


def _kept_weights(weights, flags, statics):
    """torch's composite cells keep their weight matrices (matmuls), not their biases (added); its oneDNN LSTM
    (single-precision and half types, no projections) keeps every weight."""
    mode, proj = statics[0], statics[4]
    if mode == "LSTM" and not proj and weights and weights[0].dtype in (D.float32, D.bfloat16, D.float16):
        return range(len(weights))
    return [j for j, w in enumerate(weights) if w.ndim == 2]


_rnn.saves_seq = _kept_weights


def rnn_forward(weights, input, hx, cx, lengths, mode, num_layers, bidirectional, has_bias, proj, dropout, train):
    """Call ``_rnn``, drawing a dropout key from the default generator only when needed."""
    use_dropout = bool(train) and dropout > 0 and num_layers > 1
    key = R.next_key(None, lazy=True) if use_dropout else None
    return _rnn(list(weights), input, hx, cx, lengths, key, float(dropout) if use_dropout else None, mode=mode,
                num_layers=num_layers, bidirectional=bool(bidirectional), has_bias=bool(has_bias), proj=bool(proj),
                train=use_dropout)


@defop(method=False, function=False, promote=None)
def _rnn_cell(input, hx, cx, w_ih, w_hh, b_ih, b_hh, mode="LSTM"):
    """One step of an RNNCell / LSTMCell / GRUCell on a (B, F) batch."""
    gx = input @ w_ih.T
    if b_ih is not None:
        gx = gx + b_ih
    carry = (hx, cx) if mode == "LSTM" else (hx,)
    new, _ = _cell(mode)(carry, gx, None, w_hh, b_hh, None)
    return new if mode == "LSTM" else new[0]
