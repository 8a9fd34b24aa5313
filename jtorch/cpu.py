"""torch.cpu: the CPU device module (what torch.get_device_module("cpu") returns). There is one CPU
device; streams and events exist for device-agnostic code and order nothing (XLA orders CPU work)."""
import contextlib

__all__ = ["Event", "Stream", "StreamContext", "amp", "current_device", "current_stream", "device_count",
           "get_capabilities", "is_available", "is_initialized", "set_device", "stream", "synchronize"]


def is_available():
    return True


def is_initialized():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def set_device(device):
    """A no-op, as in torch (there is one CPU device)."""


def synchronize(device=None):
    """Wait for pending CPU work (XLA's asynchronous dispatch)."""
    import jax
    jax.effects_barrier()


def get_capabilities():
    import platform
    return {"arch": platform.machine()}


class Stream:
    def __init__(self, priority=-1):
        self.priority = priority

    def wait_stream(self, stream):
        pass

    def synchronize(self):
        synchronize()

    def query(self):
        return True

    def record_event(self, event=None):
        return event if event is not None else Event()


class Event:
    def query(self):
        return True

    def record(self, stream=None):
        pass

    def synchronize(self):
        synchronize()

    def wait(self, stream=None):
        pass


_CURRENT = [Stream()]


def current_stream(device=None):
    return _CURRENT[0]


class StreamContext(contextlib.AbstractContextManager):
    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        self.prev = _CURRENT[0]
        if self.stream is not None:
            _CURRENT[0] = self.stream

    def __exit__(self, *exc):
        _CURRENT[0] = self.prev
        return False


def stream(stream):
    return StreamContext(stream)


class amp:
    """torch.cpu.amp.autocast (see jtorch.amp)."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from .amp import autocast
        import jtorch
        return autocast("cpu", dtype=jtorch.bfloat16 if dtype is None else dtype, enabled=enabled,
                        cache_enabled=cache_enabled)
