"""torch.mps.profiler: Metal's signpost profiler, which needs an MPS device (never present here)."""
import contextlib

__all__ = ["start", "stop", "profile", "metal_capture", "is_metal_capture_enabled", "is_capturing_metal"]


def start(mode="interval", wait_until_completed=False):
    raise RuntimeError("Cannot execute profilerStartTrace() without MPS backend.")


def stop():
    raise RuntimeError("Cannot execute profilerStopTrace() without MPS backend.")


@contextlib.contextmanager
def profile(mode="interval", wait_until_completed=False):
    try:
        start(mode, wait_until_completed)
        yield
    finally:
        stop()


def is_metal_capture_enabled():
    return False  # no Metal device, so nothing can be captured


def is_capturing_metal():
    return False


@contextlib.contextmanager
def metal_capture(fname):
    raise RuntimeError("Cannot execute startCapture() without MPS backend.")
    yield
