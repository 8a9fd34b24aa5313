"""torch.backends.mps: Apple GPUs are not an XLA target here."""


def is_available():
    return False


def is_built():
    return False
