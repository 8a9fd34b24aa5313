"""Dynamically quantized LSTM and GRU, and the LSTMCell/GRUCell/RNNCell: qint8 weights; as torch's, each layer's
input projection quantizes the whole input sequence at once (one range over all steps) and the hidden projection
quantizes the hidden state at each step (a cell: the input and the hidden state at each call), both with the
dynamic linear kernel; the gate arithmetic is float32. With float16 weights (the float16 dynamic qconfig) the
weights are rounded to float16 once and the projections run in float32, as fbgemm's fp16 kernel."""
import jtorch as torch
from jtorch import nn
from .. import _kernels as K
from ..functional import _weight_params, _zp
from ..modules.utils import _quantize_weight
from .linear import _reduce_range


class _DynWeight:
    """One quantized weight matrix and its float bias, ready for the dynamic linear kernel."""

    def __init__(self, qweight, bias):
        self.qweight, self.bias = qweight, bias
        zp, sc = _weight_params(qweight)
        self.zp, self.scale = _zp(zp), (torch.tensor(sc) if sc.ndim else float(sc))

    def __call__(self, x):
        return K._qlinear_dynamic(x, self.qweight._ir, self.bias, self.scale, self.zp,
                                  qmax=127 if _reduce_range() else 255)


class _Fp16Weight:
    """One weight matrix rounded to float16, multiplied in float32, and its float bias."""

    def __init__(self, weight, bias):
        self.weight, self.bias = weight.detach().to(torch.float16).float(), bias

    def __call__(self, x):
        return torch.nn.functional.linear(x, self.weight, self.bias)


def _lstm_step(gi, proj_h, state):
    """One LSTM step from the input projection ``gi``: (output, new state)."""
    h, c = state
    i, f, g, o = (gi + proj_h(h)).chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, (h, c)


def _gru_step(gi, proj_h, h):
    """One GRU step: reset and update gates, the new gate from the reset hidden projection (its bias inside)."""
    ir, iz, i_n = gi.chunk(3, 1)
    hr, hz, h_n = proj_h(h).chunk(3, 1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    n = torch.tanh(i_n + r * h_n)
    h = (h - n) * z + n
    return h, h


def _rnn_step(nonlinearity):
    act = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(gi, proj_h, h):
        h = act(gi + proj_h(h))
        return h, h
    return step


def _quantized_pair(mod, sfx, weight_observer_method):
    """(input projection, hidden projection) of one layer/direction (``sfx``: "_l0", "_l1_reverse", "")."""
    parts = []
    for kind in ("ih", "hh"):
        w = getattr(mod, f"weight_{kind}{sfx}")
        b = getattr(mod, f"bias_{kind}{sfx}") if mod.bias else None
        bias = None if b is None else b.detach()
        obs = weight_observer_method()
        if obs.dtype is torch.float16:
            parts.append(_Fp16Weight(w, bias))
            continue
        obs(w)
        parts.append(_DynWeight(_quantize_weight(w.float(), obs), bias))
    return tuple(parts)


def _weight_observer_method(mod, name):
    if getattr(mod, "qconfig", None) is not None:
        method = mod.qconfig.weight
    else:
        from jtorch.ao.quantization.qconfig import default_dynamic_qconfig
        method = default_dynamic_qconfig.weight
    dtype = method().dtype
    if dtype not in (torch.qint8, torch.float16):
        raise RuntimeError(f"Unsupported dtype for dynamic RNN quantization: {dtype}")
    return method


class _RNNBase(nn.Module):
    """Dynamically quantized multi-layer LSTM/GRU over a (T, B, F) (or batch_first) sequence."""
    _STEP = None
    _NAME = ""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=torch.qint8):
        super().__init__()
        self.mode = self._NAME
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.dtype = dtype
        self.version = 2
        self.training = False
        object.__setattr__(self, "_cells", [])  # per (layer, direction): (input projection, hidden projection)

    def _get_name(self):
        return "DynamicQuantized" + self._NAME

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _split(self, state, k):  # the (layer, direction) k's initial state
        return state[k]

    def _join(self, finals):
        return torch.stack(finals, 0)

    def forward(self, input, hx=None):
        if not isinstance(input, torch.Tensor):
            raise NotImplementedError(f"jtorch's dynamic quantized {self._NAME} takes tensors (no PackedSequence)")
        if input.ndim != 3:  # torch's dynamic RNNs take batches only
            raise RuntimeError(f"input must have 3 dimensions, got {input.ndim}")
        x = input
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        D = 2 if self.bidirectional else 1
        state = self._initial_state(hx, D, B, x.dtype)
        finals = []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                proj_in, proj_h = self._cells[k]
                seq = layer_in if d == 0 else layer_in.flip(0)
                gi = proj_in(seq.reshape(T * B, -1)).reshape(T, B, -1)  # the whole sequence quantized at once
                st = self._split(state, k)
                ys = []
                for t in range(T):
                    y, st = self._STEP(gi[t], proj_h, st)
                    ys.append(y)
                y = torch.stack(ys, 0)
                outs.append(y if d == 0 else y.flip(0))
                finals.append(st)
            layer_in = outs[0] if D == 1 else torch.cat(outs, 2)
        out = layer_in.transpose(0, 1) if self.batch_first else layer_in
        return out, self._join(finals)

    def _initial_state(self, hx, D, B, dtype):
        if hx is None:
            return torch.zeros(self.num_layers * D, B, self.hidden_size, dtype=dtype)
        return hx

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"nn.quantized.dynamic.{cls.__name__}.from_float only works for "
                                 f"nn.{cls._FLOAT_MODULE.__name__}")
        if not mod.bias:
            raise AssertionError("mod.bias must be True")  # as torch's dynamic RNNs
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("jtorch's dynamic quantized LSTM does not support proj_size")
        method = _weight_observer_method(mod, cls._NAME)
        q = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first, mod.dropout,
                mod.bidirectional, method().dtype)
        for layer in range(mod.num_layers):
            for d in range(2 if mod.bidirectional else 1):
                q._cells.append(_quantized_pair(mod, f"_l{layer}" + ("_reverse" if d else ""), method))
        return q


