"""Choose the score attribute from the metric keys the run's reports carry."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui.screens.fit import LIST_CHROME, fit_scroll

RECENCY = "\0recency"  # the option that clears the attribute: rank by recency


class ChooseAttributeScreen(ModalScreen[Optional[str]]):
    """Dismisses with the chosen key, RECENCY for none, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, keys: list[tuple[str, bool]], current: Optional[str], own: Optional[str]) -> None:
        super().__init__()
        self.keys = keys  # (flattened key, numeric)
        self.current = current
        self.own = own

    def compose(self) -> ComposeResult:
        options: list[Option] = [
            Option(
                ("● " if self.current is None else "  ") + "(none) rank by recency: keep the most recent", id=RECENCY
            )
        ]
        for key, numeric in self.keys:
            label = terminal_safe(key)
            if key == self.own:
                label += "   (the run's own)"
            if not numeric:
                label += "   (not a number: Ray would fail the trial)"
            # The current one by a symbol, not only the highlight's shade (NO_COLOR).
            label = ("● " if key == self.current else "  ") + label
            options.append(Option(label, id=key))
        with Vertical(classes="dialog", id="attribute-box"):
            yield Static("Score attribute", classes="dialog-title")
            yield OptionList(*options, id="attributes")
            yield Static("enter chooses · escape cancels", classes="dialog-hint")

    def on_resize(self) -> None:
        fit_scroll(self, self.query_one(OptionList), chrome=LIST_CHROME)

    def on_mount(self) -> None:
        fit_scroll(self, self.query_one(OptionList), chrome=LIST_CHROME)
        option_list = self.query_one(OptionList)
        target = self.current if self.current is not None else RECENCY
        try:
            option_list.highlighted = option_list.get_option_index(target)
        except Exception:  # noqa: BLE001 - no such option (any more): the first one
            option_list.highlighted = 0
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
