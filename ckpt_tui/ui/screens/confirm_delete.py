"""The deletion dialog: how many, how much, which trials and paths. Escape cancels; only the
Delete button or the y key confirms."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ckpt_tui.core.text import terminal_safe

MAX_PATHS_SHOWN = 500  # the rest is summarised: a dialog is not the place for 100,000 lines


class ConfirmDeleteScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Delete"),
    ]

    def __init__(self, *, count: int, size: str, trials: list[str], paths: list[str], scope: str) -> None:
        super().__init__()
        self.count = count
        self.size_text = size
        self.trials = trials
        self.paths = paths
        self.scope = scope

    def compose(self) -> ComposeResult:
        noun = "checkpoint" if self.count == 1 else "checkpoints"
        t_noun = "trial" if len(self.trials) == 1 else "trials"
        head = Text()
        head.append(f"Delete {self.count} {noun}", style="bold")
        head.append(f" ({self.size_text}) from {len(self.trials)} {t_noun}?\n")
        head.append(self.scope + "\n")
        head.append("Each path is checked against disk again just before it is removed.")
        shown = self.paths[:MAX_PATHS_SHOWN]  # the caller may pass only these
        listing = "\n".join(f"✗ {terminal_safe(p)}" for p in shown)
        if self.count > len(shown):
            listing += f"\n… and {self.count - len(shown)} more"
        with Vertical(classes="dialog", id="confirm-box"):
            yield Static("Delete checkpoints", classes="dialog-title")
            yield Static(head, id="confirm-summary")
            yield Static(Text("trials: " + ", ".join(map(terminal_safe, self.trials))), id="confirm-trials")
            with VerticalScroll(id="confirm-paths"):
                yield Static(Text(listing))
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(f"Delete {self.count}", variant="error", id="delete")
            yield Static("y deletes · escape / n cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        # Cancel has focus: an Enter pressed out of habit does not delete anything.
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "delete")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)
