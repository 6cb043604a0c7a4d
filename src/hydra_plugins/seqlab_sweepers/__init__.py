"""seqlab's Hydra sweepers (found by Hydra's plugin discovery under `hydra_plugins`)."""
