"""Samplers against torch's: deterministic ones exactly, random ones as permutations / statistically."""
import numpy as np
import pytest
import torch.utils.data as tdata

import jtorch
import jtorch.utils.data as jdata


def test_sequential_and_batch_sampler_match_torch():
    data = list(range(11))
    assert list(jdata.SequentialSampler(data)) == list(tdata.SequentialSampler(data))
    assert len(jdata.SequentialSampler(data)) == 11
    for bs in (1, 3, 4, 11, 20):
        for drop in (False, True):
            j = jdata.BatchSampler(jdata.SequentialSampler(data), bs, drop)
            t = tdata.BatchSampler(tdata.SequentialSampler(data), bs, drop)
            assert list(j) == list(t)
            assert len(j) == len(t)
    # any iterable of indices works as the inner sampler
    assert list(jdata.BatchSampler([5, 2, 9, 1], 3, False)) == [[5, 2, 9], [1]]


def test_sampler_argument_errors_like_torch():
    for make in (lambda m: m.BatchSampler(range(3), 0, False), lambda m: m.BatchSampler(range(3), 2, 1),
                 lambda m: m.BatchSampler(range(3), True, False),
                 lambda m: m.RandomSampler(range(3), num_samples=0), lambda m: m.RandomSampler(range(3), replacement=1),
                 lambda m: m.WeightedRandomSampler([1.0, 2.0], 0), lambda m: m.WeightedRandomSampler([[1.0]], 2),
                 lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=None)):
        with pytest.raises(Exception) as te:
            make(tdata)
        with pytest.raises(te.type, match=str(te.value).split(",")[0].replace("(", r"\(")):
            make(jdata)


def test_random_sampler_permutations_and_reproducibility():
    data = list(range(17))
    jtorch.manual_seed(3)
    first = list(jdata.RandomSampler(data))
    assert sorted(first) == data and first != data
    second = list(jdata.RandomSampler(data))
    assert sorted(second) == data and second != first  # a new order each epoch
    jtorch.manual_seed(3)
    assert list(jdata.RandomSampler(data)) == first  # the global seed fixes the order
    g = jtorch.Generator().manual_seed(7)
    s = jdata.RandomSampler(data, generator=g)
    a = list(s)
    g.manual_seed(7)
    assert list(s) == a
    # num_samples beyond the length: whole permutations, then part of another one
    s = jdata.RandomSampler(data, num_samples=40)
    out = list(s)
    assert len(out) == len(s) == len(tdata.RandomSampler(data, num_samples=40)) == 40
    assert sorted(out[:17]) == data and sorted(out[17:34]) == data and len(set(out[34:])) == 6


def test_random_sampler_with_replacement_is_uniform():
    jtorch.manual_seed(0)
    n, draws = 5, 5000
    out = np.array(list(jdata.RandomSampler(range(n), replacement=True, num_samples=draws)))
    assert out.shape == (draws,) and out.min() >= 0 and out.max() < n
    counts = np.bincount(out, minlength=n) / draws
    np.testing.assert_allclose(counts, np.full(n, 1 / n), atol=0.03)


def test_subset_random_sampler():
    idx = [10, 3, 44, 7, 21]
    jtorch.manual_seed(1)
    out = list(jdata.SubsetRandomSampler(idx))
    assert sorted(out) == sorted(idx) and len(jdata.SubsetRandomSampler(idx)) == len(tdata.SubsetRandomSampler(idx))


def test_weighted_random_sampler_statistics(rng):
    w = rng.uniform(0.1, 1.0, size=4)
    jtorch.manual_seed(0)
    s = jdata.WeightedRandomSampler(w.tolist(), 6000)
    out = np.array(list(s))
    assert len(s) == len(tdata.WeightedRandomSampler(w.tolist(), 6000)) == out.size == 6000
    np.testing.assert_allclose(np.bincount(out, minlength=4) / out.size, w / w.sum(), atol=0.03)
    no_rep = list(jdata.WeightedRandomSampler(w.tolist(), 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3]


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False), (12, 4, False)])
def test_distributed_sampler_matches_torch(n, replicas, drop_last):
    data = list(range(n))
    seen = []
    for rank in range(replicas):
        kw = dict(num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        j, t = jdata.DistributedSampler(data, **kw), tdata.DistributedSampler(data, **kw)
        assert list(j) == list(t) and len(j) == len(t)
        assert (j.num_samples, j.total_size) == (t.num_samples, t.total_size)
        # shuffled: same sizes as torch; the replicas' shares are one padded permutation
        js = jdata.DistributedSampler(data, num_replicas=replicas, rank=rank, drop_last=drop_last, seed=5)
        js.set_epoch(2)
        seen += list(js)
        assert len(list(js)) == len(t)
    assert len(seen) == len(t) * replicas
    if not drop_last:
        assert set(seen) == set(data)
    else:
        assert len(set(seen)) == len(seen)


def test_distributed_sampler_epochs_and_errors():
    data = list(range(9))
    s = jdata.DistributedSampler(data, num_replicas=1, rank=0, seed=1)
    e0 = list(s)
    assert list(s) == e0  # same epoch, same order (seed + epoch)
    s.set_epoch(1)
    e1 = list(s)
    assert sorted(e1) == data and e1 != e0
    for rank in (3, -1):
        with pytest.raises(ValueError, match="Invalid rank"):
            jdata.DistributedSampler(data, num_replicas=3, rank=rank)
        with pytest.raises(ValueError, match="Invalid rank"):
            tdata.DistributedSampler(data, num_replicas=3, rank=rank)
