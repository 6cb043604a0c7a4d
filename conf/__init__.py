"""seqlab's Hydra configs, shipped as the package seqlab.conf: Hydra reads a config package
only with this file (`pkg://seqlab.conf` on another app's search path)."""
