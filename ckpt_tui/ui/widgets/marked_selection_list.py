"""A SelectionList whose chosen items carry a symbol, not only a shade.

Textual draws the same "X" in every item's box and tells chosen from not chosen by colour
alone, which NO_COLOR and monochrome terminals lose. Here a chosen item shows "✓" and the
others a blank box."""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets.option_list import OptionDoesNotExist

from ckpt_tui.ui.textual_compat import is_selected

CHOSEN = "✓"
NOT_CHOSEN = " "


class MarkedSelectionList(SelectionList):
    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(int(self.scroll_offset.y) + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) < 3:
            return strip
        inner = segments[1]
        symbol = CHOSEN if is_selected(self, selection.value) else NOT_CHOSEN
        segments[1] = Segment(symbol, inner.style, inner.control)
        return Strip(segments, strip.cell_length)
