"""A race (seqlab.tuning.race, race.json) as the first section of a sweep's summary.md:
how it ended, the jobs it saved, and per setting the seeds it got and why it stopped."""

from __future__ import annotations

import math
from typing import Any

from seqlab.render.tables import markdown_table
from seqlab.tuning.race import race_rows


def race_markdown(race: dict[str, Any]) -> str:
    """The section, or "" for a sweep that was no race."""
    if not race:
        return ""
    settings = race.get("settings", {})
    rounds = len(race.get("rounds", []))
    level = race.get("level", math.nan)
    text = [
        "",
        f"## Race: {race.get('outcome', '')}",
        "",
        f"Each setting started with {settings.get('min_seeds')} seeds; after each round a "
        f"setting whose {level:.2%} interval of the best `{race.get('metric')}` lay wholly "
        f"on the wrong side of the leader's stopped, and the others got one more seed, up to "
        f"{settings.get('max_seeds')}"
        + (f" within {settings['budget']} jobs" if settings.get("budget") else "")
        + f". {rounds} round(s). The level is 95% with Bonferroni's correction over the "
        f"{settings.get('max_seeds', 0) - settings.get('min_seeds', 0) + 1} rounds a race "
        "can have (docs/search.md).",
    ]
    rows = race_rows(race)
    table = markdown_table(rows, list(rows[0])) if rows else ""
    return "\n".join([*text, "", table, ""])
