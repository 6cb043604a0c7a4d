"""Per-run analyses as plug-ins: the RunAnalysis contract, and one written outside seqlab."""

from __future__ import annotations

from seqlab import contracts
from seqlab.analysis.base import RunAnalysis
from seqlab.analysis.confusion import ConfusionReport
from seqlab.analysis.curriculum import CurriculumReport
from seqlab.analysis.length_generalization import LengthGeneralization
from seqlab.training import train
from tests.conftest import SMALL_SUM, compose_train


def test_every_analysis_follows_the_contract():
    analyses = [LengthGeneralization([2]), ConfusionReport(), CurriculumReport()]
    for analysis in analyses:
        assert isinstance(analysis, RunAnalysis)
        assert analysis.files and all(isinstance(f, str) for f in analysis.files)
    assert len({a.key for a in analyses}) == len(analyses)


class FinalLossProbe:
    """A per-run analysis written outside seqlab: it must run without seqlab naming it."""

    key = "probe"
    files = ("probe.txt",)

    def __init__(self, note: str) -> None:
        self.note = note

    def applies(self, run) -> bool:
        return isinstance(run.model, contracts.ScaledRegressor)

    def run(self, run) -> dict:
        (run.run_dir / "probe.txt").write_text(self.note)
        return {"note": self.note, "epochs": run.trainer.current_epoch}


def test_a_new_analysis_needs_only_its_module_and_config(tmp_path):
    target = f"{__name__}.FinalLossProbe"
    overrides = [f"+analysis.probe._target_={target}", "+analysis.probe.note=hello"]
    metrics = train(compose_train([*SMALL_SUM, *overrides], tmp_path / "sum"))
    assert metrics["probe"] == {"note": "hello", "epochs": 2}
    assert (tmp_path / "sum" / "probe.txt").read_text() == "hello"
    # It decides for itself where it applies: not to a tagger.
    tagger = ["experiment=tutorial_tagger", "trainer.max_epochs=2", "callbacks.tag_examples=null"]
    metrics = train(compose_train([*tagger, *overrides], tmp_path / "tagger"))
    assert "probe" not in metrics and not (tmp_path / "tagger" / "probe.txt").exists()
    # Switched off like a callback.
    off = train(compose_train([*SMALL_SUM, *overrides, "analysis.probe=null"], tmp_path / "off"))
    assert "probe" not in off
