"""The view's rows: one trial or all, a text filter over "trial/checkpoint", in the plan's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from ckpt_tui.core.model import Checkpoint, Trial
from ckpt_tui.core.retention import Plan


class NameIndex:
    """Each trial's checkpoint names lowercased, and joined by newlines, so a trial without a
    match costs one substring search (typing a filter on 100,000 rows). Keyed by Trial object."""

    def __init__(self) -> None:
        self._names: dict[str, tuple[Trial, list[str], str]] = {}

    def matching_rows(self, plan: Plan, trial_filter: Optional[str], needle: str) -> list[Checkpoint]:
        """The view's rows whose path within the run ("trial/checkpoint") contains ``needle``
        (lowercase), best first."""
        ids = [trial_filter] if trial_filter is not None else list(plan.trials)
        out: list[Checkpoint] = []
        for tid in ids:
            trial = plan.trials.get(tid)
            if trial is None:
                continue
            if "/" in needle:  # may span the trial id and the name
                out.extend(c for c in plan.order[tid] if needle in f"{tid}/{c.name}".lower())
                continue
            cached = self._names.get(tid)
            if cached is None or cached[0] is not trial or len(cached[1]) != len(trial.checkpoints):
                lowered = [c.name.lower() for c in trial.checkpoints]
                cached = self._names[tid] = (trial, lowered, "\n".join(lowered))
            if needle in tid.lower():
                out.extend(plan.order[tid])
            elif needle in cached[2]:
                hits = {c for c, name in zip(trial.checkpoints, cached[1]) if needle in name}
                out.extend(c for c in plan.order[tid] if c in hits)
        return out


def row_of(plan: Plan, rows: Sequence[Checkpoint], ckpt: Checkpoint) -> Optional[int]:
    """The row of ``ckpt`` in ``rows`` (the plan's order: the whole run, or one trial)."""
    position = getattr(rows, "position", None)
    if position is not None:
        return position(ckpt)
    outcome = plan.outcome(ckpt.trial_id)
    return outcome.ranking.pos.get(ckpt) if outcome is not None else None


def same_checkpoint(plan: Plan, ckpt: Checkpoint) -> Optional[Checkpoint]:
    """The checkpoint at ``ckpt``'s path in its trial as ``plan`` has it (a re-read trial holds
    new Checkpoint objects)."""
    trial = plan.trials.get(ckpt.trial_id)
    if trial is None:
        return None
    return next((c for c in trial.checkpoints if c.path == ckpt.path), None)


def view_rows(
    plan: Plan,
    names: NameIndex,
    trial_filter: Optional[str],
    text_filter: str,
    current: Optional[Checkpoint],
    keep_path: Optional[str],
) -> tuple[Sequence[Checkpoint], Optional[int]]:
    """The rows the view shows, in the plan's order, and the row of the checkpoint the cursor
    was on (None: unknown; the table finds it by ``keep_path``)."""
    needle = text_filter.strip().lower()
    if needle:
        return names.matching_rows(plan, trial_filter, needle), None
    rows = plan.ordered(trial_filter)
    keep_index = None
    if current is not None and current.path == keep_path:
        keep_index = row_of(plan, rows, current)
        if keep_index is None:
            # Its trial was re-read (a new checkpoint landed in it): the same checkpoint is a
            # new object now; find it by its path, in its trial only.
            same = same_checkpoint(plan, current)
            if same is not None:
                keep_index = row_of(plan, rows, same)
    return rows, keep_index
