"""What the summary lines show: one frozen value, set on the Summary widget's reactive ``state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class SummaryState:
    root: str  # the run root as the user gave it (~ for home)
    layout: str
    trials: int
    watch: str  # "live", "live (polling every 2s)", "not watching", ...
    config_line: str  # CheckpointConfig(...) as in force
    kept: Optional[int]  # None: still ranking ("…")
    delete: Optional[int]
    reclaim: str  # bytes the plan frees, formatted ("…" while summed)
    total: str  # the run's bytes, formatted
    sizing: str  # the activity: reading, sizing, checking, deleting progress
    warnings: int
    scope: str  # all trials / one trial, the text filter, the sort
    counting: bool = False  # sizes still being summed: the figures are what is known so far
    untracked: str = ""
