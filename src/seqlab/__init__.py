"""seqlab: LSTM sequence-model experiments (Lightning + Hydra + TensorBoard).

Importing the package is cheap on purpose: torch and lightning are imported only by the
code paths that train or evaluate, so `--help`, `--cfg job` and config validation stay fast.
"""

__version__ = "0.1.0"
