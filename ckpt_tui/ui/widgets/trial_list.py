"""The trial pane: 'all trials' and one row per trial; moving the cursor filters the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from rich.style import Style

from ckpt_tui.ui.format import fit, human_bytes, short_count
from ckpt_tui.ui.widgets.line_table import Cells, Column, LineTable

if TYPE_CHECKING:  # trial_rows builds TrialRow: a runtime import would be circular
    from ckpt_tui.ui.trial_rows import TrialRows


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
    DEFAULT_CSS = """
    TrialList > .trial-list--running { color: $success; text-style: bold; }
    TrialList > .trial-list--error { color: $error; text-style: bold; }
    TrialList > .trial-list--all { text-style: italic; }
    TrialList > .trial-list--warning { color: $warning; text-style: bold; }
    """
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

    def show(self, rows: TrialRows, keep_trial: Optional[str]) -> None:
        """``rows``: a sequence that builds rows as they are drawn (TrialRows), and says where a
        trial is and how wide the columns must be without building any."""
        self.rows = rows
        kept_width = max(5, rows.kept_width)
        self.set_class(kept_width > 5, "-wide-counts")
        columns = [
            Column("warn", "!", 1),
            Column("trial", "trial", max(10, min(rows.label_width, 14))),
            Column("status", "status", 10),
            Column("ckpts", "kept", kept_width, "right"),
            Column("best", "best", 7, "right"),
            Column("size", "size", 7, "right"),
        ]
        self.set_shape(columns, len(rows), rows.index_of(keep_trial))

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
            (kept_text(row.kept, row.total, self.columns[3].width), None),
            (fit(row.best, 7), None),
            (human_bytes(row.size_bytes), None),
        ]


def kept_text(kept: Optional[int], total: int, width: int = 0) -> str:
    """ "kept/total" (counts of 10,000 and more in thousands); just "kept" when that does not
    fit ``width`` (the run's row of a big run: the summary line has both in full)."""
    kept_part = "…" if kept is None else short_count(kept)
    text = f"{kept_part}/{short_count(total)}"
    return kept_part if width and len(text) > width else text
