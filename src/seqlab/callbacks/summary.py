"""The model summary printed as training starts (conf/callbacks/model_summary.yaml)."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import get_human_readable_count
from lightning.pytorch.utilities.model_summary.model_summary import get_formatted_model_size

FLOPS = "FLOPs"


class ModelSummary(RichModelSummary):
    """Lightning's rich model summary, without FLOPs.

    Lightning counts FLOPs with torch's FlopCounterMode over an example input. That mode
    sees the linear layers but not the fused LSTM kernels, so even with an example input
    an LSTM's count would be a small fraction of the truth, and without one it is 0. A
    wrong number is worse than none: the column and the total are left out.
    """

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int = 0,
        **summarize_kwargs: Any,
    ) -> None:
        from rich import get_console
        from rich.table import Table

        columns = [(name, values) for name, values in summary_data if name != FLOPS]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        for name, _ in columns:
            style = {" ": "dim", "In sizes": "white", "Out sizes": "white"}.get(name)
            left = name in (" ", "Name", "Type", "Mode")
            table.add_column(name, justify="left" if left else "right", style=style)
        for row in zip(*(values for _, values in columns), strict=True):
            table.add_row(*row)
        totals = Table.grid(expand=True)
        totals.add_column()
        frozen = total_parameters - trainable_parameters
        for label, value in (
            ("Trainable params", get_human_readable_count(int(trainable_parameters))),
            ("Non-trainable params", get_human_readable_count(int(frozen))),
            ("Total params", get_human_readable_count(int(total_parameters))),
            ("Total estimated model params size (MB)", get_formatted_model_size(model_size)),
            ("Modules in train mode", str(total_training_modes["train"])),
            ("Modules in eval mode", str(total_training_modes["eval"])),
        ):
            totals.add_row(f"[bold]{label}[/]: {value}")
        console = get_console()
        console.print(table)
        console.print(totals)
