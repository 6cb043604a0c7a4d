"""TensorBatches and BucketBatches: coverage, shuffling by epoch, shares per process, buckets."""

import pytest
import torch

from seqlab.data.batches import TensorBatches


def test_tensor_batches_cover_every_sample_once_and_reshuffle_by_epoch():
    data = {"i": torch.arange(10)}
    batches = TensorBatches(data, batch_size=3, shuffle=True, seed=0)
    assert len(batches) == 4
    epoch0 = torch.cat([b["i"] for b in batches])
    assert sorted(epoch0.tolist()) == list(range(10))
    assert torch.equal(epoch0, torch.cat([b["i"] for b in batches]))  # same epoch, same order
    batches.sampler.set_epoch(1)
    epoch1 = torch.cat([b["i"] for b in batches])
    assert sorted(epoch1.tolist()) == list(range(10)) and not torch.equal(epoch0, epoch1)
    plain = TensorBatches(data, batch_size=4)
    assert [b["i"].tolist() for b in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_tensor_batches_deal_each_process_its_own_share():
    n = 10
    data = {"x": torch.arange(n)}
    shares = [
        TensorBatches(data, batch_size=2, shuffle=True, seed=3, rank=r, world_size=3)
        for r in range(3)
    ]
    for share in shares:
        share.sampler.set_epoch(4)
    seen = [torch.cat([b["x"] for b in share]) for share in shares]
    assert [len(s) for s in seen] == [3, 3, 3] and [len(s) for s in shares] == [2, 2, 2]
    together = torch.cat(seen)
    assert len(set(together.tolist())) == 9  # disjoint; one sample sits this epoch out
    whole = TensorBatches(data, batch_size=n, shuffle=True, seed=3)
    whole.sampler.set_epoch(4)
    order = next(iter(whole))["x"]
    assert seen[1].tolist() == order[1:9:3].tolist()  # dealt round-robin from one order
    with pytest.raises(ValueError, match="rank 3"):
        TensorBatches(data, batch_size=2, rank=3, world_size=3)


def test_bucketing_keeps_batches_of_similar_lengths():
    from seqlab.data.batches import BucketBatches

    lengths = torch.tensor([1, 9, 2, 8, 3, 7, 4, 6])
    words = torch.ones(8, 9, dtype=torch.long)
    batches = BucketBatches({"words": words, "lengths": lengths}, batch_size=2, pool=4)
    assert [b["lengths"].tolist() for b in batches] == [[1, 2], [3, 4], [6, 7], [8, 9]]
    assert [b["words"].shape[1] for b in batches] == [2, 4, 7, 9]
