"""seqlab's Hydra sweepers. Their configs are in conf/hydra/sweeper/; seqlab's commands
register them with Hydra (seqlab.cli.common.register_plugins), so no install depends on
Hydra's scan of the `hydra_plugins` namespace."""
