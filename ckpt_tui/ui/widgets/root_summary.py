"""The overview's summary: the root, what is watched, the config in force and the root's totals."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class RootSummary(Static):
    def show(
        self,
        *,
        root: str,
        experiments: int,
        trials: int,
        watch: str,
        config: str,
        kept: str,
        delete: str,
        reclaim: str,
        total: str,
        sort: str,
        activity: str,
    ) -> None:
        if not self.is_attached:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("storage root ", style="bold")
        text.append(root)
        text.append(f"  {experiments} experiment{'s' if experiments != 1 else ''} · {trials:,} trials · {watch}\n")
        text.append(config + "\n", style="cyan")
        text.append(f"✓ {kept} kept", style="green")
        text.append(" · ")
        text.append(f"✗ {delete} to delete", style="red")
        text.append(f" · frees {reclaim} of {total} · sorted by {sort} (S)")
        if activity:
            text.append(f" · {activity}")
        self.update(text)

    def show_waiting(self, *, root: str, watch: str) -> None:
        if not self.is_attached:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("waiting ", style="bold")
        text.append(root)
        text.append(f"  no Ray run here yet · {watch}\n")
        text.append("the run opens as Ray creates it; experiments created under it are listed\n", style="cyan")
        self.update(text)
