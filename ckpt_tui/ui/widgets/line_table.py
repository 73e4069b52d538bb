"""A table drawn with Textual's Line API: only the rows on screen are ever rendered.

DataTable builds a row object per row up front, which takes seconds at 100,000 rows. Here the
subclass keeps plain lists and formats a row only when ``render_line`` asks for it, so opening,
re-planning and paging cost the same at ten rows or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ckpt_tui.ui.format import fit

GAP = 1  # blank cells between columns


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    align: str = "left"  # "left" or "right"

    def cell(self, text: str) -> str:
        text = fit(text, self.width)
        return text.rjust(self.width) if self.align == "right" else text.ljust(self.width)


# A row as the subclass hands it over: one (text, style or None) per column.
Cells = list[tuple[str, Optional[Style]]]


class LineTable(ScrollView, can_focus=True):
    """A fixed header line and a cursor over ``row_count`` rows the subclass formats on demand."""

    DEFAULT_CSS = """
    LineTable, CheckpointTable, TrialList {
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
    }
    LineTable > .line-table--header,
    CheckpointTable > .line-table--header,
    TrialList > .line-table--header {
        text-style: bold;
        background: $panel;
    }
    LineTable > .line-table--cursor,
    CheckpointTable > .line-table--cursor,
    TrialList > .line-table--cursor {
        text-style: reverse;
    }
    LineTable > .line-table--cursor-unfocused,
    CheckpointTable > .line-table--cursor-unfocused,
    TrialList > .line-table--cursor-unfocused {
        text-style: underline;
    }
    """

    COMPONENT_CLASSES = {"line-table--header", "line-table--cursor", "line-table--cursor-unfocused"}

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("left,h", "scroll_left", "Left", show=False),
        Binding("right,l", "scroll_right", "Right", show=False),
    ]

    class Highlighted(Message):
        """The cursor moved to ``index`` (or the rows under it changed)."""

        def __init__(self, table: LineTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> LineTable:
            return self.table

    class HeaderClicked(Message):
        """A click on the header line, over the column ``column`` (its key)."""

        def __init__(self, table: LineTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(self, *, name=None, id=None, classes=None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column] = []
        self.fixed_columns = 0  # leading columns that stay put when the table scrolls sideways
        self.row_count = 0
        self.cursor = 0

    # ---- what subclasses provide ----------------------------------------------------------
    def row_cells(self, index: int) -> Cells:
        raise NotImplementedError

    def row_style(self, index: int) -> Optional[Style]:
        return None

    # ---- state ------------------------------------------------------------------------------
    @property
    def content_width(self) -> int:
        if not self.columns:
            return 0
        return sum(c.width for c in self.columns) + GAP * (len(self.columns) - 1)

    @property
    def fixed_width(self) -> int:
        """Cells of the fixed columns, with the gap after them."""
        return sum(c.width + GAP for c in self.columns[: self.fixed_columns])

    def column_at(self, x: int) -> Optional[Column]:
        """The column under content cell ``x`` of the widget, as drawn (sideways scroll included)."""
        if x >= self.fixed_width:
            x += int(self.scroll_offset.x)
        left = 0
        for column in self.columns:
            if left <= x < left + column.width + GAP:
                return column
            left += column.width + GAP
        return None

    def set_shape(
        self, columns: list[Column], row_count: int, cursor: Optional[int] = None, fixed_columns: int = 0
    ) -> None:
        """New columns and row count; the cursor moves to ``cursor`` (clamped). The first
        ``fixed_columns`` stay on screen when the table scrolls sideways."""
        self.columns = columns
        self.fixed_columns = fixed_columns
        self.row_count = row_count
        self.virtual_size = Size(self.content_width, row_count + 1)
        target = self.cursor if cursor is None else cursor
        self.cursor = max(0, min(target, row_count - 1)) if row_count else 0
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor))

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, index: int) -> None:
        if not self.row_count:
            return
        index = max(0, min(index, self.row_count - 1))
        if index == self.cursor:
            return
        self.cursor = index
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, index))

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        rows = self.page_rows
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self._scroll_cursor_into_view()

    # ---- keys and mouse --------------------------------------------------------------------
    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self.page_rows)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self.page_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x - 8), animate=False)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_offset.x + 8, animate=False)

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y < 1:
            column = self.column_at(offset.x)
            if column is not None:
                self.post_message(self.HeaderClicked(self, column.key))
            return
        self.move_cursor(int(self.scroll_offset.y) + offset.y - 1)

    # ---- drawing ----------------------------------------------------------------------------
    def render_lines(self, crop):
        # Styles are looked up once per drawing pass, not once per line: ``rich_style`` walks
        # every ancestor, and a page-down redraws every visible line.
        self._pass_styles = None
        return super().render_lines(crop)

    def _styles_for_pass(self) -> tuple[Style, Style, Style]:
        styles = getattr(self, "_pass_styles", None)
        if styles is None:
            base = self.rich_style
            header = base + self.get_component_rich_style("line-table--header")
            cursor = self.get_component_rich_style(
                "line-table--cursor" if self.has_focus else "line-table--cursor-unfocused"
            )
            styles = self._pass_styles = (base, header, cursor)
        return styles

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base, header, cursor_style = self._styles_for_pass()
        if y == 0:
            segments = self._segments([(c.title, None) for c in self.columns], header)
            line_style = header
        else:
            index = scroll_y + y - 1
            if index >= self.row_count or not self.columns:
                return Strip.blank(width, base)
            line_style = base
            extra = self.row_style(index)
            if extra is not None:
                line_style = line_style + extra
            is_cursor = index == self.cursor
            if is_cursor:
                line_style = line_style + cursor_style
            segments = self._segments(self.row_cells(index), line_style, cursor=is_cursor)
        content_width = self.content_width
        if scroll_x == 0 and content_width <= width:
            # The common case: one strip of exactly the width, no extend-then-crop copies.
            if content_width < width:
                segments.append(Segment(" " * (width - content_width), line_style))
            strip = Strip(segments)
            if strip.cell_length == width:
                return strip
        else:
            strip = Strip(segments)
        # Wide characters in a cell, or scrolled sideways: pad and cut to the width.
        strip = strip.extend_cell_length(scroll_x + width, line_style)
        fixed = self.fixed_width
        if scroll_x and fixed and fixed < width:
            # The fixed columns (what a row is) stay; the rest scrolls beside them.
            return Strip.join([strip.crop(0, fixed), strip.crop(fixed + scroll_x, scroll_x + width)])
        return strip.crop(scroll_x, scroll_x + width)

    def _segments(self, cells: Cells, line_style: Style, cursor: bool = False) -> list[Segment]:
        """One segment per run of cells that share a style (most cells use the line's)."""
        out: list[Segment] = []
        gap = " " * GAP
        run_text: list[str] = []
        run_style: Optional[Style] = None
        for i, (column, (text, style)) in enumerate(zip(self.columns, cells)):
            if style is None:
                cell_style = line_style
            elif cursor:
                # Keep the cursor's colours but the cell's emphasis (bold, etc.).
                cell_style = line_style + Style(bold=style.bold, italic=style.italic)
            else:
                cell_style = line_style + style
            if i:
                # The gap takes the line's style; it joins whichever run is in that style.
                if run_style is not line_style:
                    if run_text:
                        out.append(Segment("".join(run_text), run_style))
                    run_text, run_style = [], line_style
                run_text.append(gap)
            if cell_style is not run_style and cell_style != run_style:
                if run_text:
                    out.append(Segment("".join(run_text), run_style))
                run_text, run_style = [], cell_style
            run_text.append(column.cell(text))
        if run_text:
            out.append(Segment("".join(run_text), run_style))
        return out
