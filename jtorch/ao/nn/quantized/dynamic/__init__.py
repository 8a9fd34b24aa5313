"""torch.ao.nn.quantized.dynamic: modules with quantized weights whose activations are quantized per call."""
from .linear import Linear
from .rnn import LSTM

__all__ = ["Linear", "LSTM"]
