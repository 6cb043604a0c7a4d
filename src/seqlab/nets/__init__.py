"""The networks, as plain nn.Modules: torch alone builds, loads and runs them.

LSTMRegressor and LSTMTagger are the tutorial's models (batched); CharCNN and CRF are the
tagger's optional parts. The LightningModules that train them are in seqlab.models.
"""

from seqlab.nets.lstm_regressor import LSTMRegressor
from seqlab.nets.lstm_tagger import LSTMTagger

__all__ = ["LSTMRegressor", "LSTMTagger"]
