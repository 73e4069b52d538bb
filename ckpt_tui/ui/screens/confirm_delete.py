"""The deletion dialog: how many, how much, which trials and paths. Escape cancels; only the
Delete button or the y key confirms.

Built for big runs at 80x24: the trials in one line ("1,000 trials: a, b, c, ... and 997
more"), the paths relative to the run, one line each with the mark on it, in a box that
scrolls and takes only the rows the screen can spare, so the buttons and the key
hint are always on screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ckpt_tui.core.text import terminal_safe
from ckpt_tui.core.units import count as fmt_count
from ckpt_tui.core.units import plural

MAX_PATHS_SHOWN = 500  # the rest is summarised: a dialog is not the place for 100,000 lines
TRIALS_NAMED = 3  # trials named in the short form; the rest are counted
# Rows of the dialog besides the path list: border 2, title 2, head 3, trials 1, buttons 2, hint 2.
FIXED_ROWS = 12


def trials_line(trials: list[str], width: int = 10_000, named: int = TRIALS_NAMED) -> str:
    """'1 trial: a', '3 trials: a, b, c', '1,000 trials: a, b, c, ... and 997 more', naming
    fewer trials when the names would not fit in ``width`` cells (the count always shows)."""
    trials = [terminal_safe(t) for t in trials]
    head = plural(len(trials), "trial") + ": "
    if len(trials) <= named + 1 and len(head) + len(", ".join(trials)) <= width:
        return head + ", ".join(trials)
    for n in range(min(named, len(trials)), 0, -1):
        line = head + ", ".join(trials[:n]) + f", ... and {fmt_count(len(trials) - n)} more"
        if len(line) <= width:
            return line
    return head + trials[0] + f", ... and {fmt_count(len(trials) - 1)} more"


def fit_path(path: str, width: int) -> str:
    """``path`` in ``width`` cells: the end of its directory part gives way ("trainable_b3c4d_00000_0_
    seed=1_2026-1…/checkpoint_000001"), never the checkpoint's own name or the start that names
    its trial."""
    if len(path) <= width:
        return path
    head, sep, name = path.rpartition("/")
    if not sep or len(name) + 3 > width:
        return path[: max(1, width - 1)] + "…"
    return head[: width - len(name) - 2] + "…/" + name


class ConfirmDeleteScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Delete"),
        # The path list scrolls whichever button has focus.
        Binding("down,j", "scroll_paths(0, 1)", "Down", show=False),
        Binding("up,k", "scroll_paths(0, -1)", "Up", show=False),
        Binding("pagedown,space", "scroll_paths(0, 'page')", "Page down", show=False),
        Binding("pageup", "scroll_paths(0, '-page')", "Page up", show=False),
        Binding("home,g", "scroll_paths(0, 'home')", "First", show=False),
        Binding("end,G", "scroll_paths(0, 'end')", "Last", show=False),
    ]

    def __init__(
        self, *, count: int, size: str, trials: list[str], paths: list[str], scope: str, root: str = ""
    ) -> None:
        """``paths``: relative to the run ``root`` (the first MAX_PATHS_SHOWN are enough)."""
        super().__init__()
        self.count = count
        self.size_text = size
        self.trials = trials
        self.paths = paths
        self.scope = scope
        self.root = root

    def compose(self) -> ComposeResult:
        head = Text()
        head.append(f"Delete {plural(self.count, 'checkpoint')}", style="bold")
        head.append(f" ({self.size_text}) from {plural(len(self.trials), 'trial')}?\n")
        head.append(self.scope + "\n")
        head.append("Each path is checked against disk again just before it is removed.")
        listing = self._listing()
        with Vertical(classes="dialog", id="confirm-box"):
            yield Static("Delete checkpoints", classes="dialog-title")
            yield Static(head, id="confirm-summary")
            yield Static(
                Text(trials_line(self.trials, self._text_width()), no_wrap=True, overflow="ellipsis"),
                id="confirm-trials",
            )
            paths_box = ScrollableContainer(id="confirm-paths")
            paths_box.border_title = f"paths in {terminal_safe(self.root)}" if self.root else "paths"
            paths_box.can_focus = False  # the keys above scroll it; tab stays on the buttons
            with paths_box:
                yield Static(listing, id="confirm-listing")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(f"Delete {fmt_count(self.count)}", variant="error", id="delete", compact=True)
            yield Static("y deletes · escape / n cancels · ↑↓ PgUp PgDn scroll the paths", classes="dialog-hint")

    def on_mount(self) -> None:
        # Cancel has focus: an Enter pressed out of habit does not delete anything.
        self.query_one("#cancel", Button).focus()
        self._fit_paths()
        self.call_after_refresh(self._refit_listing)

    def _refit_listing(self) -> None:
        self.query_one("#confirm-listing", Static).update(self._listing())

    def _listing(self) -> Text:
        """One line per path, the mark first, each fitted to the list's width."""
        width = self._text_width() - 6  # the list's border, its scrollbar, "✗ "
        if self.is_mounted:
            laid_out = self.query_one("#confirm-paths").scrollable_content_region.width
            if laid_out > 0:
                width = laid_out - 2
        shown = self.paths[:MAX_PATHS_SHOWN]  # the caller may pass only these
        listing = Text(no_wrap=True, overflow="ellipsis")
        for i, p in enumerate(shown):
            if i:
                listing.append("\n")
            listing.append(f"✗ {fit_path(terminal_safe(p), width)}")
        if self.count > len(shown):
            listing.append(f"\n… and {fmt_count(self.count - len(shown))} more")
        return listing

    def on_resize(self) -> None:
        self._fit_paths()
        self.call_after_refresh(self._refit_listing)
        self.query_one("#confirm-trials", Static).update(
            Text(trials_line(self.trials, self._text_width()), no_wrap=True, overflow="ellipsis")
        )

    def _text_width(self) -> int:
        """Cells inside the dialog (90% of the screen, at most 100, less border and padding)."""
        return min(100, int(self.app.size.width * 0.9)) - 4

    def action_scroll_paths(self, dx: int, dy) -> None:
        box = self.query_one("#confirm-paths", ScrollableContainer)
        page = max(1, box.scrollable_content_region.height - 1)
        if dy == "home":
            box.scroll_home(animate=False)
        elif dy == "end":
            box.scroll_end(animate=False)
        else:
            step = page if dy == "page" else -page if dy == "-page" else dy
            box.scroll_relative(x=dx, y=step, animate=False)

    def _fit_paths(self) -> None:
        """The path list takes what the screen can spare, so the buttons stay on screen."""
        height = self.app.size.height
        spare = int(height * 0.9) - FIXED_ROWS - (1 if "\n!" in self.scope else 0)
        self.query_one("#confirm-paths").styles.max_height = max(3, min(spare, 2 + len(self.paths) + 1))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "delete")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)
