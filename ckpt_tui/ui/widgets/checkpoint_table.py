"""The ranked checkpoint table: every checkpoint of the view, best first within each trial."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Optional

from ckpt_tui.core.metrics import MISSING, lookup
from ckpt_tui.core.model import Checkpoint, Trial
from ckpt_tui.core.retention import KEEP_PINNED, Decision, Plan, PlanRows
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui.format import age_since, human_bytes, metric_text, short_trial
from ckpt_tui.ui.sorting import SORTS
from ckpt_tui.ui.widgets.line_table import Cells, Column, LineTable

COLUMN_OF_SORT = {key: column for key, (_title, _letter, column) in SORTS.items()}
COLUMN_OF_SORT["rank"] = "rank"

KEEP_MARK = "✓ keep"
DELETE_MARK = "✗ delete"
PINNED_MARK = "✓ pinned"
TRIAL_WIDTH = 30  # the trial column's widest (names are cut with "…")
TRIAL_WIDTH_NARROW = 18  # on a table narrower than WIDE_TABLE (80 columns)
WIDE_TABLE = 100
NAME_SCAN_LIMIT = 2000  # filtered views up to this many rows measure their own names


def mark(d: Optional[Decision]) -> tuple[str, str]:
    """A decision's mark and the component class that colours it."""
    if d is None:
        return "?", "checkpoint-table--muted"
    if d.code == KEEP_PINNED:
        return PINNED_MARK, "checkpoint-table--pinned"
    return (KEEP_MARK, "checkpoint-table--keep") if d.keep else (DELETE_MARK, "checkpoint-table--delete")


