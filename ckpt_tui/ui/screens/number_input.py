"""Type num_to_keep: a whole number >= 1, or 'all' / 'none' to keep everything."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ckpt_tui.core.config import ConfigError, parse_num_to_keep


class NumberInputScreen(ModalScreen[Optional[str]]):
    """Dismisses with the text typed (already validated), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: Optional[int]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="number-box"):
            yield Static("num_to_keep", classes="dialog-title")
            yield Input(
                value="" if self.current is None else str(self.current),
                placeholder="a number >= 1, or all",
                id="number",
            )
            yield Static("", id="number-error")
            yield Static("enter sets · escape cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parse_num_to_keep(event.value)
        except ConfigError as exc:
            self.query_one("#number-error", Static).update(str(exc))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
