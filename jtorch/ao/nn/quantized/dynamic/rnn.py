"""Dynamically quantized LSTM: qint8 weights; as torch's, each layer's input projection quantizes the whole
input sequence at once (one range over all steps) and the hidden projection quantizes the hidden state at each
step, both with the dynamic linear kernel; the gate arithmetic is float32."""
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


class LSTM(nn.Module):
    _FLOAT_MODULE = nn.LSTM

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=torch.qint8):
        super().__init__()
        self.mode = "LSTM"
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.dtype = dtype
        self.version = 2
        self.training = False
        object.__setattr__(self, "_cells", [])  # per (layer, direction): (input projection, hidden projection)

    def _get_name(self):
        return "DynamicQuantizedLSTM"

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

    def forward(self, input, hx=None):
        if not isinstance(input, torch.Tensor):
            raise NotImplementedError("jtorch's dynamic quantized LSTM takes tensors (no PackedSequence)")
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1 if not self.batch_first else 0)
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        D = 2 if self.bidirectional else 1
        if hx is None:
            h0 = torch.zeros(self.num_layers * D, B, self.hidden_size, dtype=x.dtype)
            c0 = torch.zeros_like(h0)
        else:
            h0, c0 = hx
            if not batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
        hs, cs = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                proj_in, proj_h = self._cells[k]
                seq = layer_in if d == 0 else layer_in.flip(0)
                gi = proj_in(seq.reshape(T * B, -1)).reshape(T, B, -1)
                h, c = h0[k], c0[k]
                ys = []
                for t in range(T):
                    i, f, g, o = (gi[t] + proj_h(h)).chunk(4, 1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    ys.append(h)
                y = torch.stack(ys, 0)
                outs.append(y if d == 0 else y.flip(0))
                hs.append(h)
                cs.append(c)
            layer_in = outs[0] if D == 1 else torch.cat(outs, 2)
        out = layer_in.transpose(0, 1) if self.batch_first else layer_in
        h_n, c_n = torch.stack(hs, 0), torch.stack(cs, 0)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return out, (h_n, c_n)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not nn.LSTM:
            raise AssertionError("nn.quantized.dynamic.LSTM.from_float only works for nn.LSTM")
        if not mod.bias:
            raise AssertionError("mod.bias must be True")  # as torch's dynamic RNNs
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("jtorch's dynamic quantized LSTM does not support proj_size")
        if getattr(mod, "qconfig", None) is not None:
            weight_observer_method = mod.qconfig.weight
        else:
            from jtorch.ao.quantization.qconfig import default_dynamic_qconfig
            weight_observer_method = default_dynamic_qconfig.weight
        dtype = weight_observer_method().dtype
        if dtype is not torch.qint8:
            raise NotImplementedError(f"jtorch's dynamic quantized LSTM supports qint8 weights, got {dtype}")
        q = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first, mod.dropout,
                mod.bidirectional, dtype)
        D = 2 if mod.bidirectional else 1
        for layer in range(mod.num_layers):
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                parts = []
                for kind in ("ih", "hh"):
                    w = getattr(mod, f"weight_{kind}{sfx}")
                    b = getattr(mod, f"bias_{kind}{sfx}") if mod.bias else None
                    obs = weight_observer_method()
                    obs(w)
                    parts.append(_DynWeight(_quantize_weight(w.float(), obs), None if b is None else b.detach()))
                q._cells.append(tuple(parts))
        return q
