"""The trial pane: 'all trials' and one row per trial; moving the cursor filters the table."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Optional

from rich.style import Style

from ckpt_tui.ui.format import fit, human_bytes, short_trial
from ckpt_tui.ui.widgets.line_table import Cells, Column, LineTable


@dataclass(frozen=True)
class TrialRow:
    """One trial as the pane shows it; built by the app at each re-plan."""

    trial_id: Optional[str]  # None: the "all trials" row
    label: str
    status: str
    kept: Optional[int]  # None: the run's totals are still being ranked
    total: int
    best: str
    size_bytes: Optional[int]  # None while sizes are unknown
    warnings: int = 0


class TrialList(LineTable):
    COMPONENT_CLASSES = LineTable.COMPONENT_CLASSES | {
        "trial-list--running",
        "trial-list--error",
        "trial-list--all",
        "trial-list--warning",
    }

    def __init__(self, *, id=None, classes=None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: Sequence[TrialRow] = []

    @property
    def current(self) -> Optional[TrialRow]:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def show(self, rows: Sequence[TrialRow], keep_trial: Optional[str]) -> None:
        """``rows``: a list, or a sequence that builds rows as they are drawn and has
        ``index_of(trial_id)`` and ``label_width`` (so showing it builds none)."""
        self.rows = rows
        index_of = getattr(rows, "index_of", None)
        if index_of is not None:
            cursor = index_of(keep_trial)
            label_width = rows.label_width
        else:
            cursor = next((i for i, row in enumerate(rows) if row.trial_id == keep_trial), 0)
            label_width = max((len(r.label) for r in rows), default=5)
        columns = [
            Column("warn", "!", 1),
            Column("trial", "trial", max(10, min(label_width, 14))),
            Column("status", "status", 10),
            Column("ckpts", "kept", 5, "right"),
            Column("best", "best", 7, "right"),
            Column("size", "size", 7, "right"),
        ]
        self.set_shape(columns, len(rows), cursor)

    def row_style(self, index: int) -> Optional[Style]:
        if self.rows[index].trial_id is None:
            return self.get_component_rich_style("trial-list--all")
        return None

    def row_cells(self, index: int) -> Cells:
        row = self.rows[index]
        status_style = None
        if row.status == "RUNNING":
            status_style = self.get_component_rich_style("trial-list--running")
        elif row.status == "ERROR":
            status_style = self.get_component_rich_style("trial-list--error")
        return [
            ("!" if row.warnings else "", self.get_component_rich_style("trial-list--warning")),
            (row.label, None),
            (row.status, status_style),
            (f"{'…' if row.kept is None else row.kept}/{row.total}", None),
            (fit(row.best, 7), None),
            (human_bytes(row.size_bytes), None),
        ]


def trial_label(trial_id: str) -> str:
    return short_trial(trial_id)
