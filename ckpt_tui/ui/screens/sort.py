"""Choose the column the checkpoint table is sorted by: a key per column; the current one
again reverses it (as a click on a column's header does)."""

from __future__ import annotations

from typing import ClassVar, Optional

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ckpt_tui.ui.screens.fit import LIST_CHROME, fit_scroll
from ckpt_tui.ui.sorting import SORTS


class SortScreen(ModalScreen[Optional[str]]):
    """Dismisses with a key of ``SORTS``, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        *(Binding(letter, f"choose('{key}')", title, show=False) for key, (title, letter, _col) in SORTS.items()),
    ]

    def __init__(self, current: str, reverse: bool) -> None:
        super().__init__()
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        options = []
        for key, (title, letter, _col) in SORTS.items():
            if key == self.current:
                # A symbol and a word, not a shade: readable under NO_COLOR.
                label = f"● {letter}  {title}  (current{', reversed' if self.reverse else ''}: again reverses)"
            else:
                label = f"  {letter}  {title}"
            options.append(Option(label, id=key))
        with Vertical(classes="dialog", id="sort-box"):
            yield Static("Sort the table by", classes="dialog-title")
            yield OptionList(*options, id="sorts")
            yield Static(
                "a letter or enter chooses (the current again: reverse) · escape cancels", classes="dialog-hint"
            )

    def on_resize(self) -> None:
        fit_scroll(self, self.query_one(OptionList), chrome=LIST_CHROME)

    def on_mount(self) -> None:
        fit_scroll(self, self.query_one(OptionList), chrome=LIST_CHROME)
        option_list = self.query_one(OptionList)
        option_list.highlighted = list(SORTS).index(self.current) if self.current in SORTS else 0
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_choose(self, key: str) -> None:
        self.dismiss(key)

    def action_cancel(self) -> None:
        self.dismiss(None)
