"""The LightningModules that conf/model/ builds: each trains one network of seqlab.nets.

base_module.SeqlabModule holds what they share (optimizer and scheduler from config,
cheap training logs); regressor_module and tagger_module add a loss and metrics. Their
import paths are stored in checkpoints (`seqlab_config.model._target_`): keep them.
"""