class LSTM(_RNNBase):
    _FLOAT_MODULE = nn.LSTM
    _NAME = "LSTM"
    _STEP = staticmethod(_lstm_step)

    def _initial_state(self, hx, D, B, dtype):
        if hx is None:
            h0 = torch.zeros(self.num_layers * D, B, self.hidden_size, dtype=dtype)
            return h0, torch.zeros_like(h0)
        return tuple(hx)

    def _split(self, state, k):
        return state[0][k], state[1][k]

    def _join(self, finals):
        return torch.stack([f[0] for f in finals], 0), torch.stack([f[1] for f in finals], 0)


class GRU(_RNNBase):
    _FLOAT_MODULE = nn.GRU
    _NAME = "GRU"
    _STEP = staticmethod(_gru_step)


class _CellBase(nn.Module):
    """Dynamically quantized RNN cells: each call quantizes the input and the hidden state for their
    projections."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=torch.qint8):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_dtype = dtype
        object.__setattr__(self, "_pair", None)

    def _get_name(self):
        return "DynamicQuantized" + type(self).__name__

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step_fn(self):
        return self._STEP

    def forward(self, input, hx=None):
        if input.size(1) != self.input_size:  # 2-D only, as torch's (a 1-D input: IndexError)
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)}, expected {self.input_size}")
        proj_in, proj_h = self._pair
        return self._step_fn()(proj_in(input), proj_h, self._state(hx, input.shape[0], input.dtype))[1]

    def _state(self, hx, B, dtype):
        return torch.zeros(B, self.hidden_size, dtype=dtype) if hx is None else hx

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"nn.quantized.dynamic.{cls.__name__}.from_float only works for "
                                 f"nn.{cls._FLOAT_MODULE.__name__}")
        method = _weight_observer_method(mod, cls.__name__)
        kw = {"nonlinearity": mod.nonlinearity} if hasattr(mod, "nonlinearity") else {}
        q = cls(mod.input_size, mod.hidden_size, bias=mod.bias, dtype=method().dtype, **kw)
        object.__setattr__(q, "_pair", _quantized_pair(mod, "", method))
        return q


class LSTMCell(_CellBase):
    _FLOAT_MODULE = nn.LSTMCell
    _STEP = staticmethod(_lstm_step)

    def _state(self, hx, B, dtype):
        if hx is None:
            h = torch.zeros(B, self.hidden_size, dtype=dtype)
            return h, torch.zeros_like(h)
        return tuple(hx)


class GRUCell(_CellBase):
    _FLOAT_MODULE = nn.GRUCell
    _STEP = staticmethod(_gru_step)


class RNNCell(_CellBase):
    _FLOAT_MODULE = nn.RNNCell

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=torch.qint8):
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def _step_fn(self):
        return _rnn_step(self.nonlinearity)
