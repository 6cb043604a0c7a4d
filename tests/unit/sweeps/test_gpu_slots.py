"""seqlab.sweeps.gpu_slots: which GPUs a sweep sees, its slots, and the SLURM GPU request."""

from __future__ import annotations

import threading
import time

import pytest

from seqlab.config import ConfigError
from seqlab.sweeps.gpu_slots import (
    GpuSlots,
    Slot,
    chosen_gpus,
    job_slot,
    jobs_at_once,
    slurm_gpu_request,
    visible_gpus,
)


@pytest.mark.parametrize(
    ("value", "gpus"),
    [
        ("0,1", ["0", "1"]),
        ("2, 3", ["2", "3"]),
        ("", []),
        ("-1", []),
        ("1,-1,2", ["1"]),  # CUDA ignores every entry from the first invalid one on
        ("GPU-8f3a,MIG-77", ["GPU-8f3a", "MIG-77"]),
    ],
)
def test_visible_gpus_are_cuda_visible_devices_where_set(value, gpus):
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": value}) == gpus


def test_without_cuda_visible_devices_nvml_counts_them(monkeypatch):
    import seqlab.sweeps.gpu_slots as module

    monkeypatch.setattr(module, "nvml_device_count", lambda: 3)
    assert visible_gpus({}) == ["0", "1", "2"]


def test_nvml_without_a_driver_counts_none():
    # This machine has no NVIDIA driver (the suite never depends on a GPU).
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible here")
    assert visible_gpus({}) == []


def test_chosen_gpus():
    assert chosen_gpus([0, 1]) == ["0", "1"]
    assert chosen_gpus(["GPU-8f3a"]) == ["GPU-8f3a"]
    assert chosen_gpus([]) == []
    for bad, says in [
        (3, "hydra.launcher.gpus=3: allowed: null"),
        ([0, 0], "a GPU is named twice"),
        ([-1], "-1 is not a GPU"),
        ([True], "True is not a GPU"),
        ([1.5], "1.5 is not a GPU"),
    ]:
        with pytest.raises(ConfigError, match=says):
            chosen_gpus(bad)


def test_a_job_takes_the_least_loaded_gpu_and_the_lowest_free_slot():
    slots = GpuSlots(["0", "1"], jobs_per_gpu=2)
    taken = [slots.acquire() for _ in range(4)]
    assert taken == [Slot("0", 0), Slot("1", 0), Slot("0", 1), Slot("1", 1)]
    slots.release(Slot("1", 0))
    assert slots.acquire() == Slot("1", 0)


def test_a_job_waits_for_a_slot_and_gets_the_first_one_freed():
    slots = GpuSlots(["0"], jobs_per_gpu=2)
    first, second = slots.acquire(), slots.acquire()
    got: list[Slot] = []
    waiting = threading.Thread(target=lambda: got.append(slots.acquire()))
    waiting.start()
    time.sleep(0.2)
    assert got == []  # both slots are taken
    slots.release(second)
    waiting.join(timeout=5)
    assert got == [second] and first != second


def test_many_threads_never_take_more_than_k_on_a_gpu():
    slots = GpuSlots(["0", "1", "2"], jobs_per_gpu=2)
    running: dict[str, int] = {"0": 0, "1": 0, "2": 0}
    most = dict(running)
    lock = threading.Lock()

    def job() -> None:
        with slots.taken() as slot:
            with lock:
                running[slot.gpu] += 1
                most[slot.gpu] = max(most[slot.gpu], running[slot.gpu])
            time.sleep(0.01)
            with lock:
                running[slot.gpu] -= 1

    threads = [threading.Thread(target=job) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == {"0": 2, "1": 2, "2": 2}


def test_a_limit_caps_the_slots_over_all_gpus():
    slots = GpuSlots(["0", "1"], jobs_per_gpu=4, limit=3)
    assert slots.size == 3
    assert {slots.acquire().gpu for _ in range(3)} == {"0", "1"}


def test_a_job_is_told_its_slot_and_the_jobs_at_once():
    env = Slot("1", 0).environment(jobs_per_gpu=2, jobs_at_once=4)
    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    assert job_slot(env) == {"gpu": "1", "slot": 0, "jobs_per_gpu": 2, "visible_devices": "1"}
    assert jobs_at_once(env) == 4
    assert job_slot({"CUDA_VISIBLE_DEVICES": "0"}) == {"visible_devices": "0"}  # SLURM's GRES
    assert job_slot({}) is None and jobs_at_once({}) is None


def test_slurm_gpu_request():
    assert slurm_gpu_request({"gpus_per_node": None})["gpus_per_node"] == 1
    assert slurm_gpu_request({"gpus_per_node": 0})["gpus_per_node"] == 0
    sharded = slurm_gpu_request({"gpus_per_node": None, "shards": 2, "gres": None})
    assert sharded["gres"] == "shard:2" and sharded["gpus_per_node"] is None
    assert "shards" not in sharded
    with pytest.raises(ConfigError, match="shards=1 and hydra.launcher.gpus_per_node=1: give one"):
        slurm_gpu_request({"gpus_per_node": 1, "shards": 1})
    with pytest.raises(ConfigError, match="shards=0: allowed"):
        slurm_gpu_request({"shards": 0})
