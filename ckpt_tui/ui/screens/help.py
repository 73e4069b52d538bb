"""The help screen: every key, built from the same table as the bindings."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ckpt_tui.ui.keys import ACTIONS, TABLE_KEYS

INTRO = (
    "ckpt-tui replays Ray's checkpoint retention (CheckpointConfig) over this run: "
    "✓ keep and ✗ delete are what Ray would do with these settings. Nothing is deleted "
    "until you press d and confirm."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for a in ACTIONS:
            table.add_row(a.shown, a.help)
        for keys, what in TABLE_KEYS:
            table.add_row(keys, what)
        with Vertical(id="help-box", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            with VerticalScroll():
                yield Static(INTRO, id="help-intro")
                yield Static(table)
            yield Static("escape / ? / q closes", classes="dialog-hint")

    def action_dismiss(self) -> None:
        self.dismiss(None)
