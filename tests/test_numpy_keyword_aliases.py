"""numpy's keyword names that torch's argument parser takes for its own (axis for dim, keepdims for keepdim,
x / a / x1 for input, x2 for other) on torch.* functions, Tensor methods, in-place methods and linalg /
special / fft; not beside the name itself, nor on torch's Python functions (nn.functional, torch.split)."""
import numpy as np
import torch

import jtorch

# (label, call): call(T, x, i) with T the torch module, x a float tensor (3, 4), i an index tensor (1, 4)
ACCEPTED = [
    ("sum axis", lambda T, x, i: T.sum(x, axis=0)),
    ("sum axis keepdims", lambda T, x, i: T.sum(x, axis=1, keepdims=True)),
    ("sum a axis", lambda T, x, i: T.sum(a=x, axis=0)),
    ("mean a", lambda T, x, i: T.mean(a=x)),
    ("amax axis keepdims", lambda T, x, i: T.amax(x, axis=0, keepdims=True)),
    ("argmax axis", lambda T, x, i: T.argmax(x, axis=1)),
    ("argsort axis", lambda T, x, i: T.argsort(x, axis=0)),
    ("softmax axis", lambda T, x, i: T.softmax(x, axis=0)),
    ("logsumexp axis", lambda T, x, i: T.logsumexp(x, axis=1)),
    ("cumsum axis", lambda T, x, i: T.cumsum(x, axis=1)),
    ("std axis keepdims", lambda T, x, i: T.std(x, axis=0, keepdims=True)),
    ("cat axis", lambda T, x, i: T.cat([x, x], axis=0)),
    ("stack axis", lambda T, x, i: T.stack([x, x], axis=1)),
    ("unsqueeze axis", lambda T, x, i: T.unsqueeze(x, axis=0)),
    ("gather axis", lambda T, x, i: T.gather(x, axis=0, index=i)),
    ("index_select axis", lambda T, x, i: T.index_select(x, axis=1, index=i[0, :2])),
    ("sort axis", lambda T, x, i: T.sort(x, axis=0)[0]),
    ("max axis keepdims", lambda T, x, i: T.max(x, axis=0, keepdims=True)[0]),
    ("median axis", lambda T, x, i: T.median(x, axis=1)[0]),
    ("sin x", lambda T, x, i: T.sin(x=x)),
    ("abs a", lambda T, x, i: T.abs(a=x)),
    ("exp x1", lambda T, x, i: T.exp(x1=x)),
    ("add x1 x2", lambda T, x, i: T.add(x1=x, x2=x * 2)),
    ("add input x2 alpha", lambda T, x, i: T.add(input=x, x2=x, alpha=3)),
    ("mul x1 other", lambda T, x, i: T.mul(x1=x, other=x)),
    ("atan2 x1 x2", lambda T, x, i: T.atan2(x1=x, x2=x + 1)),
    ("maximum x1 x2", lambda T, x, i: T.maximum(x1=x, x2=-x)),
    ("matmul x1 x2", lambda T, x, i: T.matmul(x1=x, x2=x.T)),
    ("where x1 x2", lambda T, x, i: T.where(x > 0, x1=x, x2=-x)),
    ("clamp x", lambda T, x, i: T.clamp(x=x, min=0)),
    ("method add x2", lambda T, x, i: x.add(x2=x)),
    ("method sum axis keepdims", lambda T, x, i: x.sum(axis=1, keepdims=True)),
    ("method mean axis", lambda T, x, i: x.mean(axis=0)),
    ("method softmax axis", lambda T, x, i: x.softmax(axis=0)),
    ("method argsort axis", lambda T, x, i: x.argsort(axis=1)),
    ("method matmul x2", lambda T, x, i: x.matmul(x2=x.T)),
    ("method size axis", lambda T, x, i: T.tensor(x.size(axis=1))),
    ("method stride axis", lambda T, x, i: T.tensor(x.stride(axis=0))),
    ("method type_as x2", lambda T, x, i: x.type_as(x2=i)),
    ("unbound method sum axis", lambda T, x, i: T.Tensor.sum(x, axis=0)),
    ("method in-place add_ x2", lambda T, x, i: x.clone().add_(x2=x)),
    ("method in-place cumsum_ axis", lambda T, x, i: x.clone().cumsum_(axis=0)),
    ("linalg.vector_norm axis keepdims", lambda T, x, i: T.linalg.vector_norm(x, axis=0, keepdims=True)),
    ("linalg.norm axis", lambda T, x, i: T.linalg.norm(x, axis=1)),
    ("special.logsumexp axis", lambda T, x, i: T.special.logsumexp(x, axis=0)),
    ("special.expit x", lambda T, x, i: T.special.expit(x=x)),
    ("fft.fft axis", lambda T, x, i: T.fft.fft(x, axis=0)),
    ("fft.rfft a", lambda T, x, i: T.fft.rfft(a=x)),
]

