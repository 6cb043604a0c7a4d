"""LSTMTagger: log-probabilities, and padding that changes nothing."""

import torch

from seqlab.nets import LSTMTagger


def test_tagger_log_probs_and_padding():
    torch.manual_seed(0)
    model = LSTMTagger(vocab_size=10, num_tags=3, embedding_dim=4, hidden_dim=5)
    words = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0]])  # (B, L), 0 = padding
    log_probs = model(words, torch.tensor([4, 2]))
    assert log_probs.shape == (2, 4, 3)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2, 4), atol=1e-6)
    alone = model(words[1:, :2])
    assert torch.allclose(log_probs[1, :2], alone[0], atol=1e-6)
