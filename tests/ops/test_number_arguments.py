"""Python numbers where torch's signature wants a Tensor (``OpDef.tensors``, ``function(tensors=)``,
``wants_tensors``): torch as the oracle, the same exception type; the same calls with tensors there (numbers
left where torch takes a Number) still give torch's values."""
import numpy as np
import torch

import jtorch
from tests.helpers import assert_close


def _fn(lib, name):
    for part in name.split("."):
        lib = getattr(lib, part)
    return lib


def _kind(f):
    try:
        return f(), None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return None, type(e)


# (function, arguments): "x", "y" stand for (3, 4) tensors, "i" for a (3, 4) int64 index tensor, "w1" for a
# one-element weight, "v" for a (4,) tensor, "W" for a (2, 4) weight, "B" for a (2, 4, 4) bilinear weight,
# "t" for a (3,) target of +-1, "p" for probabilities of x's shape; each case is also tried with each tensor
# in turn replaced by a number
_CASES = [
    ("sum", ["x"]), ("round", ["x"]), ("logit", ["p"]), ("polygamma", [1, "p"]), ("mvlgamma", ["y", 1]),
    ("lerp", ["x", "y", 0.5]), ("lerp", ["x", "y", "p"]), ("kron", ["x", "y"]), ("addcmul", ["x", "y", "p"]),
    ("addcdiv", ["x", "y", "p"]), ("frexp", ["x"]), ("outer", ["v", "v"]), ("nan_to_num", ["x"]),
    ("resolve_conj", ["x"]), ("resolve_neg", ["x"]), ("dist", ["x", "y"]), ("fill", ["x", 2.0]),
    ("trapezoid", ["x", "y"]), ("trapz", ["x", "y"]), ("cumulative_trapezoid", ["x", "y"]),
    ("scatter_add", ["x", 0, "i", "y"]), ("roll", ["x", 1]), ("poisson", ["p"]), ("prelu", ["x", "w1"]),
    ("threshold", ["x", 0.1, 2.0]), ("special.ndtr", ["x"]), ("special.polygamma", [1, "p"]),
    ("linalg.vecdot", ["x", "y"]), ("nn.functional.relu6", ["x"]), ("nn.functional.prelu", ["x", "w1"]),
    ("nn.functional.rrelu", ["x"]), ("nn.functional.threshold", ["x", 0.1, 2.0]),
    ("nn.functional.dropout", ["x", 0.0]), ("nn.functional.alpha_dropout", ["x", 0.0]),
    ("nn.functional.feature_alpha_dropout", ["x", 0.0]), ("nn.functional.linear", ["x", "W", "v2"]),
    ("nn.functional.bilinear", ["x", "x", "B", "v2"]), ("nn.functional.soft_margin_loss", ["x", "y"]),
    ("nn.functional.multilabel_soft_margin_loss", ["x", "p"]), ("nn.functional.kl_div", ["x", "p"]),
    ("nn.functional.poisson_nll_loss", ["x", "p"]), ("nn.functional.cosine_embedding_loss", ["x", "y", "t"]),
    ("nn.functional.hinge_embedding_loss", ["x", "y"]),
]


def test_numbers_where_torch_wants_tensors(rng):
    data = {"x": rng.standard_normal((3, 4)), "y": rng.standard_normal((3, 4)) + 3.0,
            "p": rng.uniform(0.1, 0.9, (3, 4)), "i": rng.integers(0, 3, (3, 4)), "w1": np.array([0.25]),
            "v": rng.standard_normal(4), "v2": rng.standard_normal(2), "W": rng.standard_normal((2, 4)),
            "B": rng.standard_normal((2, 4, 4)), "t": np.array([1.0, -1.0, 1.0])}
    data = {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in data.items()}

    def build(lib, args, as_number=None):
        return [float(data[a].flat[0]) if k == as_number else
                lib.tensor(data[a]) if isinstance(a, str) else a for k, a in enumerate(args)]

    for name, args in _CASES:
        t_res, t_err = _kind(lambda: _fn(torch, name)(*build(torch, args)))
        j_res, j_err = _kind(lambda: _fn(jtorch, name)(*build(jtorch, args)))
        assert t_err is None and j_err is None, (name, t_err, j_err)
        if "dropout" not in name and name not in ("poisson", "nn.functional.rrelu"):  # (random draws)
            assert_close(j_res, t_res, rtol=1e-4, atol=1e-5)
        for k, a in enumerate(args):
            if not isinstance(a, str):
                continue
            _, t_err = _kind(lambda: _fn(torch, name)(*build(torch, args, k)))
            _, j_err = _kind(lambda: _fn(jtorch, name)(*build(jtorch, args, k)))
            assert j_err is t_err, (name, k, t_err, j_err)
