"""The PBT member's callback: a copied member's optimizer takes its own explored values,
keeping its scheduler's place; unchanged values leave the restored state exactly."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from seqlab.callbacks.pbt import apply_explored_values


def restored_state(lr: float, steps: int = 3):
    """An Adam optimizer and a warmup (LinearLR) after `steps` steps, as a checkpoint
    restores them, in a trainer-like object."""
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.Adam([weight], lr=lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=10)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    trainer = SimpleNamespace(
        optimizers=[optimizer], lr_scheduler_configs=[SimpleNamespace(scheduler=scheduler)]
    )
    return trainer, optimizer, scheduler


def module(lr: float, optimizer: dict | None = None) -> SimpleNamespace:
    hparams = {"lr": lr, "optimizer": optimizer}
    return SimpleNamespace(hparams=hparams, configure_optimizers=None)


def test_unchanged_values_leave_the_restored_optimizer_exactly_as_it_was():
    trainer, optimizer, scheduler = restored_state(1e-3)
    before = (optimizer.param_groups[0]["lr"], list(scheduler.base_lrs))
    apply_explored_values(trainer, module(1e-3), {"lr": 1e-3, "optimizer": None})
    assert (optimizer.param_groups[0]["lr"], list(scheduler.base_lrs)) == before
    assert optimizer.param_groups[0]["lr"] < 1e-3  # still in its warmup


def test_a_new_learning_rate_rescales_the_schedule_in_place():
    trainer, optimizer, scheduler = restored_state(1e-3)
    warm = optimizer.param_groups[0]["lr"]
    apply_explored_values(trainer, module(1.2e-3), {"lr": 1e-3, "optimizer": None})
    group = optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(warm * 1.2)
    assert group["initial_lr"] == pytest.approx(1.2e-3)
    assert scheduler.base_lrs == [pytest.approx(1.2e-3)]
    scheduler.step()  # the warmup goes on from where it was, towards the new rate
    assert warm * 1.2 < group["lr"] < 1.2e-3


def test_a_changed_optimizer_setting_is_set_as_configured():
    trainer, optimizer, _ = restored_state(1e-3)
    given = {"_target_": "torch.optim.Adam", "_partial_": True, "weight_decay": 0.01}
    fresh = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=1e-3, weight_decay=0.01)
    pl_module = module(1e-3, given)
    pl_module.configure_optimizers = lambda: fresh
    apply_explored_values(trainer, pl_module, {"lr": 1e-3, "optimizer": None})
    assert optimizer.param_groups[0]["weight_decay"] == 0.01
