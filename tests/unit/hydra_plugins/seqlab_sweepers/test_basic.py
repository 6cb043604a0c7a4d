"""The basic sweeper's config loader composes each job as Hydra does."""

import pytest
from omegaconf import OmegaConf


def test_sweep_config_loader_composes_as_hydra_does():
    """The sweeper composes each choice of config groups once and sets each job's values
    on a copy; every job's config (the `hydra` node included) must equal Hydra's own
    composition, and a bad value must fail with Hydra's own error."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import ConfigCompositionException
    from hydra.types import RunMode

    from hydra_plugins.seqlab_sweepers.basic import SweepConfigLoader
    from seqlab.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    jobs = [
        ["model.hidden_dim=8", "model.lr=0.1", "data.length=2"],
        ["model.hidden_dim=32", "model.lr=0.1", "data.length=2"],  # same groups, new values
        ["model.hidden_dim=32", "experiment=sum", "data.length=4"],  # another experiment
        ["experiment=sum", "~callbacks.early_stopping", "+trainer.fast_dev_run=1"],
        ["model=tagger", "data=toy_tagging", "experiment=tagger", "model.lr=0.01"],
        ["model.hidden_dim=8", "model.lr=0.1", "data.length=2"],  # the first job again
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        hydra_loader = GlobalHydra.instance().config_loader()
        master = hydra_loader.load_configuration(
            "train",
            overrides=["experiment=tutorial_sum", "hydra.job.chdir=false", "model.lr=1,2"],
            run_mode=RunMode.MULTIRUN,
        )
        ours = SweepConfigLoader(hydra_loader.config_search_path)
        for job in jobs:
            want = hydra_loader.load_sweep_config(master, job)
            got = ours.load_sweep_config(master, job)
            assert OmegaConf.to_container(got) == OmegaConf.to_container(want), job
            assert got.hydra.job.override_dirname == want.hydra.job.override_dirname
        # One composition per choice of groups (none, experiment=sum, the tagger's), not
        # one per job.
        assert len(ours._compositions) == 3
        for loader in (hydra_loader, ours):
            with pytest.raises(ConfigCompositionException, match="model.nope"):
                loader.load_sweep_config(master, ["model.nope=1"])
