"""A small scatter plot of one trial's scores over iterations, kept and deleted marked apart.

Drawn by hand on a character grid: a plotting library would add a dependency for a chart that
has one series, two symbols and an axis label at each end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from rich.text import Text
from textual.widget import Widget

from ckpt_tui.ui.format import metric_text


@dataclass(frozen=True)
class PlotPoint:
    x: float  # iteration (or registration index)
    y: float  # finite score
    keep: bool
    current: bool = False


class ScorePlot(Widget):
    """Points of the highlighted trial: ✓ kept, ✗ deleted, the highlighted one reversed."""

    COMPONENT_CLASSES = {"score-plot--keep", "score-plot--delete", "score-plot--axis", "score-plot--current"}

    DEFAULT_CSS = """
    ScorePlot { height: 1fr; }
    ScorePlot > .score-plot--keep { color: $success; }
    ScorePlot > .score-plot--delete { color: $error; text-style: bold; }
    ScorePlot > .score-plot--axis { color: $text-muted; }
    ScorePlot > .score-plot--current { text-style: reverse; }
    """

    def __init__(self, *, id=None, classes=None) -> None:
        super().__init__(id=id, classes=classes)
        self.points: list[PlotPoint] = []
        self.title = ""
        self.not_plotted = 0

    def show(self, points: list[PlotPoint], title: str, not_plotted: int = 0) -> None:
        self.points = points
        self.title = title
        self.not_plotted = not_plotted
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        axis_style = self.get_component_rich_style("score-plot--axis")
        if not self.points:
            msg = self.title + "\n" if self.title else ""
            return Text(msg + "no scores to plot (set a score attribute with s)", style=axis_style)
        label_w = 8
        plot_w = max(4, width - label_w - 1)
        plot_h = max(2, height - 2)  # a title line and an x-axis line
        ys = [p.y for p in self.points]
        xs = [p.x for p in self.points]
        y_lo, y_hi = min(ys), max(ys)
        x_lo, x_hi = min(xs), max(xs)
        y_span = (y_hi - y_lo) or 1.0
        x_span = (x_hi - x_lo) or 1.0

        grid: list[list[Optional[PlotPoint]]] = [[None] * plot_w for _ in range(plot_h)]
        # Current last, so it is never hidden under another point in the same cell.
        for p in sorted(self.points, key=lambda p: p.current):
            col = round((p.x - x_lo) / x_span * (plot_w - 1))
            row = plot_h - 1 - round((p.y - y_lo) / y_span * (plot_h - 1))
            cell = grid[row][col]
            # A deleted point wins a shared cell over a kept one: it is the news.
            if cell is None or p.current or (cell.keep and not p.keep and not cell.current):
                grid[row][col] = p

        keep_style = self.get_component_rich_style("score-plot--keep")
        delete_style = self.get_component_rich_style("score-plot--delete")
        current_style = self.get_component_rich_style("score-plot--current")
        out = Text(no_wrap=True, overflow="crop")
        title = self.title
        if self.not_plotted:
            title += f" · {self.not_plotted} NaN/missing off the plot"
        out.append(title[:width] + "\n", style=axis_style)
        for r, line in enumerate(grid):
            if r == 0:
                label = metric_text(y_hi, label_w)
            elif r == plot_h - 1:
                label = metric_text(y_lo, label_w)
            else:
                label = ""
            out.append(label.rjust(label_w) + "┤" if label else " " * label_w + "│", style=axis_style)
            for cell in line:
                if cell is None:
                    out.append(" ")
                else:
                    style = keep_style if cell.keep else delete_style
                    if cell.current:
                        style = style + current_style
                    out.append("✓" if cell.keep else "✗", style=style)
            out.append("\n")
        left = _x_label(x_lo)
        right = _x_label(x_hi)
        gap = max(1, plot_w - len(left) - len(right))
        out.append(" " * label_w + "└" + left + " " * gap + right, style=axis_style)
        return out


def _x_label(x: float) -> str:
    return str(int(x)) if math.isfinite(x) and x == int(x) else f"{x:.3g}"
