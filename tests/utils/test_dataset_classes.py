"""Dataset combinators and random_split against torch.utils.data."""
import warnings

import numpy as np
import pytest
import torch.utils.data as tdata

import jtorch
import jtorch.utils.data as jdata
from helpers import both
from tree_compare import assert_same_tree


class _Range(jdata.IterableDataset):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __iter__(self):
        return iter(range(self.a, self.b))

    def __len__(self):
        return self.b - self.a


def test_tensor_and_stack_dataset_items_match_torch(rng):
    (tx, jx), (ty, jy) = both(rng.standard_normal((6, 3)).astype(np.float32)), both(rng.integers(0, 9, 6))
    t, j = tdata.TensorDataset(tx, ty), jdata.TensorDataset(jx, jy)
    assert len(j) == len(t) == 6
    for i in (0, 3, -1):
        assert_same_tree(j[i], t[i])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        jdata.TensorDataset(jx, jy[:4])
    ts, js = tdata.StackDataset(t, ty), jdata.StackDataset(j, jy)
    assert len(js) == len(ts) and isinstance(js[2], tuple)
    assert_same_tree(js[2], ts[2])
    tk, jk = tdata.StackDataset(a=t, b=ty), jdata.StackDataset(a=j, b=jy)
    assert_same_tree(jk[4], tk[4])
    for args in (([1], [1, 2]), ()):
        with pytest.raises(ValueError) as te:
            tdata.StackDataset(*args)
        with pytest.raises(ValueError, match=str(te.value)):
            jdata.StackDataset(*args)


def test_concat_subset_chain():
    a, b = list(range(5)), list(range(100, 103))
    tc, jc = tdata.ConcatDataset([a, b]), jdata.ConcatDataset([a, b])
    assert len(jc) == len(tc) == 8 and jc.cumulative_sizes == tc.cumulative_sizes
    assert [jc[i] for i in range(-8, 8)] == [tc[i] for i in range(-8, 8)]
    with pytest.raises(ValueError, match="absolute value of index"):
        jc[-9]
    with pytest.raises(AssertionError, match="empty iterable"):
        jdata.ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        jdata.ConcatDataset([_Range(0, 2)])
    # Dataset + Dataset is a ConcatDataset; IterableDataset + IterableDataset a ChainDataset
    class D(jdata.Dataset):
        def __getitem__(self, i):
            return i * 2

        def __len__(self):
            return 3
    both_ds = D() + D()
    assert isinstance(both_ds, jdata.ConcatDataset) and [both_ds[i] for i in range(6)] == [0, 2, 4, 0, 2, 4]
    chain = _Range(0, 3) + _Range(10, 12)
    assert isinstance(chain, jdata.ChainDataset) and list(chain) == [0, 1, 2, 10, 11] and len(chain) == 5
    sub = jdata.Subset(jc, [7, 0, 5])
    assert [sub[i] for i in range(3)] == [102, 0, 100] and len(sub) == 3
    assert sub.__getitems__([2, 0]) == [100, 102]


def test_random_split_lengths_and_fractions():
    data = list(range(10))
    jtorch.manual_seed(0)
    parts = jdata.random_split(data, [3, 7])
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == data
    for n, fracs in ((10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.3, 0.4])):
        t = tdata.random_split(range(n), fracs)
        j = jdata.random_split(range(n), fracs)
        assert [len(p) for p in j] == [len(p) for p in t]
        assert sorted(i for p in j for i in p.indices) == list(range(n))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert [len(p) for p in jdata.random_split(range(2), [0.9, 0.1])] == [2, 0]
    assert any("Length of split at index 1 is 0" in str(x.message) for x in w)
    g1, g2 = jtorch.Generator().manual_seed(42), jtorch.Generator().manual_seed(42)
    assert jdata.random_split(data, [5, 5], generator=g1)[0].indices == \
        jdata.random_split(data, [5, 5], generator=g2)[0].indices
    for bad in ([3, 3], [1.5, -0.5]):
        with pytest.raises(ValueError) as te:
            tdata.random_split(data, bad)
        with pytest.raises(ValueError, match=str(te.value)):
            jdata.random_split(data, bad)