REFUSED = [  # each raises TypeError in torch
    ("sum axis and dim", lambda T, x, i: T.sum(x, dim=0, axis=0)),
    ("sum axis and positional dim", lambda T, x, i: T.sum(x, 0, axis=0)),
    ("sum keepdims and keepdim", lambda T, x, i: T.sum(x, 0, keepdim=True, keepdims=True)),
    ("sum x and a", lambda T, x, i: T.sum(x=x, a=x)),
    ("sum x2 (no other)", lambda T, x, i: T.sum(x2=x)),
    ("sum unknown keyword", lambda T, x, i: T.sum(x, foo=0)),
    ("mean axis and positional dim", lambda T, x, i: T.mean(x, 0, axis=0)),
    ("sin input and x", lambda T, x, i: T.sin(x, x=x)),
    ("add input and x1", lambda T, x, i: T.add(x, x1=x, other=x)),
    ("cat axis and dim", lambda T, x, i: T.cat([x, x], 1, axis=0)),
    ("gather axis and dim", lambda T, x, i: T.gather(x, 0, axis=0, index=i)),
    ("method add x (self given)", lambda T, x, i: x.add(x=x)),
    ("method sum axis and dim", lambda T, x, i: x.sum(0, axis=0)),
    ("method softmax axis and dim", lambda T, x, i: x.softmax(dim=0, axis=0)),
    ("method sum a (self given)", lambda T, x, i: x.sum(a=x)),
    ("method size axis and dim", lambda T, x, i: x.size(1, axis=0)),
    ("method split axis (a Python method)", lambda T, x, i: x.split(2, axis=0)),
    ("method unique axis (a Python method)", lambda T, x, i: x.unique(axis=0)),
    ("linalg.det a (parameter A)", lambda T, x, i: T.linalg.det(a=x[:3, :3])),
    ("flip axis (parameter dims)", lambda T, x, i: T.flip(x, axis=(0,))),
    ("split axis (a Python function)", lambda T, x, i: T.split(x, 2, axis=0)),
    ("norm axis (a Python function)", lambda T, x, i: T.norm(x, axis=0)),
    ("F.softmax axis", lambda T, x, i: T.nn.functional.softmax(x, axis=0)),
    ("F.log_softmax axis", lambda T, x, i: T.nn.functional.log_softmax(x, axis=0)),
]


def _inputs(T, data, index):
    return T.tensor(data), T.tensor(index)


def test_numpy_names_accepted_as_torch_does(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    index = rng.integers(0, 3, (1, 4))
    failed = []
    for label, call in ACCEPTED:
        want = call(torch, *_inputs(torch, data, index))
        got = call(jtorch, *_inputs(jtorch, data, index))
        if tuple(got.shape) != tuple(want.shape) or str(got.dtype) != str(want.dtype) or \
                not np.allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5):
            failed.append(label)
    assert not failed


def test_numpy_names_refused_as_torch_does(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    index = rng.integers(0, 3, (1, 4))
    failed = []
    for label, call in REFUSED:
        errors = []
        for T in (torch, jtorch):
            try:
                call(T, *_inputs(T, data, index))
                errors.append(None)
            except Exception as e:  # noqa: BLE001  (the type is compared)
                errors.append(type(e))
        if errors != [TypeError, TypeError]:
            failed.append((label, errors))
    assert not failed


def test_alias_error_names_the_keyword():
    x = jtorch.ones(2)
    for call, name in ((lambda: jtorch.sum(x, 0, axis=0), "axis"), (lambda: jtorch.sin(x, x=x), "x"),
                       (lambda: jtorch.mean(x, 0, keepdim=True, keepdims=True), "keepdims")):
        try:
            call()
        except TypeError as e:
            assert f"unexpected keyword argument '{name}'" in str(e)
        else:
            raise AssertionError("no TypeError")
