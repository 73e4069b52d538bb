"""The overview's table: one row per experiment of a storage root, drawn with the Line API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rich.style import Style

from ckpt_tui.ui.widgets.line_table import Cells, Column, LineTable


@dataclass
class ExperimentRow:
    """One experiment as the table shows it; figures are None while unknown (drawn as …)."""

    rel: str
    layout: str
    trials: Optional[int] = None
    checkpoints: Optional[int] = None
    size: str = "…"
    frees: str = "…"
    delete: Optional[int] = None
    newest: str = ""
    active: bool = False
    config: str = "…"
    error: Optional[str] = None
    total_bytes: Optional[int] = None  # for sorting
    reclaim_bytes: Optional[int] = None
    newest_time: Optional[float] = None


SORTS = {  # sort name -> header title it marks
    "bytes": "size",
    "frees": "frees",
    "checkpoints": "ckpts",
    "trials": "trials",
    "newest": "newest write",
    "path": "experiment",
}


class ExperimentTable(LineTable):
    """Rows are handed over as a list; the cursor follows an experiment by its path."""

    def __init__(self, *, id=None, classes=None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[ExperimentRow] = []
        self.sort = "bytes"

    @property
    def current(self) -> Optional[ExperimentRow]:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def show(self, rows: list[ExperimentRow], sort: str, keep_rel: Optional[str]) -> None:
        self.rows = rows
        self.sort = sort
        cursor = 0
        if keep_rel is not None:
            for i, row in enumerate(rows):
                if row.rel == keep_rel:
                    cursor = i
                    break
        self.set_shape(self._columns(), len(rows), cursor)
        self.refresh()

    def _columns(self) -> list[Column]:
        width = max([10] + [len(r.rel) for r in self.rows])
        marked = SORTS.get(self.sort)

        def title(text: str) -> str:
            return text + (" ▼" if text == marked and self.sort != "path" else " ▲" if text == marked else "")

        # What matters most first: at 80 columns the path, bytes and what goes fit; the rest
        # scrolls in from the right (h / l).
        return [
            Column("experiment", title("experiment"), min(width, 32)),
            Column("size", title("size"), 9, "right"),
            Column("frees", title("frees"), 17, "right"),
            Column("ckpts", title("ckpts"), 8, "right"),
            Column("trials", title("trials"), 8, "right"),
            Column("newest", title("newest write"), 14),
            Column("layout", "layout", 9),
            Column("config", "config", 24),
        ]

    def row_cells(self, index: int) -> Cells:
        r = self.rows[index]
        dim = Style(dim=True)
        if r.error:
            return [
                (r.rel, None),
                ("", None),
                ("", None),
                ("", None),
                ("", None),
                ("", None),
                (r.layout, dim),
                (f"! {r.error}", Style(color="red")),
            ]
        frees = r.frees if r.delete is None else (f"✗ {r.delete} · {r.frees}" if r.delete else "nothing")
        return [
            (r.rel, None),
            (r.size, None),
            (frees, Style(color="red") if r.delete else dim),
            ("…" if r.checkpoints is None else f"{r.checkpoints:,}", None),
            ("…" if r.trials is None else f"{r.trials:,}", None),
            (("● " if r.active else "  ") + r.newest, Style(color="green", bold=True) if r.active else dim),
            (r.layout, dim),
            (r.config, None),
        ]
