"""LSTMRegressor: shapes, and padding that changes nothing."""

import torch

from seqlab.nets import LSTMRegressor


def test_regressor_shapes_and_last_state():
    torch.manual_seed(0)
    model = LSTMRegressor(input_dim=1, hidden_dim=8)
    x = torch.randn(4, 7, 1)  # (B, L, 1)
    assert model(x).shape == (4, 1)
    # The last hidden state is the LSTM output at the last step.
    out, _ = model.lstm(x)
    assert torch.allclose(model(x), model.linear(out[:, -1]), atol=1e-6)


def test_regressor_padding_is_ignored_with_lengths():
    torch.manual_seed(0)
    model = LSTMRegressor(hidden_dim=8, num_layers=2)
    short, long = torch.randn(1, 3, 1), torch.randn(1, 6, 1)
    padded = torch.zeros(2, 6, 1)
    padded[0, :3], padded[1] = short[0], long[0]
    batched = model(padded, torch.tensor([3, 6]))
    assert torch.allclose(batched[0], model(short)[0], atol=1e-6)
    assert torch.allclose(batched[1], model(long)[0], atol=1e-6)
    # Without lengths the padding would be read as data.
    assert not torch.allclose(model(padded)[0], model(short)[0], atol=1e-4)
