"""The summary lines at the top: run, layout, watching, config line, totals and warnings."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ckpt_tui.core.text import terminal_safe


class Summary(Static):
    """Three lines the app rewrites after each re-plan; never more than the width allows."""

    COMPONENT_CLASSES = {"summary--label", "summary--config", "summary--delete", "summary--keep", "summary--warn"}

    def show(
        self,
        *,
        root: str,
        layout: str,
        trials: int,
        watch: str,
        config_line: str,
        kept: Optional[int],  # None: still ranking ("…")
        delete: Optional[int],
        reclaim: str,
        total: str,
        sizing: str,
        warnings: int,
        scope: str,
    ) -> None:
        if not self.is_attached:
            # A worker's message (sizes done, a re-read) handled while the app shuts down:
            # the widget is gone, and with it its component styles.
            return
        label = self.get_component_rich_style("summary--label")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("run ", style=label)
        text.append(terminal_safe(root))
        text.append(f"  {layout} · {trials} trial{'s' if trials != 1 else ''} · {watch}\n")
        text.append(terminal_safe(config_line) + "\n", style=self.get_component_rich_style("summary--config"))
        text.append(f"✓ {'…' if kept is None else kept} kept", style=self.get_component_rich_style("summary--keep"))
        text.append(" · ")
        text.append(f"✗ {'…' if delete is None else delete} to delete",
                    style=self.get_component_rich_style("summary--delete"))
        text.append(f" · frees {reclaim} of {total}")
        if sizing:
            text.append(f" ({sizing})")
        if warnings:
            text.append(" · ")
            text.append(f"! {warnings} warning{'s' if warnings != 1 else ''} (w)",
                        style=self.get_component_rich_style("summary--warn"))
        text.append(f" · {scope}")
        # Three lines, always (fixed height in app.tcss): no layout pass for new figures.
        self.update(text, layout=False)