class CheckpointTable(LineTable):
    """Rows are plain ``Checkpoint`` references; a re-plan swaps the list, never widgets."""

    DEFAULT_CSS = """
    CheckpointTable > .checkpoint-table--keep { color: $success; }
    CheckpointTable > .checkpoint-table--delete { color: $error; text-style: bold; }
    CheckpointTable > .checkpoint-table--pinned { color: $accent; text-style: bold; }
    CheckpointTable > .checkpoint-table--warning { color: $warning; text-style: bold; }
    CheckpointTable > .checkpoint-table--muted { color: $text-muted; }
    """

    COMPONENT_CLASSES = LineTable.COMPONENT_CLASSES | {
        "checkpoint-table--keep",
        "checkpoint-table--delete",
        "checkpoint-table--pinned",
        "checkpoint-table--warning",
        "checkpoint-table--muted",
    }

    def __init__(self, *, now: Callable[[], float] = time.time, id=None, classes=None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: Sequence[Checkpoint] = []  # a list, or a PlanRows for the whole run
        self.plan: Optional[Plan] = None
        self.metric_columns: list[str] = []
        self.show_trial = True
        self.sort: tuple[Optional[str], bool] = (None, False)
        self.now = now
        self._now_value = 0.0
        self._name_widths: dict[str, tuple[object, int, int]] = {}  # tid -> (Trial, count, width)

    @property
    def current(self) -> Optional[Checkpoint]:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def show(
        self,
        rows: Sequence[Checkpoint],
        plan: Plan,
        *,
        show_trial: bool,
        metric_columns: list[str],
        keep_path: Optional[str] = None,
        keep_index: Optional[int] = None,
        sort: tuple[Optional[str], bool] = (None, False),
    ) -> None:
        """Show ``rows`` under ``plan``; the cursor stays on ``keep_path`` if it is still there
        (``keep_index``: where the caller thinks it is, checked before searching every row)."""
        old_cursor = self.cursor
        self.rows = rows
        self.plan = plan
        self.show_trial = show_trial
        self.metric_columns = list(metric_columns)
        self.sort = sort
        self._now_value = self.now()
        cursor = old_cursor
        if keep_index is not None and 0 <= keep_index < len(rows) and rows[keep_index].path == keep_path:
            cursor = keep_index
        elif keep_path is not None and isinstance(rows, list):
            # (A PlanRows is never searched: that would rank every trial. The caller asks it
            # for the position instead.)
            cursor = next((i for i, ckpt in enumerate(rows) if ckpt.path == keep_path), cursor)
        columns = self._columns()
        # What a row is (its mark, name and trial) stays on screen when metric columns push
        # the rest off to the right.
        fixed = 4 if self.show_trial else 3
        self.set_shape(columns, len(rows), cursor, fixed_columns=fixed)

    def refresh_rows(self) -> None:
        """Redraw the visible rows (sizes or ages changed; the rows did not)."""
        self._now_value = self.now()
        self.refresh()

    def _columns(self) -> list[Column]:
        # Name widths come from the data, computed once per re-plan: a pass over a list of
        # strings, cheap next to the plan itself.
        name_width = self._name_width()
        cols = [
            Column("mark", "keep?", 8),
            Column("warn", "!", 1),
            Column("checkpoint", "checkpoint", max(10, min(name_width, 32))),
        ]
        if self.show_trial:
            trial_width = max((len(short_trial(t)) for t in self._trial_ids()), default=5)
            cols.append(Column("trial", "trial", max(5, min(trial_width, self._trial_cap()))))
        cols += [
            Column("iter", "iter", 4, "right"),
            Column("score", "score", 8, "right"),
            Column("rank", "rank", 7, "right"),
            Column("size", "size", 7, "right"),
            Column("age", "age", 4, "right"),
        ]
        for key in self.metric_columns:
            cols.append(Column(f"metric:{key}", terminal_safe(key), max(9, min(len(key), 16)), "right"))
        return self._with_sort_arrow(cols)

    def _trial_cap(self) -> int:
        """The trial column's widest: narrower on a narrow table, so the figures still fit."""
        width = self.size.width
        return TRIAL_WIDTH if not width or width >= WIDE_TABLE else TRIAL_WIDTH_NARROW

    def on_resize(self) -> None:
        if self.plan is not None and self.columns:
            columns = self._columns()
            if [c.width for c in columns] != [c.width for c in self.columns]:
                self.set_shape(columns, self.row_count, self.cursor, fixed_columns=self.fixed_columns)
        super().on_resize()

    def _with_sort_arrow(self, cols: list[Column]) -> list[Column]:
        """The sorted column's title carries ↓ (first-press order) or ↑ (reversed)."""
        key, reverse = self.sort
        if key is None:
            return cols
        target = COLUMN_OF_SORT.get(key, key)
        arrow = " ↑" if reverse else " ↓"
        out = []
        for c in cols:
            if c.key == target:
                title = c.title + arrow
                c = Column(c.key, title, max(c.width, len(title)), c.align)
            out.append(c)
        return out

    def _name_width(self) -> int:
        """The longest checkpoint name shown. When the view is whole trials it comes from a
        per-trial cache: reading .name from 100,000 objects spread over memory takes ~30 ms.
        Names do not depend on the ranking, so this ranks nothing."""
        plan, rows = self.plan, self.rows
        if plan is None or not rows:
            return max((len(c.name) for c in rows), default=10)
        trial = plan.trials.get(rows[0].trial_id)
        if isinstance(rows, PlanRows) or len(rows) > NAME_SCAN_LIMIT:
            # A big filtered list: the widest name of the whole run, from the cache, is a
            # bound that costs nothing to find.
            trials: Iterable[Trial] = plan.trials.values()
        elif trial is not None and len(trial.checkpoints) == len(rows) and rows[-1].trial_id == trial.id:
            trials = [trial]
        else:
            return max((len(c.name) for c in rows), default=10)
        cache = self._name_widths
        width = 0
        for trial in trials:
            cached = cache.get(trial.id)
            if cached is not None and cached[0] is trial and cached[1] == len(trial.checkpoints):
                w = cached[2]
            else:
                w = max((len(c.name) for c in trial.checkpoints), default=0)
                cache[trial.id] = (trial, len(trial.checkpoints), w)
            if w > width:
                width = w
        return width or 10

    def _trial_ids(self):
        if self.plan is None:
            return []
        return self.plan.order.keys()

    def row_cells(self, index: int) -> Cells:
        ckpt = self.rows[index]
        plan = self.plan
        d = plan.decisions.get(ckpt) if plan is not None else None
        mark_text, mark_class = mark(d)
        mark_style = self.get_component_rich_style(mark_class)
        warn = "!" if d is not None and d.note else ""
        warn_style = self.get_component_rich_style("checkpoint-table--warning") if warn else None
        attr = plan.config.checkpoint_score_attribute if plan is not None else None
        score = "—" if d is None or not attr or ckpt.report is None else metric_text(d.value, 8)
        rank = f"{d.rank}/{d.of}" if d is not None and d.rank is not None else "—"
        iteration = ckpt.iteration
        cells: Cells = [
            (mark_text, mark_style),
            (warn, warn_style),
            (terminal_safe(ckpt.name), None),
        ]
        if self.show_trial:
            cells.append((short_trial(ckpt.trial_id), None))
        cells += [
            (str(iteration) if iteration is not None else "—", None),
            (score, None),
            (rank, None),
            (human_bytes(ckpt.size_bytes), None),
            (age_since(self._now_value, ckpt.mtime), None),
        ]
        for key in self.metric_columns:
            value = lookup(ckpt.report.metrics, key) if ckpt.report is not None else MISSING
            cells.append((metric_text(value), None))
        return cells
