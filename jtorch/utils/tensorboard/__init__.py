"""jtorch.utils.tensorboard: torch.utils.tensorboard's SummaryWriter, writing TensorBoard event files
itself (TFRecord framing, hand-encoded protobuf): unlike torch it works without the ``tensorboard`` package
installed (you need that package only to view the logs)."""
from .writer import SummaryWriter, FileWriter

__all__ = ["SummaryWriter", "FileWriter"]
