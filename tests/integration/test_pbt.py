"""Population-based training (hparams_search=sum_pbt, hydra/sweeper=seqlab_pbt) on the
notebook's full-batch sum regressor: a copy continues exactly, a population killed mid-run
(a member, then the driver) resumes to the same lineage and numbers, and one in
local_parallel's GPU slots equals one on the basic launcher (the real SLURM: test_slurm.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, start_cli
from tests.integration.conftest import only_sweep
from tests.integration.test_faults import kill, wait_for

# 2 members, generations of 2 epochs; at each step the worse copies the better's checkpoint.
PBT = [
    "seqlab-train",
    "hparams_search=sum_pbt",
    "experiment=tutorial_sum",
    "model.scheduler=null",
    "trainer.max_epochs=6",
    "hydra.sweeper.population=2",
    "hydra.sweeper.quantile=0.5",
    "hydra.sweeper.interval=2",
    "threads=1",
    "callbacks.progress_bar=null",
    "logger=csv",
]


def members(sweep: Path, population: int = 2) -> list[dict]:
    return [json.loads((sweep / str(m) / "metrics.json").read_text()) for m in range(population)]


def histories(sweep: Path) -> list[list[float]]:
    return [[row["val/mse"] for row in m["history"]] for m in members(sweep)]


@pytest.mark.slow  # make test-faults: a population of two
def test_a_copy_continues_exactly_from_the_donors_state(cli_cwd):
    """Factor 1 and no resampling: exploring changes nothing, so a member that copied
    another at epoch 2 trains on exactly as the donor does: every later epoch's val/mse
    equals the donor's, to the last bit, while the two share their values; its metrics.json
    records the copy."""
    values = (
        "hydra.sweeper.hyperparams={model.lr:{init:{low:0.01,high:0.3,log:true},factors:[1.0]}}"
    )
    result = run_cli([*PBT, values, "trainer.max_epochs=4"], cli_cwd, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    pbt = json.loads((sweep / "pbt.json").read_text())
    copies = [e for g in pbt["generations"] for e in g["exploits"]]
    assert [e["epoch"] for e in copies] == [2]  # one copy per step, none after the last
    runs = histories(sweep)
    for record in pbt["generations"]:
        for e in record["exploits"]:
            member, donor, k = e["member"], e["donor"], e["epoch"]
            assert e["after"] == record["values"][str(donor)]  # factor 1: the donor's values
            # Until either of the two copies again, the member is the donor, epoch by epoch.
            later = [
                c["epoch"] for c in copies if c["epoch"] > k and c["member"] in (member, donor)
            ]
            end = min(later, default=4)
            assert runs[member][k:end] == runs[donor][k:end], (member, donor, k)
            assert runs[member][:k] == runs[donor][:k]  # the copied history comes with it
            lineage = members(sweep)[member]["pbt"]["lineage"]
            assert any(c["epoch"] == k and c["donor"] == donor for c in lineage)


@pytest.mark.slow  # make test-faults: three populations of two
def test_a_killed_population_resumes_to_the_same_lineage_and_numbers(cli_cwd, tmp_path):
    """local_parallel, 2 at a time. Uninterrupted: the reference. Then: member 1 is
    SIGKILLed at the start of epoch 3 (generation 2) and the sweep stops; resume= runs on,
    and its driver (with its workers) is SIGKILLed once pbt.json holds 2 generations;
    resume= again ends it. The lineage and every member's numbers equal the reference's."""
    parallel = [*PBT, "hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2"]
    whole_dir = tmp_path / "whole"
    whole_dir.mkdir()
    result = run_cli(parallel, whole_dir, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    whole = only_sweep(whole_dir)

    killer = [
        "+callbacks.killer._target_=tests.integration.self_kill.KillMemberOnce",
        "+callbacks.killer.member=${pbt.member}",
        "+callbacks.killer.kill=1",
        "+callbacks.killer.epoch=2",
    ]
    repo = {"PYTHONPATH": str(REPO)}  # the workers import the killer from tests/
    result = run_cli([*parallel, *killer], cli_cwd, timeout=600, **repo)
    assert result.returncode != 0
    sweep = only_sweep(cli_cwd)
    assert (sweep / "1" / "killed_once").exists()
    assert len(json.loads((sweep / "pbt.json").read_text())["generations"]) == 1

    driver = start_cli([*parallel, *killer, f"resume={sweep}"], cli_cwd, **repo)
    try:
        wait_for(
            lambda: len(json.loads((sweep / "pbt.json").read_text())["generations"]) >= 2,
            timeout=300,
            proc=driver,
        )
    finally:
        kill(driver)
    result = run_cli([*parallel, *killer, f"resume={sweep}"], cli_cwd, timeout=600, **repo)
    assert result.returncode == 0, result.stderr[-3000:]

    ours, theirs = (json.loads((d / "pbt.json").read_text()) for d in (sweep, whole))
    assert ours["generations"] == theirs["generations"]
    assert ours["members"] == theirs["members"] and ours["winner"] == theirs["winner"]
    assert histories(sweep) == histories(whole)
    for mine, reference in zip(members(sweep), members(whole), strict=True):
        assert mine["pbt"] == reference["pbt"] and mine["status"] == "completed"
        assert mine["final"] == reference["final"]


@pytest.mark.slow  # make test-faults: each member's job its own process, twice
def test_a_population_in_gpu_slots_equals_one_on_the_basic_launcher(cli_cwd, tmp_path):
    """local_parallel with two GPUs given (none here: each job pinned to one through
    CUDA_VISIBLE_DEVICES trains on the CPU): every generation runs the members in the
    slots, and the lineage and every epoch equal the basic launcher's."""
    short = [*PBT, "trainer.max_epochs=4"]
    slots = ["hydra/launcher=local_parallel", "hydra.launcher.gpus=[0,1]"]
    result = run_cli([*short, *slots], cli_cwd, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    here = tmp_path / "here"
    here.mkdir()
    result = run_cli(short, here, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    reference = only_sweep(here)
    ours, theirs = (json.loads((d / "pbt.json").read_text()) for d in (sweep, reference))
    assert ours["generations"] == theirs["generations"] and ours["members"] == theirs["members"]
    assert histories(sweep) == histories(reference)
    assert {m["gpu"]["gpu"] for m in members(sweep)} == {"0", "1"}  # each in a slot
