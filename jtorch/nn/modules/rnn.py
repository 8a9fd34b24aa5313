"""Recurrent layers. A whole RNN/LSTM/GRU forward (all layers, both directions,
every time step) is one op, ``_rnn`` in ``jtorch/_ops/rnn_ops.py``."""
import math
import numbers
import warnings

import numpy as np

import jtorch as torch
from .module import Module
from ..parameter import Parameter
from .. import init
from ..utils.rnn import PackedSequence, _lengths_np, _packed_rows, _lengths_from_batch_sizes, _gather_rows
from ..._ops import rnn_ops as K

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                     "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        for flag, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):  # 0/1 or "True" are refused, not read as truthy
                raise TypeError(f"{flag} should be of type bool, got: {type(value).__name__}")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in K.GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        gate_size = K.GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = dict(device=device, dtype=dtype)
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_in = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params = [("weight_ih_l{}{}", (gate_size, layer_in)), ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    params += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    params += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                names = []
                for fmt, shape in params:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, Parameter(torch.empty(shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        pass  # cuDNN packing: nothing to do on XLA

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ---- forward
    def _check_dtype(self, input, error=ValueError):
        # torch refuses a silent promotion between the input and the weights (a float64 batch into a float32
        # model), unless autocast is on to cast them
        weight = self._flat_weights[0] if self._flat_weights else None
        autocast = any(torch.is_autocast_enabled(d) for d in ("cpu", "cuda"))
        if weight is not None and input.dtype != weight.dtype and not autocast:
            raise error(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert "
                         f"input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")

    def _autocast_dtype(self, x):
        """The dtype an autocast region runs this module in: torch's lower-precision list has the RNNs (on
        the CPU LSTM and the plain RNNs; GRU there runs in its input's dtype); None outside autocast."""
        dev = x.device.type
        try:
            on = torch.is_autocast_enabled(dev)
        except RuntimeError:  # a device type autocast does not know (meta)
            return None
        if not on or not x.is_floating_point():
            return None
        return x.dtype if dev == "cpu" and self.mode == "GRU" else torch.get_autocast_dtype(dev)

    def _check_input(self, input, batched):
        self._check_dtype(input)
        expected = 3 if batched else 2
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def _check_hidden(self, hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(hx.shape)))

    def _zeros_state(self, batch, size, like):
        D = 2 if self.bidirectional else 1
        return torch.zeros(self.num_layers * D, batch, size, dtype=like.dtype, device=like.device)

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        D = 2 if self.bidirectional else 1
        h_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        lengths = None
        if packed:
            data, bs = input.data, _lengths_np(input.batch_sizes)
            T, B = len(bs), int(bs[0])
            offsets = np.concatenate([[0], np.cumsum(bs)])[:-1]
            idx = np.full((T, B), data.size(0), dtype=np.int64)
            for t in range(T):
                idx[t, :bs[t]] = offsets[t] + np.arange(bs[t])
            pad_row = torch.zeros(1, data.size(1), dtype=data.dtype)
            x = _gather_rows(torch.cat([data, pad_row]), idx.reshape(-1)).reshape(T, B, data.size(1))
            lengths = torch.tensor(_lengths_from_batch_sizes(bs), dtype=torch.long)
            batched = True
            # torch's packed LSTM without hx skips this check and its kernel raises RuntimeError instead
            self._check_dtype(data, RuntimeError if is_lstm and hx is None else ValueError)
            if self.input_size != data.size(-1):
                raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                                   f"got {data.size(-1)}")
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D "
                                 "input instead")
            batched = input.dim() == 3
            self._check_input(input, batched)
            x = input
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            B = x.size(1)
        # initial states
        if hx is None:
            h0 = self._zeros_state(B, h_out, x)
            c0 = self._zeros_state(B, self.hidden_size, x) if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0, c0 = hx, None
            if not batched:
                for h in (h0, c0):
                    if h is not None and h.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {h.dim()}-D "
                                           "tensor")
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            else:
                for h in (h0, c0):
                    if h is not None and h.dim() != 3:
                        raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {h.dim()}-D "
                                           "tensor")
            if packed and input.sorted_indices is not None:
                h0 = h0[:, input.sorted_indices]
                c0 = c0[:, input.sorted_indices] if c0 is not None else None
            self._check_hidden(h0, (self.num_layers * D, B, h_out))
            if c0 is not None:
                self._check_hidden(c0, (self.num_layers * D, B, self.hidden_size),
                                   "Expected hidden[1] size {}, got {}")
        weights = self._flat_weights
        low = self._autocast_dtype(x)
        if low is not None:
            weights, x, h0 = [w.to(low) for w in weights], x.to(low), h0.to(low)
            c0 = c0.to(low) if c0 is not None else None
        res = K.rnn_forward(weights, x, h0, c0, lengths, self.mode, self.num_layers, self.bidirectional,
                            self.bias, self.proj_size > 0, self.dropout, self.training)
        out, h_n = res[0], res[1]
        c_n = res[2] if is_lstm else None
        if packed:
            rows = _packed_rows(bs, B)
            out = _gather_rows(out.reshape(T * B, out.size(-1)), rows)
            out = PackedSequence(out, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                h_n = h_n[:, input.unsorted_indices]
                c_n = c_n[:, input.unsorted_indices] if c_n is not None else None
        elif not batched:
            out = out.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return (out, (h_n, c_n)) if is_lstm else (out, h_n)


class RNN(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------- cells
class RNNCellBase(Module):
    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = dict(device=device, dtype=dtype)
        self.weight_ih = Parameter(torch.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(torch.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(torch.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(torch.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _run(self, input, hx, cx, mode):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.size(-1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(-1)} expected {self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        given = (hx, cx) if mode == "LSTM" else (hx,)
        for i, h in enumerate(given):
            if h is not None and h.dim() not in (1, 2):
                what = f"hx[{i}]" if mode == "LSTM" else "hidden"
                raise ValueError(f"{type(self).__name__}: Expected {what} to be 1D or 2D, got {h.dim()}D instead")
        states = []
        for i, h in enumerate(given):
            if h is None:
                h = torch.zeros(x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
            elif not batched:
                h = h.unsqueeze(0)
            if h.size(0) != x.size(0):
                raise RuntimeError(f"Input batch size {x.size(0)} doesn't match hidden{i} batch size {h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.size(1)}, expected "
                                   f"{self.hidden_size}")
            states.append(h)
        cx = states[1] if mode == "LSTM" else None
        out = K._rnn_cell(x, states[0], cx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, mode=mode)
        if batched:
            return out
        return tuple(o.squeeze(0) for o in out) if mode == "LSTM" else out.squeeze(0)


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._run(input, hx, None, "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU")


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else hx
        return self._run(input, h, c, "LSTM")


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx, None, "GRU")
