"""torchvision.models (filled below)."""
