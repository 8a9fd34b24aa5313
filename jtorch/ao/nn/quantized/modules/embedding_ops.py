"""torch.ao.nn.quantized.Embedding / EmbeddingBag: weight-only quantization, one row (embedding) per channel with
float scale and zero point (per_channel_affine_float_qparams, quint8 or quint4x2); the looked-up rows come out
dequantized (float)."""
import jtorch as torch
from jtorch import nn
import jtorch.nn.functional as F

_DTYPES = (torch.quint8, torch.quint4x2)


class EmbeddingPackedParams(nn.Module):
    """The quantized weight (torch packs it for its kernels); in the state dict as torch's: ``dtype`` and
    ``_packed_weight``."""
    _version = 1

    def __init__(self, num_embeddings, embedding_dim, dtype=torch.quint8):
        super().__init__()
        if dtype not in _DTYPES:
            raise NotImplementedError(f"Unsupported dtype on quantized embedding! Supports quint8 and quint4x2. "
                                      f"Got dtype: {dtype}")
        self.dtype = dtype
        scales = torch.ones(num_embeddings, dtype=torch.float)
        zero_points = torch.zeros(num_embeddings, dtype=torch.float)
        self.set_weight(torch.quantize_per_channel(torch.zeros(num_embeddings, embedding_dim), scales, zero_points,
                                                   0, dtype))

    def set_weight(self, weight):
        if weight.dtype not in _DTYPES:
            raise NotImplementedError("Unsupported dtype for quantized embedding prepack! Supports quint8 and "
                                      "quint4x2.")
        self._packed_weight = weight

    def _weight(self):
        return self._packed_weight

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_weight"] = self._weight()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        self.dtype = state_dict.pop(prefix + "dtype", self.dtype)
        weight = state_dict.pop(prefix + "_packed_weight", None)
        if weight is not None:
            self.set_weight(weight)
        elif strict:
            missing_keys.append(prefix + "_packed_weight")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def __repr__(self):
        return repr(self._weight())


def _quantized_weight(mod, float_types):
    """``mod.weight`` quantized with its qconfig's weight observer (torch's checks first)."""
    from jtorch.ao.quantization.qconfig import float_qparams_weight_only_qconfig
    if type(mod) not in float_types:
        names = [t.__name__ for t in float_types]
        raise AssertionError(f"nnq.{float_types[0].__name__}.from_float only works for {names[0]}"
                             if len(names) == 1 else f"nnq.from_float only works for {names}")
    if getattr(mod, "qconfig", None) is None:
        raise AssertionError("Input float module must have qconfig defined")
    weight_observer = (mod.qconfig.weight() if mod.qconfig is not None
                       else float_qparams_weight_only_qconfig.weight())
    if weight_observer.dtype not in _DTYPES:
        raise AssertionError(f"The only supported dtype for nnq.Embedding is torch.quint8 and torch.quint4x2, got "
                             f"{weight_observer.dtype}")
    if weight_observer.qscheme is not torch.per_channel_affine_float_qparams:
        raise AssertionError("Embedding quantization is only supported with float_qparams_weight_only_qconfig.")
    weight_observer(mod.weight)
    scales, zero_points = weight_observer.calculate_qparams()
    return torch.quantize_per_channel(mod.weight.detach().float(), scales.float(), zero_points.float(), 0,
                                      weight_observer.dtype)


class Embedding(nn.Module):
    _version = 1

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, dtype=torch.quint8):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.dtype = dtype
        self._packed_params = EmbeddingPackedParams(num_embeddings, embedding_dim, dtype)
        if _weight is not None:
            self.set_weight(_weight)

    def _get_name(self):
        return "QuantizedEmbedding"

    def forward(self, indices):
        # (rows of the dequantized weight: the lookup needs no arithmetic on the integers)
        return F.embedding(indices, self.weight().dequantize())

    def extra_repr(self):
        w = self.weight()
        return (f"num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim}, dtype={w.dtype}, "
                f"qscheme={w.qscheme()}")

    def __repr__(self):
        return f"{self._get_name()}({self.extra_repr()})"

    def set_weight(self, w):
        self._packed_params.set_weight(w)

    def weight(self):
        return self._packed_params._weight()

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        qweight = _quantized_weight(mod, (nn.Embedding,))
        out = cls(mod.num_embeddings, mod.embedding_dim, dtype=qweight.dtype)
        out.set_weight(qweight)
        return out


class EmbeddingBag(Embedding):
    _version = 1

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="sum", sparse=False, _weight=None, include_last_offset=False, dtype=torch.quint8):
        super().__init__(num_embeddings, embedding_dim, _weight=_weight, dtype=dtype)
        self.mode = mode
        self.pruned_weights = False
        self.include_last_offset = include_last_offset

    def _get_name(self):
        return "QuantizedEmbeddingBag"

    def forward(self, indices, offsets=None, per_sample_weights=None, compressed_indices_mapping=None):
        # torch's quantized embedding bag sums the bags whatever its mode
        return F.embedding_bag(indices, self.weight().dequantize(), offsets, mode="sum",
                               per_sample_weights=per_sample_weights, include_last_offset=self.include_last_offset)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        qweight = _quantized_weight(mod, (nn.EmbeddingBag,))
        out = cls(mod.num_embeddings, mod.embedding_dim, max_norm=None, norm_type=None, scale_grad_by_freq=None,
                  mode=mod.mode, sparse=False, include_last_offset=mod.include_last_offset, dtype=qweight.dtype)
        out.set_weight(qweight)
        return out
