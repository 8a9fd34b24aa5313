"""Shared glue for the tutorial-style programs in this folder (not a test itself).

Each program is a plain PyTorch script: ``python tut_x.py OUTDIR`` runs it on real torch,
``python -m jtorch run tut_x.py OUTDIR`` on jtorch. The two runs start from the same numbers
(weights and data made with numpy and loaded into the model), and the program records what it
computed with ``record``; ``finish`` writes the records to OUTDIR for test_tutorials.py to compare.
"""
import os
import pickle
import sys

import numpy as np
import torch

IS_JTORCH = torch.__name__ != "torch"

if not IS_JTORCH:
    # The installed torchvision does not match torch 2.13's operator library (its import fails
    # registering fake kernels for its C++ ops, e.g. torchvision::nms). The models and transforms
    # used here need none of those ops: skip their registration so the oracle side can import it.
    import torch.library

    _register_fake = torch.library.register_fake

    def _register_fake_skipping_torchvision(name, *args, **kwargs):
        if isinstance(name, str) and name.startswith("torchvision::"):
            return lambda fn=None, *a, **k: fn
        return _register_fake(name, *args, **kwargs)

    torch.library.register_fake = _register_fake_skipping_torchvision

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
# the comparison runs on the CPU; a GPU check runs the device-aware programs with TUT_DEVICE=cuda
DEVICE = os.environ.get("TUT_DEVICE", "cpu")
RESULTS = {}


def to_record(value):
    """A comparable, framework-free copy: tensors become (dtype, shape, numpy values)."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        dtype = str(t.dtype)
        if t.dtype == torch.bfloat16:
            t = t.float()
        return ("tensor", dtype, tuple(t.shape), t.numpy().copy())
    if isinstance(value, torch.Size):
        return ("size", tuple(value))
    if isinstance(value, torch.dtype):
        return ("dtype", str(value))
    if isinstance(value, dict):
        return {k: to_record(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_record(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("tensor", "numpy." + str(value.dtype), value.shape, value.copy())
    if isinstance(value, np.generic):
        return value.item()
    return value


def record(name, value):
    assert name not in RESULTS, name
    RESULTS[name] = to_record(value)


def np_params(model, seed, scale=None):
    """Fill every floating parameter and buffer of `model` with numpy draws (same in both frameworks)."""
    rng = np.random.RandomState(seed)
    state = model.state_dict()
    new = type(state)()
    # the version metadata some modules check when loading (torchvision's MNASNet)
    new._metadata = getattr(state, "_metadata", None)
    for k, v in state.items():
        if not v.is_floating_point():
            new[k] = v
            continue
        shape = tuple(v.shape)
        if k.endswith("running_var"):
            arr = rng.uniform(0.5, 1.5, shape)
        elif k.endswith("running_mean"):
            arr = rng.uniform(-0.1, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else max(shape[0] if shape else 1, 1)
            s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
            arr = rng.uniform(-s, s, shape)
        new[k] = torch.from_numpy(arr.astype(np.float32)).to(v.dtype)
    model.load_state_dict(new)
    return model


def finish():
    with open(os.path.join(OUT, "results.pkl"), "wb") as f:
        pickle.dump(RESULTS, f)
    print("DONE")
