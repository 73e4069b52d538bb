"""Asked when the user quits while a deletion runs: stop it (after the checkpoint in hand) and
quit, or keep deleting."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

QUESTION = "Stop deleting and quit?"


class QuitWhileDeletingScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "stop", "Stop and quit"),
        Binding("n,escape", "keep", "Keep deleting"),
    ]

    def __init__(self, progress: str) -> None:
        super().__init__()
        self.progress = progress

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="quit-box"):
            yield Static(QUESTION, classes="dialog-title")
            yield Static(
                f"A deletion is running ({self.progress}). Stopping finishes the checkpoint in "
                "hand, never half of one, and leaves the rest alone.",
                id="quit-body",
            )
            yield Static("y stops and quits · n / escape keeps deleting", classes="dialog-hint")

    def action_stop(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)
