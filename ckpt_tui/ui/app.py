"""The ckpt-tui app: a run's checkpoints ranked under a CheckpointConfig, live.

The app is the view of one ``Session`` (``ckpt_tui.session``), which holds the run, its lock,
the config, the plan and its totals, the filters, the re-reads waiting and the deletion flow.
Threads (the watcher's, the workers: read, sizes, re-read, prepare, delete) call session
methods and post the typed events these report, wrapped in messages (``ui.messages``); the app
thread owns every widget and reacts to them. A plan is rebuilt in full on every change (a
pure function); the table then swaps its row list, so no widget is created per row. See
docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ClassVar, Optional

from textual import work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Run
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.session import Session, events, planning
from ckpt_tui.session.summary_state import SummaryState
from ckpt_tui.ui import keys
from ckpt_tui.ui.app_config import ConfigActions
from ckpt_tui.ui.app_deletion import DeletionView
from ckpt_tui.ui.app_view import ViewActions
from ckpt_tui.ui.commands import CheckpointCommands
from ckpt_tui.ui.crash import crash_line, write_crash_report
from ckpt_tui.ui.format import config_display, home_short, human_bytes, plural, relative_path, short_trial
from ckpt_tui.ui.messages import (
    ReadProgress,
    RereadFailed,
    RunChanged,
    RunReread,
    SizesFilled,
    SizesProgress,
    WatchStatus,
    wrap,
)
from ckpt_tui.ui.screens.session_log import SessionLogScreen
from ckpt_tui.ui.sorting import sort_rows, sort_title
from ckpt_tui.ui.textual_compat import close_now, record_unhandled, running_loop, unhandled_exception
from ckpt_tui.ui.trial_rows import TrialRows, TrialStats
from ckpt_tui.ui.widgets.checkpoint_table import CheckpointTable
from ckpt_tui.ui.widgets.detail import DetailPane, is_bookkeeping
from ckpt_tui.ui.widgets.filter_input import FilterInput
from ckpt_tui.ui.widgets.footer import KeyFooter
from ckpt_tui.ui.widgets.summary import Summary
from ckpt_tui.ui.widgets.trial_list import TrialList

if TYPE_CHECKING:  # imported where used: watchdog loads only when the run is watched
    from textual.timer import Timer

    from ckpt_tui.watch import RunWatcher

NARROW_WIDTH = 110  # below this the trial pane starts hidden (t shows it)
SHORT_HEIGHT = 30  # below this the detail pane is shorter
TINY_HEIGHT = 22  # below this the detail pane is hidden: the table comes first
READ_UPDATE_SECONDS = 0.5  # while a big run is read, the table grows at most this often


class CheckpointApp(ConfigActions, ViewActions, DeletionView, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ckpt-tui"
    BINDINGS: ClassVar[list[BindingType]] = [*keys.bindings()]
    COMMANDS = App.COMMANDS | {CheckpointCommands}

    def __init__(
        self,
        run: Run,
        config: CheckpointConfig,
        *,
        grace_seconds: float = 60.0,
        poll_interval: Optional[float] = None,
        watch: bool = True,
        now: Optional[Callable[[], float]] = None,
        shown_root: Optional[str] = None,
        reading: Optional[Iterator[Run]] = None,
    ) -> None:
        """``reading``: the rest of a progressive read (``read_run_progressively`` after its
        first yield, which is ``run``); the app shows the first trials at once and adds the
        others as they are read. Without it, ``run`` is complete."""
        super().__init__()
        self._trial_stats = TrialStats()  # per-trial bytes and best scores, across plans
        self.session = Session(
            run,
            config,
            grace_seconds=grace_seconds,
            reading=reading,
            sizes=self._trial_stats,
            is_bookkeeping=is_bookkeeping,
        )
        self._read_timer: Optional[Timer] = None
        self.crash_message: Optional[str] = None
        self.poll_interval = poll_interval
        self.watch_enabled = watch
        self.fixed_clock = now is not None
        self.now = now or time.time
        self.shown_root = shown_root or home_short(run.root)
        self.metric_columns: list[str] = []
        self.copied_line: Optional[str] = None
        self.trials_pane_wanted: Optional[bool] = None  # None: decided by the width
        self.watcher: Optional[RunWatcher] = None
        self.watch_text = "not watching" if not watch else "starting watch…"
        self.activity = ""  # reading / sizing / deleting progress, shown in the summary
        self.exit_lines: list[str] = []  # printed (stdout) after the app has left the screen
        self.exit_errors: list[str] = []  # printed on stderr then: what a stopped deletion skipped
        self.session_log: list[str] = []  # deletions, skips and failures of this session (L)
        self.trial_rows: Optional[TrialRows] = None
        self._sizes_totals_at = 0.0
        self.sort_key: Optional[str] = None  # None: Ray's order (trials in turn, best first)
        self.sort_reverse = False
        self._init_view()
        self._init_deletion()

    # ---- the session's state, as tests, benchmarks and the launcher read it ------------------
    @property
    def run_model(self) -> Run:
        return self.session.run

    @property
    def config(self) -> CheckpointConfig:
        return self.session.config

    @config.setter
    def config(self, value: CheckpointConfig) -> None:
        self.session.config = value

    @property
    def plan(self) -> Optional[Plan]:
        return self.session.planner.plan

    @property
    def totals_plan(self) -> Optional[Plan]:
        return self.session.planner.totals_plan

    @property
    def replan_count(self) -> int:
        return self.session.planner.replan_count

    @property
    def _sizes_settled(self) -> bool:
        return self.session.planner.sizes_settled

    @property
    def pinned(self) -> set[str]:
        return self.session.pinned

    @property
    def delete_untracked(self) -> bool:
        return self.session.delete_untracked

    @property
    def trial_filter(self) -> Optional[str]:
        return self.session.trial_filter

    @property
    def text_filter(self) -> str:
        return self.session.text_filter

    @property
    def reading(self) -> bool:
        return self.session.reading

    @property
    def read_progress(self) -> tuple[int, Optional[int]]:
        return self.session.read_progress

    @property
    def reread_trials(self) -> list[str]:
        return self.session.reread_trials

    def _post_event(self, event: object) -> None:
        """Any thread: hand a session event to the app thread."""
        self.post_message(wrap(event))

    # ---- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Kept as attributes: queries go to the active screen, which may be a dialog.
        self.summary = Summary(id="summary")
        self.trial_list = TrialList(id="trials")
        self.table = CheckpointTable(now=self.now, id="checkpoints")
        self.filter_input = FilterInput(placeholder="filter by trial or path (escape clears)", id="filter")
        self.detail = DetailPane(id="detail")
        yield self.summary
        with Horizontal(id="body"):
            yield self.trial_list
            with Vertical(id="table-box"):
                yield self.table
                yield self.filter_input
        yield self.detail
        yield KeyFooter()

    def get_system_commands(self, screen):
        """Of Textual's own palette commands only Theme: its key panel lists Textual's bindings
        (ctrl+q, super+c) beside ours, its Quit duplicates q, Maximize is undone by escape, and
        Screenshot writes where the user did not ask."""
        for command in super().get_system_commands(screen):
            if command.title == "Theme":
                yield command

    def _handle_exception(self, error: Exception) -> None:  # Textual's private hook: see textual_compat
        """Every unhandled exception, those with a rich rendering included, ends as one line
        and a report file; the app exits with 1."""
        record_unhandled(self, error, 1)
        self._fatal_error()

    def _fatal_error(self) -> None:  # Textual's private crash hook: see textual_compat
        """An unhandled exception: one line for the user instead of Textual's traceback; the
        traceback goes to a file the line names. (Pilot tests still see the exception.)"""
        error = unhandled_exception(self)
        if error is None:
            super()._fatal_error()
            return
        self.bell()
        self.crash_message = crash_line(error, write_crash_report(error))
        # Printed by the launcher once the terminal is restored, as one plain line: a path
        # broken over three lines by a renderer cannot be copied.
        close_now(self)

    def on_mount(self) -> None:
        self.main_screen = self.screen  # size classes go here even while a dialog is open
        self._apply_size_classes()
        if self.reading:
            self.activity = "reading trials…"
        self.replan()
        # A run of 100,000 checkpoints is millions of long-lived objects (report dicts): without
        # this, every full collection walks them all and a key press stalls for a second.
        gc.freeze()
        self.table.focus()
        if self.reading:
            # First frame first: the rest of the run, then sizes, are read after it.
            self.call_after_refresh(self._read_worker)
            self._read_timer = self.set_interval(READ_UPDATE_SECONDS, self._take_read_trials)
        else:
            self._start_sizing()
        if self.watch_enabled and not self.reading:
            # Not needed for the first frame (1,000 inotify watches on a big run).
            self.call_after_refresh(self._start_watch_worker)
        if not self.fixed_clock:
            self.set_interval(10, self._tick)

    def _start_sizing(self) -> None:
        if self.session.sizes_missing():
            self.activity = "sizing…"
            self._update_summary()
            self._fill_sizes_worker()
        else:
            self.session.planner.sizes_settled = True

    # ---- progressive reading ------------------------------------------------------------
    @work(thread=True, exclusive=True, group="read")
    def _read_worker(self) -> None:
        read = self.session.read
        assert read is not None
        read.run(lambda: self.session.closing, self._post_event)

    def _take_read_trials(self) -> None:
        read = self.session.read
        if read is not None and read.waiting():
            self.on_read_progress(None)

    def on_read_progress(self, message: Optional[ReadProgress]) -> None:
        applied = self.session.apply_read()
        if applied is None:
            return
        n, dirs = applied.trials, applied.dirs
        if applied.finished:
            if self._read_timer is not None:
                self._read_timer.stop()
            self.activity = ""
            if applied.error:
                self.notify(
                    terminal_safe(f"reading the run stopped after {plural(n, 'trial')}: {applied.error}"),
                    severity="error",
                    timeout=15,
                    markup=False,
                )
        else:
            total = f"/{max(dirs, n):,}" if dirs else ""
            self.activity = f"reading {n:,}{total} trials"
        if applied.fresh or applied.finished:
            self.replan()
        else:
            self._update_summary()
        if applied.finished:
            # The trials read since the first frame are long-lived too. No collection first: it
            # would walk every one of them, and reading leaves next to no garbage.
            gc.freeze()
            self._start_sizing()
            if self.watch_enabled:
                # Only now: the reader's own opens would raise events in every trial dir, and
                # a trial re-read before the reader hands it over would be overwritten.
                self._start_watch_worker()
            if self.session.has_pending():
                self.queue_reread(set())

    def on_resize(self, event) -> None:
        self._apply_size_classes(event.size)

    def _apply_size_classes(self, size=None) -> None:
        width, height = size or self.size
        screen = getattr(self, "main_screen", None)
        if screen is None:
            return
        screen.set_class(height < SHORT_HEIGHT, "-short")
        screen.set_class(height < TINY_HEIGHT, "-tiny")  # the detail pane gives way to the table
        screen.set_class(width < NARROW_WIDTH, "-narrow")
        wanted = self.trials_pane_wanted
        show = wanted if wanted is not None else width >= NARROW_WIDTH
        screen.set_class(not show, "-no-trials")

    def _tick(self) -> None:
        self.table.refresh_rows()

    # ---- planning and the view ----------------------------------------------------------
    def replan(self) -> None:
        """Plan afresh and show it; the cursor stays on the same checkpoint.

        The plan ranks a trial when something first asks about it: what is on screen now,
        the rest in slices between frames (``_finish_plan``), then the run's totals. A config
        seen before is all cached and completes at once; a new attribute over 100,000
        checkpoints shows its rows at once and its totals a few hundred ms later."""
        keep_path = self._current_path()
        plan = self.session.new_plan()
        if plan.complete:
            self._take_totals(plan)
        else:
            self.call_after_refresh(self._finish_plan, plan)
        self.trial_rows = TrialRows(plan, self._trial_stats)
        self.trial_list.show(self.trial_rows, self.trial_filter)
        self._show_rows(keep_path)

    def _finish_plan(self, plan: Plan) -> None:
        """Rank the rest of ``plan`` a slice at a time; keys and frames go between slices."""
        done = self.session.planner.finish_slice(plan)
        if done is None:
            return  # a newer plan replaced it
        if not done:
            self.set_timer(planning.PLAN_SLICE_GAP, lambda: self._finish_plan(plan))
            return
        self._take_totals(plan)
        self.trial_list.refresh()
        self._update_summary()
        self._collect_and_freeze()  # new rankings: thousands of long-lived lists

    def _collect_and_freeze(self) -> None:
        """Collect, then freeze the collector's view of everything alive. New rankings (an
        attribute over 100,000 reports: ~10,000 lists) live as long as the run; left to the
        collector, every full collection walks them, and a key press stalls ~130 ms. Frozen,
        they are never looked at again. The collection first (tens of ms: it walks only what
        is not frozen yet) frees what is already garbage (dismissed dialogs, timers), which
        frozen would stay for good."""
        if self.reading:
            # The trials read so far are not frozen yet: a collection would walk them all. The
            # freeze at the end of the read covers them.
            return
        gc.collect()
        gc.freeze()

    def _take_totals(self, plan: Plan) -> None:
        if self.session.planner.take_totals(plan):
            self.call_after_refresh(self._fill_reclaim, plan)

    def _fill_reclaim(self, plan: Plan) -> None:
        if self.session.planner.fill_reclaim(plan):
            self._update_summary()

    def _current_path(self) -> Optional[str]:
        try:
            current = self.table.current
        except Exception:  # noqa: BLE001 - before compose() there is no table, so no current row
            current = None
        self._current_ckpt = current
        return current.path if current is not None else None

    def _show_rows(self, keep_path: Optional[str]) -> None:
        assert self.plan is not None
        rows, keep_index = self.session.view_rows(self._current_ckpt, keep_path)
        if self.sort_key is not None:
            rows = sort_rows(rows, self.plan, self.sort_key, self.sort_reverse)
            keep_index = None  # a list: the table finds the checkpoint by its path
        self.table.show(
            rows,
            self.plan,
            show_trial=self.trial_filter is None,
            metric_columns=self.metric_columns,
            keep_path=keep_path,
            keep_index=keep_index,
            sort=(self.sort_key, self.sort_reverse),
        )
        self._update_summary()

    def _warnings(self) -> list[str]:
        return self.session.warnings(self.shown_root, relative_path)

    def summary_state(self) -> SummaryState:
        kept, delete, reclaim, total = self.session.planner.shown_totals()
        scope = "all trials" if self.trial_filter is None else f"trial {short_trial(self.trial_filter)}"
        if self.text_filter.strip():
            scope += f" · filter '{self.text_filter.strip()}' ({self.table.row_count:,} shown)"
        if self.sort_key is not None:
            scope += f" · sorted by {sort_title(self.sort_key)} {'↑' if self.sort_reverse else '↓'}"
        return SummaryState(
            root=self.shown_root,
            layout=self.run_model.layout,
            trials=len(self.run_model.trials),
            watch=self.watch_text,
            config_line=config_display(self.config),
            kept=kept,
            delete=delete,
            reclaim=human_bytes(reclaim),
            total=human_bytes(total),
            sizing=self.activity,
            warnings=len(self._warnings()),
            scope=scope,
            counting=self.activity.startswith("sizing"),
            untracked=self._untracked_text(),
        )

    def _update_summary(self) -> None:
        self.summary.state = self.summary_state()

    def _untracked_text(self) -> str:
        """Checkpoints Ray does not track (and never deletes): how many, their bytes, and
        whether the plan deletes them (u)."""
        plan = self.plan
        if plan is None:
            return ""
        count = plan.untracked_count
        if not count:
            return ""
        what = "deleting them (u)" if self.delete_untracked else "kept (u to delete)"
        return f"{count} untracked by Ray, {human_bytes(plan.untracked_bytes)}: {what}"

    # ---- sizes ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="sizes")
    def _fill_sizes_worker(self) -> None:
        self.session.fill_sizes_loop(self._post_event)

    def on_key(self) -> None:
        self.session.user_busy()

    def on_sizes_progress(self, message: SizesProgress) -> None:
        event = message.event
        if event.done < event.total:
            self.activity = f"sizing {event.done:,}/{event.total:,}"
            # The totals so far, about once a second: summing them is ~40 ms on 100,000.
            now = time.monotonic()
            if self.plan is not None and self.totals_plan is self.plan and now - self._sizes_totals_at >= 1.0:
                self._sizes_totals_at = now
                self._take_totals(self.plan)
            self._update_summary()

    def on_sizes_filled(self, message: SizesFilled) -> None:
        self.session.planner.sizes_filled()
        if self.activity.startswith("sizing"):
            self.activity = ""
        self.replan()

    # ---- live -----------------------------------------------------------------------------
    @work(thread=True, group="watch")
    def _start_watch_worker(self) -> None:
        try:
            from ckpt_tui.watch import RunWatcher
        except ImportError:
            self._post_event(events.WatchState("off", "the watch module is not installed"))
            return
        try:
            watcher = RunWatcher(
                self.run_model.root,
                self.run_model.layout,
                self._on_watch_batch,
                poll_interval=self.poll_interval,
                # an object store's poll interval adapts: show it as it changes
                on_interval=lambda _s: self._post_event(events.WatchState("polling", None)),
            )
            watcher.start()
        except Exception as exc:  # noqa: BLE001 - any failure to watch shows "watch off: why"; the app still works
            self._post_event(events.WatchState("off", str(exc) or type(exc).__name__))
            return
        self.watcher = watcher
        # start() has set the mode; "off" only keeps the event's type honest.
        self._post_event(events.WatchState(watcher.mode or "off", watcher.fallback_reason))

    def _on_watch_batch(self, changed: set[str]) -> None:
        # Called in the watcher's thread: post only.
        self._post_event(events.TrialsChanged(frozenset(changed)))

    def on_watch_status(self, message: WatchStatus) -> None:
        mode, reason = message.event.mode, message.event.reason
        if mode == "events":
            self.watch_text = "live"
        elif mode == "polling":
            interval = getattr(self.watcher, "poll_interval", None) or self.poll_interval
            every = f" every {interval:g}s" if interval else ""
            self.watch_text = f"live (polling{every})"
            if reason:
                self.notify(terminal_safe(f"watching by polling: {reason}"), timeout=8, markup=False)
        else:
            self.watch_text = "not watching"
            if reason:
                self.notify(terminal_safe(f"not watching for changes: {reason}"), severity="warning", markup=False)
        self._update_summary()

    def action_refresh_now(self) -> None:
        """R: look for changes now (a run on an object store is polled; locally every trial is
        re-read)."""
        if self.watcher is not None:
            self.watcher.poll_now()
        else:
            self.queue_reread({"", *self.run_model.trials})
        self.notify("looking for changes now", timeout=2)

    def on_run_changed(self, message: RunChanged) -> None:
        self.queue_reread(set(message.event.changed))

    def queue_reread(self, changed: set[str]) -> None:
        """Re-read these trials in a worker. Batches that arrive meanwhile are merged and read
        by the same worker, so none is lost and at most one re-read runs at a time."""
        if self.session.queue_reread(changed):
            self._reread_worker()

    @work(thread=True, group="reread")
    def _reread_worker(self) -> None:
        self.session.reread_loop(self._post_event)

    def on_reread_failed(self, message: RereadFailed) -> None:
        self.notify(f"re-reading the run failed: {message.event.error}", severity="error")

    def on_run_reread(self, message: RunReread) -> None:
        self.session.trials_reread(message.event, sizing=self.activity.startswith("sizing"))
        self.replan()
        if message.event.sizes_known:  # the second of the pair: the first would collect in vain
            self._collect_and_freeze()  # the re-read trials are long-lived too

    # ---- exit -----------------------------------------------------------------------------
    def stop_watching(self) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            try:
                watcher.stop()
            except Exception:  # noqa: BLE001 - exiting: a watcher that fails to stop must not block the quit
                pass

    def _log_line(self, line: str) -> None:
        self.session_log.append(f"{time.strftime('%H:%M:%S')}  {line}")

    def action_show_log(self) -> None:
        self.push_screen(SessionLogScreen(self.session_log))

    def _leave(self) -> None:
        self.session.deletion.stop.set()
        self.exit()

    def interrupt(self) -> None:
        """A SIGINT (not the ctrl+c key, which the terminal hands over as a key): do what
        ctrl+c does. Once the app has left, only make sure no deletion goes on."""
        loop = running_loop(self)
        if self.session.closing or loop is None or loop.is_closed():
            self.session.deletion.stop.set()
            return
        loop.call_soon_threadsafe(self.call_next, self.action_quit)

    def on_unmount(self) -> None:
        self.session.closing = True
        self.session.deletion.stop.set()  # whatever ends the app, no deletion outlives it
        self.stop_watching()
