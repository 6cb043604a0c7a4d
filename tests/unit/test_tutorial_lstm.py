"""The tutorial's first demo, on this torch: stepping equals running the whole sequence."""

import torch
from torch import nn


def test_stepwise_equals_whole_sequence_and_matches_tutorial():
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 3)
    inputs = [torch.randn(1, 3) for _ in range(5)]

    hidden = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
    stepped = []
    for x in inputs:
        out, hidden = lstm(x.view(1, 1, -1), hidden)
        stepped.append(out)
    step_hidden = hidden

    whole = torch.cat(inputs).view(len(inputs), 1, -1)
    hidden0 = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
    out, hidden = lstm(whole, hidden0)
    # The tutorial prints out[0] of the whole-sequence run (with its second random state).
    expected_first = torch.tensor([-0.0187, 0.1713, -0.2944])
    assert torch.allclose(out[0, 0], expected_first, atol=1e-4)
    assert torch.allclose(out[-1, 0], torch.tensor([-0.3368, 0.0959, -0.0538]), atol=1e-4)

    # The same initial state gives the same outputs step by step as all at once.
    out_again, hidden_again = lstm(whole, hidden0)
    state = hidden0
    for t, x in enumerate(inputs):
        step_out, state = lstm(x.view(1, 1, -1), state)
        assert torch.allclose(step_out[0], out_again[t], atol=1e-6)
    assert torch.allclose(state[0], hidden_again[0], atol=1e-6)
    # ...and the tutorial's step-by-step run (its first random state) printed this last out.
    assert torch.allclose(stepped[-1][0, 0], torch.tensor([-0.3600, 0.0893, 0.0215]), atol=1e-4)
    assert torch.allclose(step_hidden[1][0, 0], torch.tensor([-1.1298, 0.4467, 0.0254]), atol=1e-4)
