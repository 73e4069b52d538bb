"""A modal that shows a list of lines (warnings), scrollable, closed with escape."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ckpt_tui.ui.screens.fit import fit_scroll


class TextListScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,w", "dismiss", "Close")]

    def __init__(self, title: str, lines: list[str], empty: str = "nothing to show") -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.empty = empty

    def compose(self) -> ComposeResult:
        from rich.text import Text

        from ckpt_tui.core.text import terminal_safe

        body = Text("\n".join(f"! {terminal_safe(line)}" for line in self.lines) if self.lines else self.empty)
        with Vertical(classes="dialog", id="text-list-box"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll():
                yield Static(body)
            yield Static("↑↓ PgUp PgDn scroll · escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        fit_scroll(self, self.query_one(VerticalScroll))
        self.query_one(VerticalScroll).focus()

    def on_resize(self) -> None:
        fit_scroll(self, self.query_one(VerticalScroll))

    async def action_dismiss(self, result: None = None) -> None:
        """Close at once (Textual's own first flushes pending callbacks)."""
        self.dismiss(None)
