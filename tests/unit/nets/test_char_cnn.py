"""CharCNN: padding changes nothing."""

import pytest
import torch


def test_char_cnn_ignores_padding():
    from seqlab.nets.char_cnn import CharCNN

    torch.manual_seed(0)
    cnn = CharCNN(num_chars=10, char_dim=4, filters=6, kernel=3)
    alone = cnn(torch.tensor([[3, 4, 5]]))  # (1, 6)
    padded = cnn(torch.tensor([[3, 4, 5, 0, 0, 0, 0], [0] * 7]))  # a long batch, a pad word
    assert torch.allclose(alone[0], padded[0], atol=1e-6)  # float rounding only
    assert (padded[1] == 0).all()
    with pytest.raises(ValueError, match="must be odd"):
        CharCNN(10, 4, 6, kernel=2)
