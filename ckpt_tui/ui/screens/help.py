"""The help screen: every key, built from the same table as the bindings."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ckpt_tui.ui.keys import ACTIONS, TABLE_KEYS
from ckpt_tui.ui.screens.fit import fit_scroll

INTRO = (
    "ckpt-tui replays Ray's checkpoint retention (CheckpointConfig) over this run: "
    "✓ keep and ✗ delete are what Ray would do with these settings. Nothing is deleted "
    "until you press d and confirm."
)


def help_rows() -> list[tuple[str, str]]:
    return [(a.shown, a.help) for a in ACTIONS] + list(TABLE_KEYS)


def help_text(width: int, rows: list[tuple[str, str]] | None = None, intro: str = INTRO) -> Text:
    """The intro and the key table, wrapped here (not by the widget) at ``width`` cells, so the
    scroll region knows exactly how many lines there are and End reaches the last one."""
    rows = help_rows() if rows is None else rows
    key_width = max(len(k) for k, _ in rows)
    text = Text(no_wrap=True)
    for line in textwrap.wrap(intro, max(20, width)):
        text.append(line + "\n")
    text.append("\n")
    desc_width = max(20, width - key_width - 2)
    for i, (keys, what) in enumerate(rows):
        lines = textwrap.wrap(what, desc_width) or [""]
        for j, line in enumerate(lines):
            if i or j:
                text.append("\n")
            text.append((keys if j == 0 else "").ljust(key_width + 2), style="bold")
            text.append(line)
    return text


class HelpScreen(ModalScreen[None]):
    """The main screen's keys; another screen (the storage root's overview) passes its own."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, rows: list[tuple[str, str]] | None = None, intro: str = INTRO) -> None:
        super().__init__()
        self.rows = rows
        self.intro = intro

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            with VerticalScroll():
                yield Static(help_text(self._width(), self.rows, self.intro), id="help-keys")
            yield Static("↑↓ PgUp PgDn scroll · escape / ? / q closes", classes="dialog-hint")

    def _width(self) -> int:
        """Cells for the text: the dialog (90%, at most 100) less border, padding and the scrollbar (2)."""
        return min(100, int(self.app.size.width * 0.9)) - 4 - 2

    def on_mount(self) -> None:
        scroll = self.query_one(VerticalScroll)
        fit_scroll(self, scroll)
        scroll.focus()  # arrows, PgDn and End reach the last line

    def on_resize(self) -> None:
        fit_scroll(self, self.query_one(VerticalScroll))
        self.query_one("#help-keys", Static).update(help_text(self._width(), self.rows, self.intro))

    async def action_dismiss(self, result: None = None) -> None:
        """Close at once (Textual's own first flushes pending callbacks)."""
        self.dismiss(None)
