# seqlab: `make run` and `make test` set themselves up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is pinned here, not in pyproject.toml: a CPU build installed first keeps pip from
# pulling a multi-GB CUDA build; pyproject.toml keeps a wide range for other builds.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
# pytest workers (pytest-xdist) for make test and test-install: one per core by default.
# The tests train with one torch thread (threads=1), so the workers share the cores evenly.
TEST_JOBS ?= auto

.PHONY: setup run test test-unit test-install test-faults test-all test-slurm bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/seqlab-train $(ARGS)

# The unit and integration tiers (tests/unit, tests/integration): not `slow`, `slurm`, `perf`.
test: lint
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) $(ARGS)

# The unit tier alone, without lint: in-process tests, under a minute.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit $(ARGS)

# seqlab installed as users install it, each into a fresh venv: a wheel, a plain pip install -e .
test-install: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) -m slow tests/integration/test_install.py $(ARGS)

# The slow cases of the fault suite (full disks, kills at writes, two processes on one
# directory, torn files, moved sweeps), of the hostile checkpoints (every command with
# every payload), of the GPU slots (jobs killed in their slots), Hydra's suites on the
# GPU-slot path (a process per job), of the other launchers (submitit's local one, DDP on
# two processes, local_parallel's pool, Optuna and local_parallel from Python), of killed
# and resumed sweeps and of Optuna studies (stopped, resumed, several objectives), of W&B
# sweep files run offline and of a sweep file side by side, and the trackers (a real MLflow
# server, a killed sweep resumed into its MLflow runs, W&B offline under strace), and
# population-based training (an exact copy; a population killed and resumed). Full disks
# and read-only mounts need root.
FAULTS := tests/integration/test_faults.py tests/integration/test_hostile_checkpoints.py \
	tests/integration/test_gpu_slots.py tests/integration/test_hydra_contract.py \
	tests/integration/test_cluster.py tests/integration/test_sweeps.py \
	tests/integration/test_search_cli.py tests/integration/test_python_api.py \
	tests/integration/test_sweep_files.py tests/integration/test_report_cli.py \
	tests/integration/test_tensorboard.py tests/integration/test_cli.py \
	tests/integration/test_legacy_checkpoints.py tests/integration/test_treebanks.py \
	tests/integration/test_trackers.py tests/integration/test_pbt.py
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) -m slow $(FAULTS) $(ARGS)

# Also the tests marked `slow`, `slurm` and `perf`.
test-all: lint
	$(BIN)/python -m pytest -q -m "" $(ARGS)

# The cluster path on a real one-node SLURM (scripts/slurm_local.sh starts it; needs root).
test-slurm: lint
	$(BIN)/python -m pytest -q -m slurm $(ARGS)

# seqlab against hand-written baselines; the table goes to outputs/bench/bench.md. Then the
# wall-clock assertions of tests/perf.
bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)
	$(BIN)/python -m pytest -q -m perf tests/perf

# ruff, and import-linter's contracts (pyproject.toml): the layers, no cycles, light modules.
lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix src tests scripts
	$(BIN)/ruff format src tests scripts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
