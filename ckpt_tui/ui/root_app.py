"""The app on a storage root (or on a directory that holds no run yet), and the experiment app
opened from it.

``RootState`` outlives the apps of one session: the experiments found and read, the changes made
at the root, the sort and the cursor. ``RootApp`` shows the overview; Enter exits it with
``("open", rel)`` and the launcher (``root_launch.py``) runs ``ExperimentApp`` on that
experiment: today's main screen, plus escape / backspace back to the root, where a new
``RootApp`` opens on the same state, cursor in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Optional

from textual.app import App
from textual.binding import Binding

from ckpt_tui.core.storage import storage_for
from ckpt_tui.core.storage_root import Experiment, RootEntry
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui.app import CheckpointApp
from ckpt_tui.ui.format import home_short
from ckpt_tui.ui.keys import QUIT_ANYWHERE
from ckpt_tui.ui.screens.overview import OverviewScreen

BACK = "back"


class RootState:
    def __init__(
        self, root: str, found: list[Experiment], changes: Optional[dict] = None, watch_text: str = "not watching"
    ) -> None:
        self.root = storage_for(root).realpath(root)
        self.shown_root = home_short(self.root)
        self.found: list[Experiment] = list(found)
        self.entries: dict[str, RootEntry] = {}
        self.changes: dict = dict(changes or {})
        self.sort = "bytes"
        self.cursor_rel: Optional[str] = None
        self.watch_text = watch_text
        self.lock = threading.Lock()  # taken to mutate a run, and to plan
        self._pending: list = []
        self._pending_lock = threading.Lock()
        self.listener: Optional[Callable[[], None]] = None  # the open overview's "look at pending"

    # called in the poller's thread
    def on_change(self, change) -> None:
        with self._pending_lock:
            self._pending.append(change)
            listener = self.listener
        if listener is not None:
            try:
                listener()
            except Exception:  # noqa: BLE001 - the screen is closing; the next one takes it
                pass

    @property
    def pending(self) -> bool:
        with self._pending_lock:
            return bool(self._pending)

    def take_pending(self) -> list:
        with self._pending_lock:
            out, self._pending = self._pending, []
        return out

    def config_text(self) -> str:
        if not self.changes:
            return "each experiment under its own recorded CheckpointConfig (keys here change every experiment)"
        parts = []
        for key in ("num_to_keep", "checkpoint_score_attribute", "checkpoint_score_order"):
            if key in self.changes:
                parts.append(f"{key}={self.changes[key]!r}")
        return "for every experiment: " + ", ".join(parts) + "; the rest each experiment's own (r resets)"


class RootApp(App):
    """The overview of a root. Exits with None (quit), ("open", rel) or ("self", layout): the
    directory given has become a run itself."""

    TITLE = "ckpt-tui"
    BINDINGS = [QUIT_ANYWHERE]  # ctrl+c (and escape+q typed at once) quit, as in the main app
    CSS_PATH = "app.tcss"  # the dialogs it shares with the main app (confirm, number, attribute)

    def __init__(
        self, state: RootState, *, grace_seconds: float = 60.0, now: Optional[Callable[[], float]] = None
    ) -> None:
        super().__init__()
        self.state = state
        self.grace_seconds = grace_seconds
        self.now = now

    def get_default_screen(self) -> OverviewScreen:
        kwargs = {"now": self.now} if self.now is not None else {}
        self.overview = OverviewScreen(self.state, grace_seconds=self.grace_seconds, **kwargs)
        return self.overview


class ExperimentApp(CheckpointApp):
    """Today's main screen on one experiment of a root; escape or backspace goes back."""

    BINDINGS = [Binding("escape,backspace", "back_to_root", "Back to root", show=False)]

    def __init__(self, *args, root_label: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.root_label = root_label

    def on_mount(self) -> None:
        super().on_mount()
        self.notify(
            terminal_safe(f"escape or backspace: back to the storage root {self.root_label}"), timeout=4, markup=False
        )

    def action_back_to_root(self) -> None:
        if len(self.screen_stack) > 1:  # a dialog without its own escape: close it first
            self.pop_screen()
            return
        if self.text_filter.strip() or self.filter_input.value or self.trial_filter is not None:
            self.action_clear_filter()  # escape clears the view's scope first, as in a run opened alone
            return
        if self.deleting:
            self.notify("a deletion is running: back to the root once it is done", severity="warning")
            return
        # CheckpointApp is App[None] (ui/app.py); this subclass alone returns BACK to the root loop.
        self.exit(BACK)  # type: ignore[arg-type]
