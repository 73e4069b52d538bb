"""The app's view actions: the trial pane, the text filter, sorting, the detail pane, help.

A mixin of ``CheckpointApp``. The filters live in the session (``trial_filter``,
``text_filter``); which rows they leave is the session's ``view_rows``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

from ckpt_tui.ui.screens.help import HelpScreen
from ckpt_tui.ui.screens.sort import SortScreen
from ckpt_tui.ui.screens.text_list import TextListScreen
from ckpt_tui.ui.sorting import column_sort
from ckpt_tui.ui.widgets.filter_input import FilterInput
from ckpt_tui.ui.widgets.line_table import LineTable

if TYPE_CHECKING:  # the checker sees the app's attributes; at run time the MRO is unchanged
    from textual.timer import Timer

    from ckpt_tui.core.model import Checkpoint
    from ckpt_tui.ui.app_host import AppHost as _Base
else:
    _Base = object

DETAIL_REST = 0.05  # while the cursor moves faster than this, the detail pane waits for it to rest


class ViewActions(_Base):
    """Mixed into ``CheckpointApp`` (which provides session, table, notify, push_screen, ...)."""

    def _init_view(self) -> None:
        self._last_move = 0.0
        self._current_ckpt: Optional[Checkpoint] = None  # set with _current_path()
        self._detail_timer: Optional[Timer] = None

    def _show_detail(self) -> None:
        detail = self.detail
        ckpt = self.table.current
        if ckpt is None or self.plan is None:
            detail.show_nothing("no checkpoints in this view")
            return
        detail.show(
            ckpt,
            self.run_model.trials.get(ckpt.trial_id),
            self.plan,
            root=self.run_model.root,
            shown_root=self.shown_root,
            now=self.now(),
        )

    # ---- table and trial pane events ----------------------------------------------------
    def on_line_table_highlighted(self, event: LineTable.Highlighted) -> None:
        if event.table is self.trial_list:
            row = self.trial_list.current
            new_filter = row.trial_id if row is not None else None
            if new_filter != self.trial_filter:
                self.session.trial_filter = new_filter
                self._show_rows(self._current_path())
        elif event.table is self.table:
            self._detail_soon()

    def _detail_soon(self) -> None:
        """Draw the detail pane now, or once the cursor rests when keys come in fast (paging
        through 100,000 rows): the table then redraws alone, and the pane follows 50 ms after
        the last key."""
        now = time.monotonic()
        moving = now - self._last_move < DETAIL_REST
        self._last_move = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if moving:
            self._detail_timer = self.set_timer(DETAIL_REST, self._detail_rested)
        else:
            self._show_detail()

    def _detail_rested(self) -> None:
        self._detail_timer = None
        self._show_detail()

    def on_input_changed(self, event: FilterInput.Changed) -> None:
        if event.input.id == "filter":
            self.session.text_filter = event.value
            self._show_rows(self._current_path())

    def on_input_submitted(self, event: FilterInput.Submitted) -> None:
        if event.input.id == "filter":
            self.table.focus()
            if not event.value.strip():
                self.filter_input.remove_class("-shown")

    def on_filter_input_cleared(self, event: FilterInput.Cleared) -> None:
        self.filter_input.remove_class("-shown")
        self.table.focus()

    # ---- view ---------------------------------------------------------------------------
    def action_filter(self) -> None:
        self.filter_input.add_class("-shown")
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        """Escape in the table: clear the text filter; pressed again, back to every trial."""
        if self.text_filter.strip() or self.filter_input.value:
            self.filter_input.value = ""  # its Changed message re-shows the rows
            self.session.text_filter = ""
            self.filter_input.remove_class("-shown")
            self._show_rows(self._current_path())
            self.table.focus()
        elif self.trial_filter is not None:
            self.action_all_trials()

    def action_toggle_trials(self) -> None:
        showing = not self.main_screen.has_class("-no-trials")
        self.trials_pane_wanted = not showing
        self._apply_size_classes()
        if self.trials_pane_wanted:
            self.trial_list.focus()
        else:
            self.table.focus()

    def _step_trial(self, step: int) -> None:
        tl = self.trial_list
        if tl.row_count <= 1:
            return
        index = tl.cursor + step
        # Wrap around the trial rows, skipping the "all trials" row at 0.
        if index < 1:
            index = tl.row_count - 1
        elif index >= tl.row_count:
            index = 1
        tl.move_cursor(index)

    def action_previous_trial(self) -> None:
        self._step_trial(-1)

    def action_next_trial(self) -> None:
        self._step_trial(1)

    def action_all_trials(self) -> None:
        self.trial_list.move_cursor(0)

    def action_show_warnings(self) -> None:
        if self.plan is not None and self.totals_plan is not self.plan:
            self.plan.finish()
            self._take_totals(self.plan)
            self._update_summary()
        self.push_screen(TextListScreen("Warnings", self._warnings(), "no warnings: Ray's rules apply plainly"))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # ---- sorting (S, or a click on a column's header) -------------------------------------
    def action_choose_sort(self) -> None:
        def done(choice: Optional[str]) -> None:
            if choice is not None:
                self.sort_by(choice)

        self.push_screen(SortScreen(self.sort_key or "rank", self.sort_reverse), done)

    def sort_by(self, key: str) -> None:
        """Sort the table by ``key``; the same key again reverses (Ray's order: ``rank``)."""
        current = self.sort_key or "rank"
        if key == current:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_reverse = False
        self.sort_key = None if key == "rank" and not self.sort_reverse else key
        self._show_rows(self._current_path())

    def on_line_table_header_clicked(self, message: LineTable.HeaderClicked) -> None:
        if message.table is not self.table:
            return
        key = column_sort(message.column)
        if key is not None:
            self.sort_by(key)
