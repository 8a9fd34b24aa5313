"""Anomaly detection: torch.autograd.detect_anomaly / set_detect_anomaly. In this mode the backward
engine (graph.run_backward) checks every gradient a node returns and raises torch's RuntimeError
when one holds a NaN. Forward tracebacks are not recorded."""
import warnings

import jax
import jax.numpy as jnp

# [enabled, check_nan]: read by the backward engine once per node
STATE = [False, True]

__all__ = ["detect_anomaly", "set_detect_anomaly"]


def check_nan(node, grads):
    """Raise when the gradient ``node`` returned has a NaN (skipped for traced values under compile)."""
    if not STATE[1]:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        v = g._value
        if isinstance(v, jax.core.Tracer) or not (jnp.issubdtype(v.dtype, jnp.inexact)):
            continue
        if bool(jnp.isnan(v).any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


class detect_anomaly:
    """Context manager that turns anomaly detection on (and restores the previous mode on exit)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev = list(STATE)
        STATE[:] = [True, bool(self.check_nan)]

    def __exit__(self, *args):
        STATE[:] = self.prev
        return False


class set_detect_anomaly:
    """Sets anomaly detection on or off when called; as a context manager, restores the previous mode on exit."""

    def __init__(self, mode, check_nan=True):
        self.prev = list(STATE)
        STATE[:] = [bool(mode), bool(check_nan)]

    def __enter__(self):
        return None

    def __exit__(self, *args):
        STATE[:] = self.prev
        return False


def variable(*args, **kwargs):
    """torch.autograd.variable: removed in torch, where calling it raises this error."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use torch.tensor(...) instead")
