"""``@record``: torchrun scripts decorate ``main`` with it. jtorch's launcher shows a failing
worker's traceback on its own output, so the decorator only passes calls through."""
import functools


class ChildFailedError(Exception):
    def __init__(self, name, failures):
        super().__init__(f"{name} FAILED: {failures}")
        self.name = name
        self.failures = failures


def record(fn=None, error_handler=None):
    if fn is None:
        return lambda f: record(f, error_handler)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
