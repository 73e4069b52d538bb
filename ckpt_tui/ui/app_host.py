"""What the App mixins (``ConfigActions``, ``ViewActions``, ``DeletionView``) may use of the app.

For the type checker only: each mixin module imports ``AppHost`` under ``TYPE_CHECKING`` and
subclasses it there; at run time the mixins subclass ``object``, so ``CheckpointApp``'s MRO is
unchanged and this module is never imported. ``CheckpointApp`` provides everything declared here;
mypy checks that its definitions match these declarations. Annotations only, no behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from textual.app import App
from textual.geometry import Size
from textual.screen import Screen

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Run
from ckpt_tui.core.retention import Plan
from ckpt_tui.session import Session
from ckpt_tui.ui.widgets.checkpoint_table import CheckpointTable
from ckpt_tui.ui.widgets.detail import DetailPane
from ckpt_tui.ui.widgets.filter_input import FilterInput
from ckpt_tui.ui.widgets.summary import Summary
from ckpt_tui.ui.widgets.trial_list import TrialList


class AppHost(App[None]):
    # ---- state (set in CheckpointApp.__init__, compose and on_mount) -------------------------
    session: Session
    table: CheckpointTable
    trial_list: TrialList
    filter_input: FilterInput
    detail: DetailPane
    summary: Summary
    main_screen: Screen
    now: Callable[[], float]
    shown_root: str
    activity: str
    exit_lines: list[str]
    exit_errors: list[str]
    metric_columns: list[str]
    copied_line: Optional[str]
    sort_key: Optional[str]
    sort_reverse: bool
    trials_pane_wanted: Optional[bool]

    # ---- the session's state, as CheckpointApp's properties give it -------------------------
    @property
    def run_model(self) -> Run:
        raise NotImplementedError

    @property
    def config(self) -> CheckpointConfig:
        raise NotImplementedError

    @config.setter
    def config(self, value: CheckpointConfig) -> None:
        raise NotImplementedError

    @property
    def plan(self) -> Optional[Plan]:
        raise NotImplementedError

    @property
    def totals_plan(self) -> Optional[Plan]:
        raise NotImplementedError

    @property
    def pinned(self) -> set[str]:
        raise NotImplementedError

    @property
    def delete_untracked(self) -> bool:
        raise NotImplementedError

    @property
    def trial_filter(self) -> Optional[str]:
        raise NotImplementedError

    @property
    def text_filter(self) -> str:
        raise NotImplementedError

    @property
    def reading(self) -> bool:
        raise NotImplementedError

    @property
    def read_progress(self) -> tuple[int, Optional[int]]:
        raise NotImplementedError

    # ---- CheckpointApp's methods the mixins call ----------------------------------------------
    def _post_event(self, event: object) -> None: ...
    def _current_path(self) -> Optional[str]:
        raise NotImplementedError

    def _show_rows(self, keep_path: Optional[str]) -> None: ...
    def _update_summary(self) -> None: ...
    def _apply_size_classes(self, size: Optional[Size] = None) -> None: ...
    def _warnings(self) -> list[str]:
        raise NotImplementedError

    def _take_totals(self, plan: Plan) -> None: ...
    def _log_line(self, line: str) -> None: ...
    def _leave(self) -> None: ...
    def replan(self) -> None: ...
    def queue_reread(self, changed: set[str]) -> None: ...
