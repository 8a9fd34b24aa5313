"""torch.mps.event: events on the MPS device, which this machine never has."""


class Event:
    def __init__(self, enable_timing=False):
        raise RuntimeError("Cannot execute acquireEvent() without MPS backend.")
