"""seqlab's Hydra launchers (found by Hydra's plugin discovery under `hydra_plugins`)."""
