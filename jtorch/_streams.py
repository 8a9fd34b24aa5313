"""torch.Stream and torch.Event on XLA.

XLA runs a device's work in the order it was dispatched, so a stream is an ordering name with no
effect on results: every stream of a device shares that one order, ``wait_stream``/``wait_event``
have nothing to wait for. What must be real is timing: ``Event.record()`` first waits for every
computation dispatched to the device (all its live arrays ready), then takes the host clock, so
``start.elapsed_time(end)`` is the wall time of the device work dispatched between the two records.
Recording therefore blocks (torch's returns at once and the GPU stamps the event later); ``query()``
is always True after a record. A CPU stream is torch's CPU stream: id 0, no events.
"""
import itertools
import time

from ._device import device as _device, gpu_devices

_TYPE_CODE = {"cpu": 0, "cuda": 1}  # torch's DeviceType numbers
_stream_ids = itertools.count(1)
_event_ids = itertools.count(1)
# current stream per (device type, index): set by ``with stream``, torch.cuda.set_stream / stream(...)
CURRENT = {}


def sync_device(index):
    """Block until every computation dispatched to GPU ``index`` is done."""
    import jax
    jd = gpu_devices()[index]
    arrays = [a for a in jd.client.live_arrays() if jd in a.devices()]
    jax.block_until_ready(arrays)


def device_ready(index):
    jd = gpu_devices()[index]
    return all(a.is_ready() for a in jd.client.live_arrays() if jd in a.devices())


def _resolve(device):
    """torch.device of a stream/event: None is the current accelerator (else the CPU)."""
    if device is None:
        if gpu_devices():
            from . import cuda
            return _device("cuda", cuda.current_device())
        return _device("cpu")
    d = _device(device) if not isinstance(device, _device) else device
    if d.type == "cuda":
        if not gpu_devices():
            raise RuntimeError("PyTorch is not linked with support for cuda devices")
        if d.index is None:
            from . import cuda
            d = _device("cuda", cuda.current_device())
        elif d.index >= len(gpu_devices()) or gpu_devices()[d.index] is None:
            raise RuntimeError("CUDA error: invalid device ordinal")
    elif d.type != "cpu":
        raise RuntimeError(f"PyTorch is not linked with support for {d.type} devices")
    return d


class Stream:
    """torch.Stream: ``Stream(device=None, *, priority=0)``."""

    def __init__(self, device=None, *, priority=0, stream_id=None, device_index=None, device_type=None):
        if device_type is not None:  # torch's low-level form (stream_id, device_index, device_type)
            kind = {v: k for k, v in _TYPE_CODE.items()}[device_type]
            device = _device(kind, None if device_index is None or device_index < 0 else device_index)
        d = _resolve(device)
        self._dev = d
        self.priority = priority
        if stream_id is not None:
            self.stream_id = stream_id
        else:
            self.stream_id = 0 if d.type == "cpu" else next(_stream_ids)

    # ---- identity
    @property
    def device(self):
        return self._dev

    @property
    def device_type(self):
        return _TYPE_CODE[self._dev.type]

    @property
    def device_index(self):
        return -1 if self._dev.index is None else self._dev.index

    @property
    def native_handle(self):
        if self._dev.type == "cpu":
            raise RuntimeError("Backend doesn't support getting stream native handle.")
        return self.stream_id

    def __eq__(self, other):
        return isinstance(other, Stream) and (self._dev, self.stream_id) == (other._dev, other.stream_id)

    def __hash__(self):
        return hash((self._dev, self.stream_id))

    def __repr__(self):
        return (f"torch.Stream device_type={self._dev.type}, device_index={self.device_index}, "
                f"stream_id={self.stream_id}")

    # ---- work
    def query(self):
        return True if self._dev.type == "cpu" else device_ready(self._dev.index)

    def synchronize(self):
        if self._dev.type != "cpu":
            sync_device(self._dev.index)

    def _no_events(self):
        if self._dev.type == "cpu":
            raise RuntimeError("cpu backend doesn't support events.")

    def wait_event(self, event):
        self._no_events()  # one order per device: nothing to wait for

    def wait_stream(self, stream):
        self._no_events()

    def record_event(self, event=None):
        self._no_events()
        event = type(self)._event_class()() if event is None else event
        event.record(self)
        return event

    @staticmethod
    def _event_class():
        return Event

    def is_capturing(self):
        return False

    # ---- ``with stream:`` makes it its device's current stream
    def __enter__(self):
        key = (self._dev.type, self._dev.index)
        self._prev = CURRENT.get(key)
        CURRENT[key] = self
        return self

    def __exit__(self, *exc):
        key = (self._dev.type, self._dev.index)
        if self._prev is None:
            CURRENT.pop(key, None)
        else:
            CURRENT[key] = self._prev
        return False


class Event:
    """torch.Event: ``Event(device=None, *, enable_timing=False, blocking=False, interprocess=False)``."""
    _error = ValueError  # torch.Event reports misuse of elapsed_time as ValueError (torch.cuda.Event: RuntimeError)

    def __init__(self, device=None, *, enable_timing=False, blocking=False, interprocess=False):
        self._dev = _resolve(device)
        self._timing = bool(enable_timing)
        self.blocking = bool(blocking)
        self.interprocess = bool(interprocess)
        self._time = None  # host clock after the device's work was done, set by record()
        self._id = 0

    @property
    def device(self):
        return self._dev

    @property
    def event_id(self):
        return self._id

    def __repr__(self):
        flag = int(self._timing)
        return (f"torch.Event device_type={self._dev.type}, device_index="
                f"{-1 if self._dev.index is None else self._dev.index}, event_flag={flag}, event_id={self._id}")

    def record(self, stream=None):
        dev = stream.device if stream is not None else self._dev
        if dev.type == "cpu":
            raise RuntimeError("cpu backend doesn't support events.")
        self._dev = dev
        sync_device(dev.index)
        self._time = time.perf_counter()
        if not self._id:
            self._id = next(_event_ids)

    def query(self):
        return True  # record() returned only after the work before it finished

    def synchronize(self):
        pass

    def wait(self, stream=None):
        pass

    def elapsed_time(self, end_event):
        """Milliseconds between this event's record and ``end_event``'s."""
        if not (self._timing and end_event._timing):
            raise self._error("Both events must be created with argument 'enable_timing=True'.")
        if self._time is None or end_event._time is None:
            raise self._error("Both events must be recorded before calculating elapsed time.")
        return (end_event._time - self._time) * 1000.0

    def ipc_handle(self):
        raise RuntimeError("jtorch: events cannot be shared between processes on XLA (no CUDA IPC handles)")

    @classmethod
    def from_ipc_handle(cls, device, handle):
        raise RuntimeError("jtorch: events cannot be shared between processes on XLA (no CUDA IPC handles)")
