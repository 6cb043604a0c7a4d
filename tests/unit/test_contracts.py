"""seqlab.contracts: the protocols models and data offer, and who offers which."""

from __future__ import annotations

from seqlab import contracts
from seqlab.callbacks.curriculum import Curriculum
from seqlab.data.conllu import ConlluDataModule
from seqlab.data.random_sum import RandomSumDataModule
from seqlab.data.toy_tagging import ToyTaggingDataModule
from seqlab.models.regressor_module import RegressorModule
from seqlab.models.tagger_module import TaggerModule


def test_models_and_data_offer_the_contracts_their_users_check():
    tagger = TaggerModule(words=["<pad>", "<unk>", "a"], tags=["X", "Y"])
    regressor = RegressorModule(target_scale=0.5)
    sums = RandomSumDataModule()
    offered = {
        "tagger": {
            contracts.Tagger,
            contracts.HasVocabulary,
            contracts.CountsConfusion,
        },
        "regressor": {contracts.ScaledRegressor},
        "sums": {contracts.SequenceSource, contracts.Reshapeable},
    }
    objects = {"tagger": tagger, "regressor": regressor, "sums": sums}
    every = {
        getattr(contracts, n)
        for n in dir(contracts)
        if isinstance(getattr(contracts, n), type)
        and getattr(contracts, n).__module__ == contracts.__name__
    } - {contracts.ReadsWithVocabulary}  # a class-level contract, checked below
    for name, obj in objects.items():
        for protocol in every:
            assert isinstance(obj, protocol) == (protocol in offered[name]), (name, protocol)
    assert regressor.target_scale == 0.5
    assert tagger.tag_names == ["X", "Y"]
    assert issubclass(ConlluDataModule, contracts.ReadsWithVocabulary)
    assert not issubclass(ToyTaggingDataModule, contracts.ReadsWithVocabulary)
    assert not issubclass(RandomSumDataModule, contracts.ReadsWithVocabulary)
    assert isinstance(Curriculum([{"length": 2, "epochs": 1}]), contracts.StagedTraining)
