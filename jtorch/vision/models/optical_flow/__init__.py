"""torchvision.models.optical_flow for jtorch: RAFT."""
from .raft import *  # noqa: F401,F403
