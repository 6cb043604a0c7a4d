"""Plain nn.Module models (no Lightning here: they load and run with torch alone).

The LightningModules that train them live beside them in `tagger_module` and
`regressor_module`; import those directly (they pull in lightning).
"""

from seqlab.models.lstm_regressor import LSTMRegressor
from seqlab.models.lstm_tagger import LSTMTagger

__all__ = ["LSTMRegressor", "LSTMTagger"]
