"""seqlab's Hydra launchers. Their configs are in conf/hydra/launcher/; seqlab's commands
register them with Hydra (seqlab.cli.common.register_plugins)."""
