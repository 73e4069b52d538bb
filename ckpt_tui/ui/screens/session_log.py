"""This session's deletions, kept for the user to read later: every deletion's result and
every checkpoint skipped or failed, with its reason (a toast disappears; this does not)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

EMPTY = "nothing deleted, skipped or refused yet in this session"


class SessionLogScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,L", "dismiss", "Close")]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        body = Text("\n".join(self.lines) if self.lines else EMPTY)
        with Vertical(classes="dialog", id="session-log-box"):
            yield Static("Log: this session's deletions", classes="dialog-title")
            with VerticalScroll():
                yield Static(body, id="session-log-body")
            yield Static("escape closes", classes="dialog-hint")

    async def action_dismiss(self, result: None = None) -> None:
        """Close at once (Textual's own first flushes pending callbacks)."""
        self.dismiss(None)
