"""The detail pane: the highlighted checkpoint's path, reason, size, metrics, and the plot."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Size
from textual.widgets import Static

from ckpt_tui.core.metrics import flatten
from ckpt_tui.core.model import Checkpoint, Trial
from ckpt_tui.core.retention import Plan, note_text
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui.format import age_since, human_bytes, metric_text, plural, relative_path, short_trial
from ckpt_tui.ui.widgets.checkpoint_table import mark
from ckpt_tui.ui.widgets.score_plot import PlotPoint, ScorePlot

# Keys Tune adds to every report: shown after the user's own metrics.
TUNE_BOOKKEEPING = {
    "timestamp",
    "checkpoint_dir_name",
    "should_checkpoint",
    "done",
    "training_iteration",
    "trial_id",
    "date",
    "time_this_iter_s",
    "time_total_s",
    "pid",
    "hostname",
    "node_ip",
    "time_since_restore",
    "iterations_since_restore",
    "experiment_tag",
}


def is_bookkeeping(key: str) -> bool:
    return key in TUNE_BOOKKEEPING or key.startswith("config/")


class DetailPane(Horizontal):
    DEFAULT_CSS = """
    DetailPane > .detail--label { color: $text-muted; }
    DetailPane > .detail--keep { color: $success; text-style: bold; }
    DetailPane > .detail--delete { color: $error; text-style: bold; }
    DetailPane > .detail--warn { color: $warning; }
    """

    COMPONENT_CLASSES = {"detail--label", "detail--keep", "detail--delete", "detail--warn"}

    def __init__(self, *, id=None, classes=None) -> None:
        super().__init__(id=id, classes=classes)
        # Made here, not in compose: the app may fill them before they are mounted.
        self.text_view = Static(id="detail-text")
        self.plot = ScorePlot(id="plot")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-scroll"):
            yield self.text_view
        yield self.plot

    def _set_text(self, content) -> None:
        """Show ``content``; a layout pass only when its height changes.

        ``Static.update`` lays out the whole screen (its height is auto); the pane is redrawn on
        every cursor move, and most moves keep the same number of lines, so a repaint does."""
        view = self.text_view
        width = view.size.width
        if not view.is_mounted or width <= 0:
            view.update(content)
            return
        view.update(content, layout=False)
        if view.get_content_height(Size(width, 0), Size(width, 0), width) != view.size.height:
            view.refresh(layout=True)

    def show_nothing(self, why: str) -> None:
        self._set_text(why)
        self.plot.show([], "")

    def show(
        self,
        ckpt: Checkpoint,
        trial: Optional[Trial],
        plan: Plan,
        *,
        root: str,
        shown_root: str,
        now: float,
    ) -> None:
        label = self.get_component_rich_style("detail--label")
        d = plan.decisions.get(ckpt)
        text = Text(no_wrap=False)
        mark_text = mark(d)[0]
        keep = d is not None and d.keep
        text.append(mark_text, style=self.get_component_rich_style("detail--keep" if keep else "detail--delete"))
        text.append(f"  {terminal_safe(ckpt.name)}")
        status = trial.status if trial is not None and trial.status else ""
        text.append(f"  trial {short_trial(ckpt.trial_id)}" + (f" ({terminal_safe(status)})" if status else ""))
        text.append("\n")
        if d is not None:
            reason = plan.reason(ckpt)
            note = note_text(d, plan.config, plan.run.layout)
            if note and reason.endswith("; " + note):
                reason = reason[: -len(note) - 2]  # the note gets its own line below
            text.append("why  ", style=label)
            text.append(terminal_safe(reason) + "\n")
            if note:
                text.append("warn ", style=label)
                text.append("! " + terminal_safe(note) + "\n", style=self.get_component_rich_style("detail--warn"))
            others = [t for t in d.restore_of or () if t]
            if others:
                text.append("used ", style=label)
                text.append(
                    f"trial{'s' if len(others) > 1 else ''} {', '.join(terminal_safe(short_trial(t)) for t in others)} "
                    f"depend{'s' if len(others) == 1 else ''} on it: Tune restores "
                    f"{'it' if len(others) == 1 else 'them'} from this checkpoint (PBT), so it is never deleted\n"
                )
        text.append("path ", style=label)
        text.append(relative_path(ckpt.path, root, shown_root) + ("  (symlink)" if ckpt.is_symlink else "") + "\n")
        text.append("size ", style=label)
        files = f" in {plural(ckpt.file_count, 'file')}" if ckpt.file_count is not None else ""
        it = f" · iteration {ckpt.iteration}" if ckpt.iteration is not None else ""
        text.append(f"{human_bytes(ckpt.size_bytes)}{files}{it} · written {age_since(now, ckpt.mtime)} ago\n")
        shown = ckpt.report if ckpt.report is not None else ckpt.logged
        if shown is not None:
            flat = flatten(shown.metrics)
            own = [(k, v) for k, v in flat.items() if not is_bookkeeping(k)]
            rest = [(k, v) for k, v in flat.items() if is_bookkeeping(k)]
            text.append("metrics ", style=label)
            text.append("  ".join(f"{terminal_safe(k)}={metric_text(v, 14)}" for k, v in own + rest))
            if ckpt.report is None:
                text.append("\n(a report Ray never registered: it does not track this checkpoint)", style=label)
        elif ckpt.untracked:
            text.append("no report names this checkpoint, and Ray does not track it", style=label)
        else:
            text.append("no report names this checkpoint (being written, or not Ray's)", style=label)
        self._set_text(text)
        self._plot(ckpt, plan)

    def _plot(self, current: Checkpoint, plan: Plan) -> None:
        attr = plan.config.checkpoint_score_attribute
        plot = self.plot
        if not attr:
            plot.show([], f"trial {short_trial(current.trial_id)}: ranked by recency, no score to plot")
            return
        points: list[PlotPoint] = []
        skipped = 0
        for ckpt in plan.ordered(current.trial_id):
            d = plan.decisions.get(ckpt)
            if d is None or ckpt.report is None:
                continue
            score = d.score
            if score is None:
                skipped += 1
                continue
            x = ckpt.iteration if ckpt.iteration is not None else ckpt.report.index
            points.append(PlotPoint(float(x), score, d.keep, ckpt is current))
        order = plan.config.checkpoint_score_order
        plot.show(points, f"{terminal_safe(attr)} ({order}): ✓ kept ✗ deleted", skipped)
