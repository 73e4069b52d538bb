"""The `/` filter line under the table: live as you type, escape clears it."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]

    class Cleared(Message):
        pass

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())
