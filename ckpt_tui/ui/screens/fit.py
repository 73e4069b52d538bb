"""Dialogs fit the terminal: a dialog's scrolling part takes only the rows the screen can spare,
so its title and key hint stay on screen and its last line can be scrolled to, at 80x24 too."""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget

DIALOG_SHARE = 0.9  # .dialog max-height in app.tcss
DIALOG_CHROME = 6  # border 2, title and its margin 2, hint and its margin 2
LIST_CHROME = DIALOG_CHROME + 2  # and an option list's own border


def fit_scroll(screen: Screen, scroll: Widget, chrome: int = DIALOG_CHROME) -> None:
    spare = int(screen.app.size.height * DIALOG_SHARE) - chrome
    scroll.styles.max_height = max(3, spare)
