"""The trial pane's rows for one plan, each built when it is first drawn.

A pane shows thirty of 1,000 trials: building a row ranks its trial (for the kept count), so
building them on demand is what lets a new attribute reach the screen before every trial is
ranked. The "all trials" row shows the run's totals once the plan has them, "…" before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Optional, overload

from ckpt_tui.core.metrics import MISSING, lookup
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.session.trial_sizes import TrialSizes
from ckpt_tui.ui.format import fast_is_number, metric_text, plural, short_trial
from ckpt_tui.ui.widgets.trial_list import TrialRow, kept_text


class TrialStats(TrialSizes):
    """Per-trial figures that outlive a plan: bytes (``TrialSizes``, the same whatever the
    order) and the best score (per attribute and order). Keyed by the Trial object, which a
    re-read replaces."""

    def __init__(self) -> None:
        super().__init__()
        self._best: dict[tuple, tuple[list, str]] = {}  # (tid, attr, order) -> (ordered, text)

    def best(self, plan: Plan, trial_id: str) -> str:
        """The trial's best score as text: the first finite one, best first (NaN ranks last)."""
        attr = plan.config.checkpoint_score_attribute
        if not attr:
            return "—"
        ordered = plan.order[trial_id]
        key = (trial_id, attr, plan.config.checkpoint_score_order)
        cached = self._best.get(key)
        if cached is not None and cached[0] is ordered:
            return cached[1]
        if len(self._best) > 8 * max(1, len(plan.trials)):
            self._best.clear()
        best = "—"
        for ckpt in ordered:
            # Read from the report, not plan.decisions, which would build a Decision.
            value: Any = lookup(ckpt.report.metrics, attr) if ckpt.report is not None else MISSING
            if value is not MISSING and fast_is_number(value) and math.isfinite(value):
                best = metric_text(value, 7)
                break
        self._best[key] = (ordered, best)
        return best


class TrialRows(Sequence[TrialRow]):
    """Row 0 is "all trials"; row i is the plan's i-th trial."""

    def __init__(self, plan: Plan, stats: TrialStats) -> None:
        self.plan = plan
        self.stats = stats
        self.ids = list(plan.trials)
        self._rows: dict[int, TrialRow] = {}
        self._index: Optional[dict[str, int]] = None

    def __len__(self) -> int:
        return len(self.ids) + 1

    @overload
    def __getitem__(self, index: int) -> TrialRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[TrialRow]: ...

    def __getitem__(self, index: int | slice) -> TrialRow | list[TrialRow]:
        if isinstance(index, slice):  # as a Sequence must; the pane itself reads rows one by one
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        row = self._rows.get(index)
        if row is None:
            row = self._all_row() if index == 0 else self._trial_row(self.ids[index - 1])
            if index or self.plan.complete:  # "all trials" is rebuilt until its totals are in
                self._rows[index] = row
        return row

    def index_of(self, trial_id: Optional[str]) -> int:
        if trial_id is None:
            return 0
        if self._index is None:
            self._index = {tid: i for i, tid in enumerate(self.ids, 1)}
        return self._index.get(trial_id, 0)

    @property
    def label_width(self) -> int:
        return max((len(short_trial(t)) for t in self.ids), default=5)

    @property
    def kept_width(self) -> int:
        """Wide enough for any trial's "total/total"."""
        widest = max(map(self.plan.trial_size, self.ids), default=0)
        return len(kept_text(widest, widest))

    def _all_status(self) -> str:
        n = len(self.ids)
        return plural(n, "trial") if n < 1000 else f"{n:,}"  # the status column is 10 wide

    def _all_row(self) -> TrialRow:
        plan = self.plan
        total_bytes, known = self.stats.run_size(plan)
        count = sum(map(plan.trial_size, self.ids))
        kept = plan.keep_count if plan.complete else None
        return TrialRow(None, "all trials", self._all_status(), kept, count, "", total_bytes if known else None)

    def _trial_row(self, trial_id: str) -> TrialRow:
        plan = self.plan
        trial = plan.trials[trial_id]
        count, doomed = plan.trial_counts(trial_id)
        size, known = self.stats.size(trial)
        return TrialRow(
            trial_id=trial_id,
            label=short_trial(trial_id),
            status=terminal_safe(trial.status) if trial.status else "—",
            kept=count - doomed,
            total=count,
            best=self.stats.best(plan, trial_id),
            size_bytes=size if known else None,
            warnings=len(trial.warnings),
        )
