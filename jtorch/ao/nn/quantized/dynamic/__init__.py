"""torch.ao.nn.quantized.dynamic: modules with quantized weights whose activations are quantized per call."""
from .linear import Linear
from .rnn import LSTM, GRU, LSTMCell, GRUCell, RNNCell

__all__ = ["Linear", "LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"]
