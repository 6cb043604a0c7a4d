"""seqlab's Hydra sweepers. Hydra's scan of the `hydra_plugins` namespace finds them, and
their configs register in Hydra's ConfigStore (config.py) when it imports them."""
