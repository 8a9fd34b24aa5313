"""torch.cuda.Stream / Event / StreamContext on XLA (see jtorch/_streams.py: one order of work per
device, events that time real device work). Without a GPU they fail as in torch's CPU-only build."""
from .. import _streams
from .._device import device as _device

_CURRENT = _streams.CURRENT


def _cuda():
    from .. import cuda
    return cuda


class Stream(_streams.Stream):
    """torch.cuda.Stream(device=None, priority=0). ``cuda_stream`` is 0 for a device's default stream."""

    def __init__(self, device=None, priority=0, **kwargs):
        c = _cuda()
        if not c.is_available():
            raise RuntimeError("torch.cuda.Stream requires CUDA support")
        if "stream_id" not in kwargs:
            idx = c._device_index(device, optional=True)
            device = _device("cuda", idx)
        super().__init__(device, priority=priority, **kwargs)

    @property
    def cuda_stream(self):
        return self.stream_id

    @staticmethod
    def priority_range():
        return 0, -5  # (lowest, highest): lower numbers are higher priorities, as in CUDA

    @staticmethod
    def _event_class():
        return Event

    def __repr__(self):
        return f"<torch.cuda.Stream device={self.device} cuda_stream={hex(self.stream_id)}>"


class ExternalStream(Stream):
    """A stream made elsewhere, named by its pointer (``cuda_stream``)."""

    def __init__(self, stream_ptr, device=None, **kwargs):
        c = _cuda()
        with c.device(device):
            if not c.is_available():
                raise RuntimeError("torch.cuda.Stream requires CUDA support")
            super().__init__(c.current_device(), stream_id=int(stream_ptr))


def get_stream_from_external(data_ptr, device=None):
    _cuda()._lazy_check()
    return ExternalStream(data_ptr, device)


class Event(_streams.Event):
    """torch.cuda.Event(enable_timing=False, blocking=False, interprocess=False)."""
    _error = RuntimeError

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        c = _cuda()
        if not c.is_available():
            raise RuntimeError("Tried to instantiate dummy base class Event")
        super().__init__(_device("cuda", c.current_device()), enable_timing=enable_timing, blocking=blocking,
                         interprocess=interprocess)

    def record(self, stream=None):
        super().record(stream if stream is not None else current_stream())

    @property
    def cuda_event(self):
        return self.event_id

    def __repr__(self):
        return f"<torch.cuda.Event {hex(self.event_id)}>" if self.event_id else "<torch.cuda.Event uninitialized>"


def _default(idx):
    return Stream(idx, stream_id=0, device_index=idx, device_type=1)


def current_stream(device=None):
    c = _cuda()
    c._lazy_check()
    idx = c._device_index(device, optional=True)
    return _CURRENT.get(("cuda", idx)) or _default(idx)


def default_stream(device=None):
    c = _cuda()
    c._lazy_check()
    return _default(c._device_index(device, optional=True))


def set_stream(stream):
    if stream is None:
        return
    _CURRENT[("cuda", stream.device_index)] = stream


class StreamContext:
    """``with torch.cuda.stream(s):`` makes ``s`` its device's current stream; None (or no GPU): no-op."""

    def __init__(self, stream):
        self.stream = stream
        self.idx = -1 if stream is None else stream.device_index
        self._prev = None

    def __enter__(self):
        s = self.stream
        if s is None or not _cuda().is_available():
            return
        self._prev = _CURRENT.get(("cuda", self.idx))
        _CURRENT[("cuda", self.idx)] = s
        return s

    def __exit__(self, *exc):
        if self.stream is None or not _cuda().is_available():
            return False
        if self._prev is None:
            _CURRENT.pop(("cuda", self.idx), None)
        else:
            _CURRENT[("cuda", self.idx)] = self._prev
        return False


def stream(stream):
    return StreamContext(stream)


__all__ = ["Stream", "ExternalStream", "Event", "current_stream", "default_stream", "set_stream", "StreamContext",
           "stream", "get_stream_from_external"]
