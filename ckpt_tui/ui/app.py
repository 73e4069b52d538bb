"""The ckpt-tui app: a run's checkpoints ranked under a CheckpointConfig, live.

Threads: the watcher thread and the workers (sizes, re-read, deletion) only post messages; the
app thread owns every widget. The run model is mutated only by re-read workers, under
``run_lock``; the app thread takes the same lock while it plans, so a plan never sees a
half-re-read trial. A plan is rebuilt in full on every change (it is a pure function); the table
then swaps its row list, so no widget is created per row.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from itertools import islice
from typing import Callable, Iterator, Optional

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical

from ckpt_tui.core.config import CheckpointConfig, ConfigError, parse_num_to_keep
from ckpt_tui.core.metrics import flatten, is_number
from ckpt_tui.core.model import Checkpoint, Run
from ckpt_tui.core.readers import fill_sizes, reread
from ckpt_tui.core.retention import Plan, plan as make_plan
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.ui import keys
from ckpt_tui.ui.commands import CheckpointCommands
from ckpt_tui.ui.crash import crash_line, write_crash_report
from ckpt_tui.ui.format import config_display, home_short, human_bytes, plural, relative_path, short_trial
from ckpt_tui.ui.messages import (
    DeletionFinished,
    DeletionPrepared,
    DeletionProgress,
    ReadProgress,
    RunChanged,
    RunReread,
    SizesFilled,
    SizesProgress,
    WatchStatus,
)
from ckpt_tui.ui.screens.choose_attribute import RECENCY, ChooseAttributeScreen
from ckpt_tui.ui.screens.choose_columns import ChooseColumnsScreen
from ckpt_tui.ui.screens.confirm_delete import MAX_PATHS_SHOWN, ConfirmDeleteScreen
from ckpt_tui.ui.screens.help import HelpScreen
from ckpt_tui.ui.screens.number_input import NumberInputScreen
from ckpt_tui.ui.screens.sort import SortScreen
from ckpt_tui.ui.screens.text_list import TextListScreen
from ckpt_tui.ui.sorting import column_sort, sort_rows, sort_title
from ckpt_tui.ui.widgets.checkpoint_table import CheckpointTable
from ckpt_tui.ui.widgets.detail import DetailPane, is_bookkeeping
from ckpt_tui.ui.widgets.filter_input import FilterInput
from ckpt_tui.ui.widgets.footer import KeyFooter
from ckpt_tui.ui.widgets.line_table import LineTable
from ckpt_tui.ui.widgets.summary import Summary
from ckpt_tui.ui.widgets.trial_list import TrialList
from ckpt_tui.ui.trial_rows import TrialRows, TrialStats

def _count_dirs(root: str) -> Optional[int]:
    """Visible directories in the run root: the "N" of "reading n/N trials" (d_type, no stat)."""
    try:
        with os.scandir(root) as it:
            return sum(1 for e in it if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return None


def _trial_metric_keys(trial) -> dict[str, bool]:
    """Flattened metric keys of one trial's reports -> whether any value is a number."""
    numeric: dict[str, bool] = {}
    seen_shapes: set = set()
    for report in trial.reports:
        metrics = report.metrics
        # Reports of one trainable mostly share a shape: flatten each shape once. A nested
        # dict's shape is its flattened keys (two {"eval": {...}} can hold different keys).
        types = tuple(map(type, metrics.values()))
        flat = flatten(metrics) if dict in types else metrics
        shape = (tuple(flat), types if flat is metrics else tuple(map(type, flat.values())))
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        for key, value in flat.items():
            numeric[key] = numeric.get(key, False) or is_number(value)
    return numeric


SIZES_CHUNK = 200  # checkpoints summed between two looks at whether the user is busy
UI_BUSY_SECONDS = 0.4
NARROW_WIDTH = 110  # below this the trial pane starts hidden (t shows it)
SHORT_HEIGHT = 30  # below this the detail pane is shorter
TINY_HEIGHT = 22  # below this the detail pane is hidden: the table comes first
RECLAIM_INLINE = 5000  # plans deleting more than this sum their bytes one frame later
PROGRESS_SECONDS = 0.1  # a deletion's progress is shown at most this often
PLAN_FIRST_SLICE_SECONDS = 0.008  # ranking before the first frame of a new plan
PLAN_SLICE_SECONDS = 0.02  # then ranking between two looks at the keyboard and the screen
PLAN_SLICE_GAP = 0.001
READ_UPDATE_SECONDS = 0.5  # while a big run is read, the table grows at most this often
DETAIL_REST = 0.05  # while the cursor moves faster than this, the detail pane waits for it to rest


class CheckpointApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ckpt-tui"
    BINDINGS = keys.bindings()
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
        self._reading = reading
        self.reading = reading is not None  # tests and benchmarks read it
        self.read_progress = (len(run.trials), None)  # trials read, trial dirs seen (None: unknown)
        if reading is not None:
            # The reader keeps filling its own Run in its thread; the app's is a separate one
            # that only the app thread grows, from the trials the reader hands over.
            self._reader_run = run
            run = Run(root=run.root, layout=run.layout, trials=dict(run.trials), run_config=run.run_config,
                      warnings=list(run.warnings), leftovers=list(run.leftovers))
        self._read_queue: list = []
        self._read_dirs: Optional[int] = None
        self._read_timer = None
        self._read_lock = threading.Lock()
        self._closing = False
        self.run_model = run
        self.config = config
        self.grace_seconds = grace_seconds
        self.poll_interval = poll_interval
        self.watch_enabled = watch
        self.fixed_clock = now is not None
        self.now = now or time.time
        self.shown_root = shown_root or home_short(run.root)
        self.plan: Optional[Plan] = None
        self.pinned: set[str] = set()
        self.delete_untracked = False  # also delete checkpoints Ray does not track (u)
        self.trial_filter: Optional[str] = None  # None: all trials
        self.text_filter = ""
        self.metric_columns: list[str] = []
        self.copied_line: Optional[str] = None
        self.trials_pane_wanted: Optional[bool] = None  # None: decided by the width
        self.watcher = None
        self.watch_text = "not watching" if not watch else "starting watch…"
        self.activity = ""  # sizing / deleting progress, shown in the summary
        self.deleting = False
        self.replan_count = 0  # how many plans were built: tests and benchmarks read it
        self.reread_trials: list[str] = []  # ids re-read by the last change batch
        self.run_lock = threading.Lock()
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._reread_busy = False
        self._keys_cache: Optional[list[tuple[str, bool]]] = None
        self._trial_keys: dict[str, tuple[object, dict[str, bool]]] = {}
        self._trial_stats = TrialStats()  # per-trial bytes and best scores, across plans
        self.trial_rows: Optional[TrialRows] = None
        self.totals_plan: Optional[Plan] = None  # the plan whose totals the summary shows
        self._plan_warnings: list[str] = []  # totals_plan's warnings
        self._names_lower: dict[str, tuple] = {}  # tid -> (Trial, lowercased names, joined by newlines)
        self._delete_all_count = 0
        self._sizes_settled = False  # every size known (set by the sizes pass)
        self._reclaim_cache: dict[tuple, int] = {}  # (config, pinned) -> bytes, for this run state
        self._ui_busy_until = 0.0  # background sizing pauses until then
        self._totals = (0, 0, 0, 0)
        self._last_move = 0.0
        self._current_ckpt: Optional[Checkpoint] = None  # set with _current_path()
        self._detail_timer = None
        self._sizes_totals_at = 0.0
        self.sort_key: Optional[str] = None  # None: Ray's order (trials in turn, best first)
        self.sort_reverse = False

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

    def _fatal_error(self) -> None:
        """An unhandled exception: one line for the user instead of Textual's traceback; the
        traceback goes to a file the line names. (Pilot tests still see the exception.)"""
        error = self._exception
        if error is None:
            super()._fatal_error()
            return
        self.bell()
        self.crash_message = crash_line(error, write_crash_report(error))
        self._exit_renderables.append(self.crash_message)
        self._close_messages_no_wait()

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
        if any(c.size_bytes is None for c in self.run_model.checkpoints()):
            self.activity = "sizing…"
            self._update_summary()
            self._fill_sizes_worker()
        else:
            self._sizes_settled = True

    # ---- progressive reading ------------------------------------------------------------
    @work(thread=True, exclusive=True, group="read")
    def _read_worker(self) -> None:
        reading, run = self._reading, self._reader_run
        assert reading is not None
        try:
            dirs = _count_dirs(run.root)
            with self._read_lock:
                self._read_dirs = dirs
            self.post_message(ReadProgress())
            seen = len(run.trials)
            for _ in reading:
                if self._closing:
                    break
                fresh = list(islice(run.trials.items(), seen, None))
                seen += len(fresh)
                # Queued at every yield; the app takes them every READ_UPDATE_SECONDS (a timer):
                # each update re-plans and redraws, which the read would otherwise wait for.
                self._read_queue_put((fresh, (list(run.warnings), list(run.leftovers), run.run_config), False, None),
                                     post=False)
            else:
                self._read_queue_put(([], (list(run.warnings), list(run.leftovers), run.run_config), True, None))
        except Exception as exc:  # a trial that vanished mid-read is the reader's business; this is worse
            self._read_queue_put(([], None, True, str(exc) or type(exc).__name__))
        finally:
            reading.close()  # ends its gc pause even when the app quits mid-read

    def _read_queue_put(self, item, post: bool = True) -> None:
        with self._read_lock:
            self._read_queue.append(item)
        if post:
            self.post_message(ReadProgress())

    def _take_read_trials(self) -> None:
        with self._read_lock:
            waiting = bool(self._read_queue)
        if waiting:
            self.on_read_progress(None)

    def on_read_progress(self, message: Optional[ReadProgress]) -> None:
        with self._read_lock:
            items, self._read_queue = self._read_queue, []
            dirs = self._read_dirs
        if not self.reading:
            return
        done = False
        error = None
        run = self.run_model
        with self.run_lock:
            for fresh, run_level, finished, failed in items:
                for tid, trial in fresh:
                    run.trials[tid] = trial
                if run_level is not None:
                    run.warnings, run.leftovers, run.run_config = run_level
                done = done or finished
                error = error or failed
        n = len(run.trials)
        self.read_progress = (n, dirs)
        self._keys_cache = None
        if done:
            self.reading = False
            self._read_timer.stop()
            self._reading = None
            self._reader_run = None
            self.activity = ""
            if error:
                self.notify(terminal_safe(f"reading the run stopped after {plural(n, 'trial')}: {error}"), severity="error",
                            timeout=15, markup=False)
        else:
            total = f"/{max(dirs, n):,}" if dirs else ""
            self.activity = f"reading {n:,}{total} trials"
        if any(fresh for fresh, *_ in items) or done:
            self.replan()
        else:
            self._update_summary()
        if done:
            # The trials read since the first frame are long-lived too. No collection first: it
            # would walk every one of them, and reading leaves next to no garbage.
            gc.freeze()
            self._start_sizing()
            if self.watch_enabled:
                # Only now: the reader's own opens would raise events in every trial dir, and
                # a trial re-read before the reader hands it over would be overwritten.
                self._start_watch_worker()
            with self._pending_lock:
                waiting = bool(self._pending)
            if waiting:
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
        self._ui_busy_until = time.monotonic() + UI_BUSY_SECONDS
        keep_path = self._current_path()
        with self.run_lock:  # the plan copies the trial dict; readers replace Trials, never edit them
            plan = self.plan = make_plan(self.run_model, self.config, pinned=self.pinned, lazy=True,
                                         delete_untracked=self.delete_untracked)
        self.replan_count += 1
        if self.trial_filter is not None and self.trial_filter not in plan.order:
            self.trial_filter = None
        self.totals_plan = None
        plan.finish(PLAN_FIRST_SLICE_SECONDS)  # enough for a config whose rankings are cached
        if plan.complete:
            self._take_totals(plan)
        else:
            self.call_after_refresh(self._finish_plan, plan)
        self.trial_rows = TrialRows(plan, self._trial_stats)
        self.trial_list.show(self.trial_rows, self.trial_filter)
        self._show_rows(keep_path)

    def _finish_plan(self, plan: Plan) -> None:
        """Rank the rest of ``plan`` a slice at a time; keys and frames go between slices."""
        if plan is not self.plan:
            return  # a newer plan replaced it (its rankings so far stay cached on the trials)
        if not plan.finish(PLAN_SLICE_SECONDS):
            self.set_timer(PLAN_SLICE_GAP, lambda: self._finish_plan(plan))
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
        total_bytes, _known = self._trial_stats.run_size(plan)
        self._totals = (plan.keep_count, plan.delete_count, self._reclaim_now_or_soon(plan), total_bytes)
        self.totals_plan = plan
        self._plan_warnings = plan.warnings

    def _current_path(self) -> Optional[str]:
        try:
            current = self.table.current
        except Exception:
            current = None
        self._current_ckpt = current
        return current.path if current is not None else None

    def _show_rows(self, keep_path: Optional[str]) -> None:
        assert self.plan is not None
        needle = self.text_filter.strip().lower()
        keep_index = None
        if needle:
            rows = self._matching_rows(needle)
        else:
            rows = self.plan.ordered(self.trial_filter)
            current = self._current_ckpt
            if current is not None and current.path == keep_path:
                position = getattr(rows, "position", None)
                if position is not None:
                    keep_index = position(current)
                else:
                    outcome = self.plan.outcome(current.trial_id)
                    keep_index = outcome.ranking.pos.get(current) if outcome is not None else None
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

    def _matching_rows(self, needle: str) -> list[Checkpoint]:
        """The view's rows whose path within the run ("trial/checkpoint") contains ``needle``
        (lowercase), best first. Each trial's names are kept lowercased, and as one string, so
        a trial without a match costs one substring search (typing a filter on 100,000 rows)."""
        plan = self.plan
        assert plan is not None
        ids = [self.trial_filter] if self.trial_filter is not None else list(plan.trials)
        out: list[Checkpoint] = []
        for tid in ids:
            trial = plan.trials.get(tid)
            if trial is None:
                continue
            if "/" in needle:  # may span the trial id and the name
                out.extend(c for c in plan.order[tid] if needle in f"{tid}/{c.name}".lower())
                continue
            cached = self._names_lower.get(tid)
            if cached is None or cached[0] is not trial or len(cached[1]) != len(trial.checkpoints):
                lowered = [c.name.lower() for c in trial.checkpoints]
                cached = self._names_lower[tid] = (trial, lowered, "\n".join(lowered))
            if needle in tid.lower():
                out.extend(plan.order[tid])
            elif needle in cached[2]:
                hits = {c for c, name in zip(trial.checkpoints, cached[1]) if needle in name}
                out.extend(c for c in plan.order[tid] if c in hits)
        return out

    def _reclaim_now_or_soon(self, plan: Plan) -> Optional[int]:
        """The bytes ``plan`` frees, or None ("…") while it is being summed: summing 100,000
        sizes scattered over memory takes ~40 ms, so a big plan's figure follows one frame
        after its marks (and a config seen before is answered from a cache)."""
        key = (plan.config, plan.pinned, plan.delete_untracked)
        if not self._sizes_settled:  # sizes still filling in: the figure changes as they do
            self._reclaim_cache.clear()
        if key in self._reclaim_cache:
            return self._reclaim_cache[key]
        if plan.delete_count <= RECLAIM_INLINE:
            value = self._reclaim_cache[key] = plan.reclaim_bytes
            return value
        self.call_after_refresh(self._fill_reclaim, plan)
        return None

    def _fill_reclaim(self, plan: Plan) -> None:
        if plan is not self.plan:
            return  # a newer plan asked for its own
        value = plan.reclaim_bytes
        self._reclaim_cache[(plan.config, plan.pinned, plan.delete_untracked)] = value
        kept, delete, _, total = self._totals
        self._totals = (kept, delete, value, total)
        self._update_summary()

    def _warnings(self) -> list[str]:
        """The plan's warnings need every trial ranked: while a new plan is being ranked, the
        last complete plan's stand in (so the count does not flicker)."""
        out: list[str] = list(self._plan_warnings)
        root, shown = self.run_model.root.rstrip(os.sep) + os.sep, self.shown_root.rstrip(os.sep) + os.sep
        # Paths as the rest of the app shows them (the run root as given, ~ for home).
        out.extend(w.replace(root, shown) if root != shown else w for w in self.run_model.all_warnings())
        for path in self.run_model.leftovers:
            out.append(f"interrupted deletion left {relative_path(path, self.run_model.root, self.shown_root)}")
        return out

    def _update_summary(self) -> None:
        if self.totals_plan is self.plan:
            kept, delete, reclaim, total = self._totals
        else:  # still ranking: the marks on screen are right, the run's totals follow
            kept = delete = reclaim = None
            total = self._totals[3]
        scope = "all trials" if self.trial_filter is None else f"trial {short_trial(self.trial_filter)}"
        if self.text_filter.strip():
            scope += f" · filter '{self.text_filter.strip()}' ({self.table.row_count:,} shown)"
        if self.sort_key is not None:
            scope += f" · sorted by {sort_title(self.sort_key)} {'↑' if self.sort_reverse else '↓'}"
        self.summary.show(
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

    def action_toggle_untracked(self) -> None:
        self.delete_untracked = not self.delete_untracked
        self.replan()
        if self.delete_untracked:
            self.notify("deleting checkpoints Ray does not track (never a restore point or a trial's newest); "
                        "u again to keep them")
        else:
            self.notify("keeping checkpoints Ray does not track, as Ray does")

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
                self.trial_filter = new_filter
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
            self.text_filter = event.value
            self._show_rows(self._current_path())

    def on_input_submitted(self, event: FilterInput.Submitted) -> None:
        if event.input.id == "filter":
            self.table.focus()
            if not event.value.strip():
                self.filter_input.remove_class("-shown")

    def on_filter_input_cleared(self, event: FilterInput.Cleared) -> None:
        self.filter_input.remove_class("-shown")
        self.table.focus()

    # ---- retention editing --------------------------------------------------------------
    def set_config(self, **changes) -> None:
        try:
            self.config = self.config.with_changes(**changes)
        except ConfigError as exc:
            self.notify(str(exc), severity="error")
            return
        self.replan()

    def _max_registrations(self) -> int:
        return max((len(t.reports) for t in self.run_model.trials.values()), default=1)

    def action_keep_more(self) -> None:
        n = self.config.num_to_keep
        if n is None:
            self.notify("num_to_keep is None already: every checkpoint is kept")
            return
        self.set_config(num_to_keep=n + 1)

    def action_keep_fewer(self) -> None:
        n = self.config.num_to_keep
        if n is None:
            self.set_config(num_to_keep=max(1, self._max_registrations() - 1))
        elif n > 1:
            self.set_config(num_to_keep=n - 1)
        else:
            self.notify("num_to_keep is 1, the least Ray accepts")

    def action_keep_all(self) -> None:
        self.set_config(num_to_keep=None)

    def action_type_num_to_keep(self) -> None:
        def done(text: Optional[str]) -> None:
            if text is not None:
                self.set_config(num_to_keep=parse_num_to_keep(text))

        self.push_screen(NumberInputScreen(self.config.num_to_keep), done)

    def action_toggle_order(self) -> None:
        self.set_config(checkpoint_score_order="min" if self.config.checkpoint_score_order == "max" else "max")
        if not self.config.checkpoint_score_attribute:
            self.notify("no score attribute: the order matters once one is chosen (s)")

    def action_reset_config(self) -> None:
        self.config = self.run_model.run_config or CheckpointConfig()
        self.replan()
        self.notify(f"reset to the run's own: {self.config.to_python()}")

    def action_copy_config(self) -> None:
        line = self.config.to_python()
        self.copied_line = line
        self.copy_to_clipboard(line)
        self.notify(f"copied {line} (also printed when you quit)")

    def metric_keys(self) -> list[tuple[str, bool]]:
        """Flattened metric keys of the run's reports: (key, numeric), in the order a user wants
        them: the run's own attribute, their numeric metrics, Tune's numeric bookkeeping, the rest."""
        if self._keys_cache is None:
            numeric: dict[str, bool] = {}
            with self.run_lock:
                for tid, trial in self.run_model.trials.items():
                    cached = self._trial_keys.get(tid)
                    if cached is None or cached[0] is not trial:
                        cached = (trial, _trial_metric_keys(trial))
                        self._trial_keys[tid] = cached
                    for key, is_num in cached[1].items():
                        numeric[key] = numeric.get(key, False) or is_num
            own = self.run_model.run_config.checkpoint_score_attribute if self.run_model.run_config else None

            def rank(key: str) -> int:
                if key == own:
                    return 0
                if numeric[key] and not is_bookkeeping(key):
                    return 1
                if numeric[key]:
                    return 2
                return 3

            self._keys_cache = [(k, numeric[k]) for k in sorted(numeric, key=rank)]
        return self._keys_cache

    def action_choose_attribute(self) -> None:
        def done(choice: Optional[str]) -> None:
            if choice is None:
                return
            self.set_config(checkpoint_score_attribute=None if choice == RECENCY else choice)

        own = self.run_model.run_config.checkpoint_score_attribute if self.run_model.run_config else None
        self.push_screen(ChooseAttributeScreen(self.metric_keys(), self.config.checkpoint_score_attribute, own), done)

    def action_choose_columns(self) -> None:
        def done(chosen: Optional[list[str]]) -> None:
            if chosen is not None:
                self.metric_columns = chosen
                self._show_rows(self._current_path())

        self.push_screen(ChooseColumnsScreen([k for k, _ in self.metric_keys()], self.metric_columns), done)

    def action_toggle_pin(self) -> None:
        ckpt = self.table.current
        if ckpt is None:
            return
        if ckpt.path in self.pinned:
            self.pinned.discard(ckpt.path)
            self.notify(terminal_safe(f"unpinned {ckpt.name}"), markup=False)
        else:
            self.pinned.add(ckpt.path)
            self.notify(terminal_safe(f"pinned {ckpt.name}: no plan deletes it"), markup=False)
        self.replan()

    # ---- view ---------------------------------------------------------------------------
    def action_filter(self) -> None:
        self.filter_input.add_class("-shown")
        self.filter_input.focus()

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

    # ---- deletion -----------------------------------------------------------------------
    def action_delete(self) -> None:
        """Fingerprint what the table marks (worker), then ask; only a confirm deletes."""
        if self.plan is None:
            return
        if self.deleting:
            self.notify("a deletion is already running")
            return
        if self.reading:
            n, dirs = self.read_progress
            self.notify(f"still reading the run ({n:,}{f'/{dirs:,}' if dirs else ''} trials): "
                        "delete once every trial is ranked", severity="warning")
            return
        plan = self.plan
        doomed = plan.to_delete()
        self._delete_all_count = plan.delete_count
        if self.trial_filter is not None or self.text_filter.strip():
            shown = set(self.table.rows)  # Checkpoints hash by identity
            doomed = [c for c in doomed if c in shown]
        if not doomed:
            self.notify("nothing in this view is marked ✗ delete")
            return
        self.deleting = True
        self.activity = f"checking {plural(len(doomed), 'checkpoint')}…"
        self._update_summary()
        self._prepare_worker(plan, doomed)

    @work(thread=True, exclusive=True, group="delete")
    def _prepare_worker(self, plan: Plan, doomed: list[Checkpoint]) -> None:
        try:
            from ckpt_tui.core.deletion import prepare

            request = prepare(plan, doomed, grace_seconds=self.grace_seconds, pinned=self.pinned)
        except Exception as exc:  # refused as a whole: nothing was touched
            self.post_message(DeletionPrepared(None, str(exc) or type(exc).__name__))
            return
        self.post_message(DeletionPrepared(request))

    def on_deletion_prepared(self, message: DeletionPrepared) -> None:
        self.activity = ""
        self._update_summary()
        request = message.request
        if request is None or not request.items:
            self.deleting = False
            self._update_summary()
            self.notify(terminal_safe(f"nothing deleted: {message.error or 'nothing to delete'}"), severity="error",
                        markup=False)
            return
        all_doomed = self._delete_all_count
        count = len(request.items)
        scope = "Everything marked ✗ delete in the table" + (
            f" ({count:,} of {all_doomed:,} marked in the run: the view is filtered)."
            if count != all_doomed else ", in every trial."
        )
        stale = [i for i in request.items if i.stale]
        if stale:
            scope += f"\n! {len(stale):,} changed since the run was read and will be skipped."
        paths = [  # only what the dialog shows: formatting 96,000 paths would stall a second
            relative_path(i.path, self.run_model.root, "") + (f"  (changed: {i.stale})" if i.stale else "")
            for i in request.items[:MAX_PATHS_SHOWN]
        ]
        trials = [short_trial(t) for t in request.trials]

        def done(confirmed: Optional[bool]) -> None:
            if confirmed:
                self.activity = f"deleting 0/{count:,}"
                self._update_summary()
                self._delete_worker(request)
            else:
                self.deleting = False
                self._update_summary()
                self.notify("deletion cancelled: nothing was deleted")

        self.push_screen(
            ConfirmDeleteScreen(count=count, size=human_bytes(request.total_bytes), trials=trials, paths=paths, scope=scope,
                                root=self.shown_root),
            done,
        )

    @work(thread=True, exclusive=True, group="delete")
    def _delete_worker(self, request) -> None:
        from ckpt_tui.core.deletion import execute

        total = len(request.items)
        deleted = freed = 0
        failed: list[tuple[str, str]] = []
        shown = 0.0
        try:
            for done, outcome in enumerate(execute(request), 1):
                if outcome.deleted:
                    deleted += 1
                    freed += outcome.bytes or 0
                else:
                    failed.append((outcome.path, outcome.reason))
                # A progress line ten times a second, not one per checkpoint: 96,000 summary
                # redraws would cost the deletion (and the GIL) more than the deleting.
                now = time.monotonic()
                if now - shown >= PROGRESS_SECONDS or done == total:
                    shown = now
                    self.post_message(DeletionProgress(done, total, outcome.path, outcome.deleted, outcome.reason))
        except Exception as exc:  # execute promises not to raise; if it does, say so in one line
            self.post_message(DeletionFinished(deleted, failed, freed, error=str(exc) or type(exc).__name__,
                                               trial_ids=request.trials))
            return
        self.post_message(DeletionFinished(deleted, failed, freed, trial_ids=request.trials))

    def on_deletion_progress(self, message: DeletionProgress) -> None:
        self.activity = f"deleting {message.done:,}/{message.total:,}"
        self._update_summary()

    def on_deletion_finished(self, message: DeletionFinished) -> None:
        self.deleting = False
        self.activity = ""
        if message.error:
            self.notify(terminal_safe(f"deletion stopped after {message.deleted:,}: {message.error}"), severity="error",
                        timeout=10, markup=False)
        else:
            text = f"deleted {plural(message.deleted, 'checkpoint')}, freed {human_bytes(message.freed_bytes)}"
            if message.failed:
                first_path, first_reason = message.failed[0]
                name = os.path.basename(first_path)
                text += terminal_safe(f"; {len(message.failed):,} not deleted (first: {name}: {first_reason})")
                self.notify(text, severity="warning", timeout=15, markup=False)
            else:
                self.notify(text)
        # The watcher will see the directories go too; re-reading now makes the table follow
        # even when nothing watches the run. Only the trials it deleted from: on a big run the
        # others are most of 1,000.
        self.queue_reread(set(message.trial_ids) | {""})

    # ---- sizes ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="sizes")
    def _fill_sizes_worker(self) -> None:
        with self.run_lock:
            todo = [c for c in self.run_model.checkpoints() if c.size_bytes is None]
        total = len(todo)
        for start in range(0, total, SIZES_CHUNK):
            # Step aside while the user is pressing keys: a thread doing syscalls in a loop
            # makes the app thread wait for the GIL on every switch (the convoy effect).
            while time.monotonic() < self._ui_busy_until:
                time.sleep(0.02)
            fill_sizes(self.run_model, todo[start:start + SIZES_CHUNK])
            self.post_message(SizesProgress(min(start + SIZES_CHUNK, total), total))
        self.post_message(SizesFilled())

    def on_key(self) -> None:
        self._ui_busy_until = time.monotonic() + UI_BUSY_SECONDS

    def on_sizes_progress(self, message: SizesProgress) -> None:
        if message.done < message.total:
            self.activity = f"sizing {message.done:,}/{message.total:,}"
            # The totals so far, about once a second: summing them is ~40 ms on 100,000.
            now = time.monotonic()
            if self.plan is not None and self.totals_plan is self.plan and now - self._sizes_totals_at >= 1.0:
                self._sizes_totals_at = now
                self._take_totals(self.plan)
            self._update_summary()

    def on_sizes_filled(self, message: SizesFilled) -> None:
        self._trial_stats.forget_sizes()
        self._reclaim_cache.clear()
        self._sizes_settled = True
        if self.activity.startswith("sizing"):
            self.activity = ""
        self.replan()

    # ---- live -----------------------------------------------------------------------------
    @work(thread=True, group="watch")
    def _start_watch_worker(self) -> None:
        try:
            from ckpt_tui.watch import RunWatcher
        except ImportError:
            self.post_message(WatchStatus("off", "the watch module is not installed"))
            return
        try:
            watcher = RunWatcher(
                self.run_model.root,
                self.run_model.layout,
                self._on_watch_batch,
                poll_interval=self.poll_interval,
                # an object store's poll interval adapts: show it as it changes
                on_interval=lambda _s: self.post_message(WatchStatus("polling", None)),
            )
            watcher.start()
        except Exception as exc:
            self.post_message(WatchStatus("off", str(exc) or type(exc).__name__))
            return
        self.watcher = watcher
        self.post_message(WatchStatus(watcher.mode, watcher.fallback_reason))

    def _on_watch_batch(self, changed: set[str]) -> None:
        # Called in the watcher's thread: post only.
        self.post_message(RunChanged(set(changed)))

    def on_watch_status(self, message: WatchStatus) -> None:
        if message.mode == "events":
            self.watch_text = "live"
        elif message.mode == "polling":
            interval = getattr(self.watcher, "poll_interval", None) or self.poll_interval
            every = f" every {interval:g}s" if interval else ""
            self.watch_text = f"live (polling{every})"
            if message.reason:
                self.notify(terminal_safe(f"watching by polling: {message.reason}"), timeout=8, markup=False)
        else:
            self.watch_text = "not watching"
            if message.reason:
                self.notify(terminal_safe(f"not watching for changes: {message.reason}"), severity="warning",
                            markup=False)
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
        self.queue_reread(message.changed)

    def queue_reread(self, changed: set[str]) -> None:
        """Re-read these trials in a worker. Batches that arrive meanwhile are merged and read
        by the same worker, so none is lost and at most one re-read runs at a time."""
        with self._pending_lock:
            self._pending |= set(changed)
            if self._reread_busy or self.reading:  # after the read, on_read_progress flushes
                return
            self._reread_busy = True
        self._reread_worker()

    @work(thread=True, group="reread")
    def _reread_worker(self) -> None:
        try:
            while True:
                with self._pending_lock:
                    if not self._pending:
                        self._reread_busy = False
                        return
                    changed, self._pending = self._pending, set()
                with self.run_lock:
                    ids = reread(self.run_model, changed, sizes=False)
                    fresh = [c for t in ids if t in self.run_model.trials for c in self.run_model.trials[t].checkpoints]
                # Rows first, sizes after: a new checkpoint shows before its files are summed.
                self.post_message(RunReread(ids, sizes_known=False))
                fill_sizes(self.run_model, fresh)
                self.post_message(RunReread(ids, sizes_known=True))
        except Exception as exc:
            with self._pending_lock:
                self._reread_busy = False
            self.call_from_thread(self.notify, f"re-reading the run failed: {exc}", severity="error")

    def on_run_reread(self, message: RunReread) -> None:
        self.reread_trials = message.trial_ids
        self._reclaim_cache.clear()
        self._sizes_settled = message.sizes_known and not self.activity.startswith("sizing")
        self._keys_cache = None
        self.replan()
        if message.sizes_known:  # the second of the pair: the first would collect in vain
            self._collect_and_freeze()  # the re-read trials are long-lived too

    # ---- exit -----------------------------------------------------------------------------
    def stop_watching(self) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            try:
                watcher.stop()
            except Exception:
                pass

    def on_unmount(self) -> None:
        self._closing = True
        self.stop_watching()
