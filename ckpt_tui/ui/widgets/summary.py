"""The summary lines at the top: run, layout, watching, view scope, config line, totals, warnings."""

from __future__ import annotations

import re
from typing import Optional

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ckpt_tui.core.text import terminal_safe
from ckpt_tui.core.units import count, plural
from ckpt_tui.session.summary_state import SummaryState

# The arguments of CheckpointConfig(...): break only before "name=", never inside a quoted value.
_ARG_SPLIT = re.compile(r", (?=[A-Za-z_]\w*=)")
SEP = " · "


def config_lines(line: str, width: int) -> list[str]:
    """``CheckpointConfig(a=1, b="x")`` in lines of at most ``width`` cells, broken after a
    comma and indented under the first argument, so every argument (the score order last)
    stays readable at 80 columns. A single argument wider than the line is left to the
    ellipsis."""
    if len(line) <= width or "(" not in line:
        return [line]
    head, _, rest = line.partition("(")
    args = _ARG_SPLIT.split(rest)
    indent = " " * (len(head) + 1)
    if len(indent) > width // 2:
        indent = "    "
    pieces = [arg + ("," if i < len(args) - 1 else "") for i, arg in enumerate(args)]
    lines: list[str] = []
    current = head + "(" + pieces[0]
    for piece in pieces[1:]:
        if len(current) + 1 + len(piece) > width:
            lines.append(current)
            current = indent + piece
        else:
            current += " " + piece
    lines.append(current)
    return lines


def flow(items: list[tuple[str, Optional[Style]]], width: int) -> list[list[tuple[str, Optional[Style]]]]:
    """Items joined by " · ", wrapped between items (never inside one) to ``width`` cells."""
    lines: list[list[tuple[str, Optional[Style]]]] = [[]]
    used = 0
    for text, style in items:
        need = len(text) + (len(SEP) if lines[-1] else 0)
        if lines[-1] and used + need > width:
            lines.append([])
            used = 0
            need = len(text)
        lines[-1].append((text, style))
        used += need
    return lines


class Summary(Static):
    """The summary lines at the top; the app sets ``state`` (a ``SummaryState``) and the widget
    draws it. Items wrap between themselves at the width, so the view's scope and every figure
    stay on screen at 80 columns; the height follows the number of lines (a layout pass only
    when that number changes)."""

    DEFAULT_CSS = """
    Summary {
        height: 3;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
        background: $panel;
    }
    Summary > .summary--label { color: $text-muted; }
    Summary > .summary--config { text-style: bold; color: $accent; }
    Summary > .summary--keep { color: $success; }
    Summary > .summary--delete { color: $error; text-style: bold; }
    Summary > .summary--warn { color: $warning; }
    """

    COMPONENT_CLASSES = {"summary--label", "summary--config", "summary--delete", "summary--keep", "summary--warn"}

    state: reactive[Optional[SummaryState]] = reactive(None, repaint=False, init=False, always_update=True)
    _lines = 3

    def watch_state(self, state: Optional[SummaryState]) -> None:
        # always_update: set again with an equal state, it redraws (component styles may differ).
        if state is None or not self.is_attached:
            # A worker's message (sizes done, a re-read) handled while the app shuts down:
            # the widget is gone, and with it its component styles.
            return
        self._draw()

    def on_resize(self) -> None:
        if self.state is not None:
            self._draw()

    def _draw(self) -> None:
        a = self.state
        assert a is not None
        width = self.content_region.width or (self.size.width - 2)
        if width <= 0:
            width = 78
        label = self.get_component_rich_style("summary--label")
        keep_style = self.get_component_rich_style("summary--keep")
        delete_style = self.get_component_rich_style("summary--delete")
        warn_style = self.get_component_rich_style("summary--warn")
        config_style = self.get_component_rich_style("summary--config")

        first: list[tuple[str, Optional[Style]]] = [
            (f"run {terminal_safe(a.root)}", None),
            (f"{a.layout}", None),
            (plural(a.trials, "trial"), None),
            (a.watch, None),
            (terminal_safe(a.scope), None),
        ]
        kept, delete = a.kept, a.delete
        totals = [
            (f"✓ {'…' if kept is None else count(kept)} kept", keep_style),
            (f"✗ {'…' if delete is None else count(delete)} to delete", delete_style),
            (f"frees {a.reclaim} of {a.total}" + (" so far" if a.counting else ""), None),
        ]
        if a.sizing:
            totals.append((a.sizing + ("…" if a.counting and not a.sizing.endswith("…") else ""), label))
        if a.untracked:
            totals.append((terminal_safe(a.untracked), None))
        if a.warnings:
            totals.append((f"! {plural(a.warnings, 'warning')} (w)", warn_style))

        text = Text(no_wrap=True, overflow="ellipsis")
        lines = 0
        for group in (flow(first, width), None, flow(totals, width)):
            if group is None:
                for line in config_lines(terminal_safe(a.config_line), width):
                    if lines:
                        text.append("\n")
                    text.append(line, style=config_style)
                    lines += 1
                continue
            for items in group:
                if lines:
                    text.append("\n")
                for i, (piece, style) in enumerate(items):
                    if i:
                        text.append(SEP)
                    if piece.startswith("run "):
                        text.append("run ", style=label)
                        text.append(piece[4:], style=style)
                    else:
                        text.append(piece, style=style)
                lines += 1
        if lines != self._lines:
            self._lines = lines
            self.styles.height = lines
            self.update(text)
        else:
            self.update(text, layout=False)
