"""Add or remove metric columns of the checkpoint table."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui.screens.fit import LIST_CHROME, fit_scroll
from ckpt_tui.ui.widgets.marked_selection_list import MarkedSelectionList


class ChooseColumnsScreen(ModalScreen[Optional[list[str]]]):
    """Space toggles a key, enter applies; dismisses with the chosen keys in run order."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),
    ]

    def __init__(self, keys: list[str], chosen: list[str]) -> None:
        super().__init__()
        self.keys = keys
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="columns-box"):
            yield Static("Metric columns", classes="dialog-title")
            yield MarkedSelectionList(*[(terminal_safe(k), k, k in self.chosen) for k in self.keys], id="columns")
            yield Static("space toggles (✓ shown) · enter applies · escape cancels", classes="dialog-hint")

    def on_resize(self) -> None:
        fit_scroll(self, self.query_one(MarkedSelectionList), chrome=LIST_CHROME)

    def on_mount(self) -> None:
        fit_scroll(self, self.query_one(MarkedSelectionList), chrome=LIST_CHROME)
        self.query_one(MarkedSelectionList).focus()

    def action_apply(self) -> None:
        selected = set(self.query_one(MarkedSelectionList).selected)
        # Columns already shown keep their place; new ones go to the end.
        ordered = [k for k in self.chosen if k in selected] + [
            k for k in self.keys if k in selected and k not in self.chosen
        ]
        self.dismiss(ordered)

    def action_cancel(self) -> None:
        self.dismiss(None)
