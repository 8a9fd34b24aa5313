"""default_collate / default_convert against torch's on the same structures (dtypes included)."""
import collections

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate as t_collate, default_convert as t_convert

import jtorch
from jtorch.utils.data import default_collate as j_collate, default_convert as j_convert
from tree_compare import assert_same_tree

Point = collections.namedtuple("Point", ["x", "y"])


def _samples(rng, kind):
    """The same batch of samples built twice: with torch tensors and with jtorch tensors."""
    a = rng.standard_normal((4, 3)).astype(np.float32)
    i = rng.integers(-50, 50, size=(4, 2))
    f = rng.standard_normal(4)
    if kind == "tensors":
        return ([torch.from_numpy(r) for r in a], [jtorch.tensor(r) for r in a])
    if kind == "numpy":
        return list(a), list(a)
    if kind == "scalars":
        s = [(float(f[k]), int(i[k, 0]), bool(i[k, 1] > 0), np.float32(f[k]), np.int32(i[k, 0]), np.bool_(f[k] > 0))
             for k in range(4)]
        return s, s
    if kind == "strings":
        s = [("id%d" % k, b"raw%d" % k) for k in range(4)]
        return s, s
    if kind == "dicts":
        return ([{"img": torch.from_numpy(a[k]), "label": int(i[k, 0]), "name": str(k), "w": float(f[k])}
                 for k in range(4)],
                [{"img": jtorch.tensor(a[k]), "label": int(i[k, 0]), "name": str(k), "w": float(f[k])}
                 for k in range(4)])
    if kind == "nested":
        return ([(torch.from_numpy(a[k]), [int(i[k, 0]), float(f[k])], Point(a[k][:2], int(i[k, 1])))
                 for k in range(4)],
                [(jtorch.tensor(a[k]), [int(i[k, 0]), float(f[k])], Point(a[k][:2], int(i[k, 1])))
                 for k in range(4)])
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["tensors", "numpy", "scalars", "strings", "dicts", "nested"])
def test_default_collate_matches_torch(rng, kind):
    t_batch, j_batch = _samples(rng, kind)
    assert_same_tree(j_collate(j_batch), t_collate(t_batch))


def test_default_convert_matches_torch(rng):
    a = rng.standard_normal((2, 3))
    for data in (a, np.float32(a[0, 0]), (a, "s"), {"k": a[0], "n": 3}, Point(a[1], np.int64(4)), [a[0], a[1]],
                 "text", np.array(["a", "b"])):
        assert_same_tree(j_convert(data), t_convert(data))
    t, j = torch.from_numpy(a), jtorch.tensor(a)
    assert j_convert(j) is j and t_convert(t) is t


def test_collate_errors_like_torch(rng):
    cases = [
        [np.array(["a", "b"]), np.array(["c", "d"])],  # strings in arrays cannot become tensors
        [object(), object()],  # unknown element type
        [[1, 2], [3]],  # uneven sequences
    ]
    for batch in cases:
        with pytest.raises(Exception) as te:
            t_collate(batch)
        with pytest.raises(te.type, match=str(te.value)[:40].replace("[", r"\[")):
            j_collate(batch)
    a = rng.standard_normal(5).astype(np.float32)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        t_collate([torch.from_numpy(a[:2]), torch.from_numpy(a[:3])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        j_collate([jtorch.tensor(a[:2]), jtorch.tensor(a[:3])])


class _Box:
    def __init__(self, v):
        self.v = v


def test_collate_with_custom_type_map(rng):
    """collate(batch, collate_fn_map=...) as torch documents it, from torch's module path."""
    from torch.utils.data._utils.collate import collate as t_coll, default_collate_fn_map as t_map
    from jtorch.utils.data._utils.collate import collate as j_coll, default_collate_fn_map as j_map

    vals = rng.standard_normal(3).tolist()
    box_fn = lambda batch, *, collate_fn_map=None: [b.v * 2 for b in batch]  # noqa: E731
    batch = [{"box": _Box(v), "x": v} for v in vals]
    assert_same_tree(j_coll(batch, collate_fn_map={**j_map, _Box: box_fn}),
                     t_coll(batch, collate_fn_map={**t_map, _Box: box_fn}))
