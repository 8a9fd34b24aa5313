"""torch.xpu.streams: XPU streams and events, which a build without XPU cannot make."""


class Stream:
    def __init__(self, device=None, priority=0, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class Stream")


class Event:
    def __init__(self, enable_timing=False):
        raise RuntimeError("Tried to instantiate dummy base class Event")


def current_stream(device=None):
    raise AssertionError("Torch not compiled with XPU enabled")


def set_stream(stream):
    if stream is None:
        return
    current_stream()  # any real stream needs the device


class StreamContext:
    """``with torch.xpu.stream(s):``: without XPU only ``None`` can be given, and it changes nothing."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            current_stream()
        return None

    def __exit__(self, *exc):
        return False


def stream(stream):
    return StreamContext(stream)
