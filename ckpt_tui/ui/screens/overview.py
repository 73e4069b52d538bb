"""The storage root's overview: one row per experiment, like ncdu's top level.

Each experiment is planned under its own recorded ``CheckpointConfig`` with the changes made at
the root on top (``RootState.changes``): a key here changes the config of every experiment, and
each row shows what its experiment would free. Enter opens the highlighted experiment in the
main screen (the app exits with ``("open", rel)``; the launcher runs the experiment's app and
brings the overview back, cursor in place). ``d`` deletes across experiments after one
confirmation, through the same safe deletion as everywhere else.

Threads: one I/O worker reads and re-reads experiments from a task queue; deletion runs in its
own workers; the root poller posts ``RootPolled``. Only this screen's thread touches widgets and
plans; runs are mutated only under ``state.lock``, which planning takes too.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from typing import Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from ckpt_tui.core.config import ConfigError, parse_num_to_keep
from ckpt_tui.core.metrics import flatten, is_number
from ckpt_tui.core.model import RunError
from ckpt_tui.core.readers import fill_sizes, read_run, reread
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.core.storage_root import WAITING_FOR, RootEntry, config_for, newest_write, short_config
from ckpt_tui.ui.format import human_age, human_bytes
from ckpt_tui.ui.root_messages import (
    ExperimentRead,
    ExperimentReread,
    RootPolled,
)
from ckpt_tui.ui.screens.choose_attribute import RECENCY, ChooseAttributeScreen
from ckpt_tui.ui.screens.number_input import NumberInputScreen
from ckpt_tui.ui.screens.overview_deletion import RootDeletion
from ckpt_tui.ui.screens.text_list import TextListScreen
from ckpt_tui.ui.textual_compat import is_closing, mark_closing
from ckpt_tui.ui.widgets.experiment_table import SORTS, ExperimentRow, ExperimentTable
from ckpt_tui.ui.widgets.root_summary import RootSummary

ACTIVE_SECONDS = 600  # an experiment written to this recently looks active
PLAN_SLICE_SECONDS = 0.02  # planning between two frames after a change
SORT_ORDER = list(SORTS)


class OverviewScreen(RootDeletion, Screen):
    BINDINGS = [
        Binding("question_mark", "help", "Help", show=True),
        Binding("q", "app.quit", "Quit", show=True),
        Binding("enter", "open", "Open", show=True),
        Binding("plus,equals_sign", "keep_more", "Keep +1", show=True),
        Binding("minus", "keep_fewer", "Keep -1", show=True),
        Binding("n", "type_num_to_keep", "Type N", show=False),
        Binding("a", "keep_all", "Keep all", show=False),
        Binding("s", "choose_attribute", "Score", show=True),
        Binding("o", "toggle_order", "Max/min", show=True),
        Binding("r", "reset_config", "Own configs", show=True),
        Binding("d", "delete", "Delete", show=True),
        Binding("S", "cycle_sort", "Sort", show=True),
        Binding("w", "show_warnings", "Warnings", show=False),
    ]
    # What ? shows: the overview's own keys. Not named HELP: that is Textual's markdown help text.
    KEYS_HELP = [
        ("enter", "open the highlighted experiment in the main screen (escape or backspace comes back)"),
        ("+ / -", "raise / lower num_to_keep in every experiment (from each one's own)"),
        ("n", "type num_to_keep for every experiment (a number, or 'all')"),
        ("a", "keep all, in every experiment"),
        ("s", "choose the score attribute (the metrics of every experiment)"),
        ("o", "toggle checkpoint_score_order max / min in every experiment"),
        ("r", "give each experiment its own recorded CheckpointConfig back"),
        ("d", "delete what every experiment's plan marks, after one confirmation"),
        ("S", "sort by size, what goes, checkpoints, trials, newest write or path"),
        ("w", "every experiment's warnings"),
        ("j / k, g / G", "move, first / last"),
        ("?", "this help"),
        ("q / ctrl+c", "quit"),
    ]
    HELP_INTRO = (
        "A storage root: one row per experiment found below it, each planned under its own "
        "CheckpointConfig. Changes made here apply to every experiment; nothing is deleted "
        "until you press d and confirm."
    )

    DEFAULT_CSS = """
    OverviewScreen { layout: vertical; }
    OverviewScreen #root-summary { height: 3; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    OverviewScreen #experiments { height: 1fr; }
    OverviewScreen #waiting { height: 1fr; padding: 1 2; display: none; }
    OverviewScreen.-waiting #waiting { display: block; }
    OverviewScreen.-waiting #experiments { display: none; }
    """

    def __init__(self, state, *, grace_seconds: float = 60.0, now=time.time) -> None:
        super().__init__()
        self.state = state
        self.grace_seconds = grace_seconds
        self.now = now
        self.plans: dict[str, Plan] = {}  # rel -> complete Plan under the current config
        # rel -> (total_bytes, reclaim_bytes, delete, keep) of its plan: summed once per plan, not
        # per frame (100,000 sizes)
        self.figures: dict[str, tuple] = {}
        self._stale: set[str] = set()
        self._planning = False
        self._tasks: queue.Queue = queue.Queue()
        self._queued_reads: set[str] = set()
        self.deleting = False
        self.stop_deleting = threading.Event()  # set when the screen goes: no deletion outlives it
        self.activity = ""
        self.replan_count = 0  # tests read it

    # ---- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.summary = RootSummary(id="root-summary")
        self.table = ExperimentTable(id="experiments")
        self.waiting_text = Static(id="waiting")
        yield self.summary
        yield self.table
        yield self.waiting_text
        yield Footer()

    def on_mount(self) -> None:
        state = self.state
        self._io_loop()
        for exp in state.found:
            if exp.rel not in state.entries:
                self._queue_read(exp)
        self._stale = set(state.entries)
        self._update_waiting()
        self._show_rows()
        self._schedule_replan()
        self.table.focus()
        self.set_interval(10, self._show_rows)  # "newest write" ages
        state.listener = lambda: self.post_message(RootPolled())
        if state.pending:
            self.post_message(RootPolled())

    def on_unmount(self) -> None:
        self.state.listener = None
        mark_closing(self)  # the next app may hand a run to the experiment app: stop touching runs
        self.stop_deleting.set()  # a deletion stops after the checkpoint in hand
        self._tasks.put(None)

    def _update_waiting(self) -> None:
        waiting = not self.state.found and not self.state.entries
        self.set_class(waiting, "-waiting")
        if waiting:
            self.waiting_text.update(
                f"No Ray run in {self.state.shown_root} yet.\n\n"
                f"Waiting for {WAITING_FOR} to appear.\n\n"
                "Watching: the run opens here as Ray creates it, and experiments created under this "
                "directory are listed as they appear. q quits."
            )

    # ---- reading ------------------------------------------------------------------------
    def _queue_read(self, exp) -> None:
        if exp.rel not in self._queued_reads:
            self._queued_reads.add(exp.rel)
            self._tasks.put(("read", exp))

    @work(thread=True, group="root-io")
    def _io_loop(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None or is_closing(self):
                return
            kind = task[0]
            if kind == "read":
                exp = task[1]
                try:
                    run = read_run(exp.path, sizes=False)
                    fill_sizes(run, list(run.checkpoints()))
                except RunError as exc:
                    self.post_message(ExperimentRead(exp, None, str(exc)))
                    continue
                except Exception as exc:  # noqa: BLE001 - one experiment's failure never stops the others
                    self.post_message(ExperimentRead(exp, None, str(exc) or type(exc).__name__))
                    continue
                self.post_message(ExperimentRead(exp, run))
            elif kind == "reread":
                rel, ids = task[1], task[2]
                entry = self.state.entries.get(rel)
                if entry is None or entry.run is None:
                    continue
                try:
                    with self.state.lock:
                        reread(entry.run, ids, sizes=True)
                except Exception:  # noqa: BLE001 - gone meanwhile: the next poll says so
                    continue
                self.post_message(ExperimentReread(rel))

    def on_experiment_read(self, message: ExperimentRead) -> None:
        exp = message.exp
        self._queued_reads.discard(exp.rel)
        if not any(e.rel == exp.rel for e in self.state.found):
            return  # removed while it was read
        entry = self.state.entries[exp.rel] = RootEntry(exp=exp, run=message.run, error=message.error, sized=True)
        if message.run is not None:
            entry.extra["newest"] = newest_write(message.run)
        self._stale.add(exp.rel)
        self._update_waiting()
        self._schedule_replan()

    def on_experiment_reread(self, message: ExperimentReread) -> None:
        entry = self.state.entries.get(message.rel)
        if entry is not None and entry.run is not None:
            with self.state.lock:
                entry.extra["newest"] = newest_write(entry.run)
        self._stale.add(message.rel)
        self._schedule_replan()

    def on_root_polled(self, message: RootPolled) -> None:
        state = self.state
        for change in state.take_pending():
            if change.root_is_run:
                self.app.exit(("self", change.root_is_run))
                return
            for rel in change.removed:
                state.found = [e for e in state.found if e.rel != rel]
                state.entries.pop(rel, None)
                self.plans.pop(rel, None)
                self.figures.pop(rel, None)
                self._stale.discard(rel)
            for exp in change.added:
                state.found = [e for e in state.found if e.rel != exp.rel] + [exp]
                self._queue_read(exp)
            for rel, ids in change.changed.items():
                if rel in state.entries:
                    self._tasks.put(("reread", rel, set(ids)))
        self._update_waiting()
        self._show_rows()
        self._schedule_replan()

    # ---- planning -----------------------------------------------------------------------
    def _schedule_replan(self) -> None:
        if not self._planning:
            self._planning = True
            # The frame showing the change (rows marked …) first, then the slices.
            self.call_after_refresh(self._replan_step)

    def _replan_step(self) -> None:
        """Plan stale experiments for one slice, show the rows, and come back after a frame."""
        start = time.perf_counter()
        state = self.state
        with state.lock:
            while self._stale and time.perf_counter() - start < PLAN_SLICE_SECONDS:
                rel = min(self._stale)
                self._stale.discard(rel)
                entry = state.entries.get(rel)
                if entry is None or entry.run is None:
                    self.plans.pop(rel, None)
                    continue
                try:
                    p = make_plan(entry.run, config_for(entry.run.run_config, state.changes))
                    p.finish()
                except ConfigError as exc:
                    entry.error = str(exc)
                    self.plans.pop(rel, None)
                    continue
                entry.error = None
                self.plans[rel] = p
                self.figures[rel] = (p.total_bytes, p.reclaim_bytes, p.delete_count, p.keep_count)
                self.replan_count += 1
        self._show_rows()
        if self._stale:
            self.set_timer(0.001, self._replan_step)
        else:
            self._planning = False
            self._collect_and_freeze()

    def _collect_and_freeze(self) -> None:
        """As the main app does: after reading and new rankings, collect once and freeze what is
        alive, so that no full collection walks 100,000 reports in the middle of a key press."""
        if len(self.state.entries) < len(self.state.found):
            return  # still reading: the freeze after the last experiment covers it
        gc.collect()
        gc.freeze()

    # ---- rows ---------------------------------------------------------------------------
    def _row(self, exp) -> ExperimentRow:
        entry = self.state.entries.get(exp.rel)
        row = ExperimentRow(rel=exp.rel, layout=exp.layout)
        if entry is None:
            return row
        if entry.error and entry.run is None:
            row.error = entry.error
            return row
        run = entry.run
        row.trials = len(run.trials)
        row.checkpoints = run.checkpoint_count
        p = self.plans.get(exp.rel)
        if entry.error:
            row.error = entry.error
        if p is not None and exp.rel not in self._stale:
            total, reclaim, delete, _keep = self.figures[exp.rel]
            row.size = human_bytes(total)
            row.frees = human_bytes(reclaim)
            row.delete = delete
            row.config = short_config(p.config)
            row.total_bytes = total
            row.reclaim_bytes = reclaim
        newest = entry.extra.get("newest")
        if newest is not None:
            age = max(0.0, self.now() - newest)
            row.newest = human_age(age) + " ago"
            row.active = age < ACTIVE_SECONDS
            row.newest_time = newest
        return row

    def rows(self) -> list[ExperimentRow]:
        rows = [self._row(e) for e in self.state.found]
        sort = self.state.sort

        def key(r: ExperimentRow):
            value = {
                "bytes": r.total_bytes,
                "frees": r.reclaim_bytes,
                "checkpoints": r.checkpoints,
                "trials": r.trials,
                "newest": r.newest_time,
            }.get(sort)
            return (value is None, -(value or 0), r.rel)

        rows.sort(key=(lambda r: r.rel) if sort == "path" else key)
        return rows

    def _show_rows(self) -> None:
        current = self.table.current
        keep = current.rel if current is not None else self.state.cursor_rel
        if self.state.cursor_rel is not None and current is None:
            keep = self.state.cursor_rel
        self.table.show(self.rows(), self.state.sort, keep)
        self._update_summary()

    def _update_summary(self) -> None:
        state = self.state
        figures = [self.figures[r] for r in state.entries if r in self.plans]
        complete = not self._stale and len(figures) == sum(1 for e in state.entries.values() if e.run is not None)
        kept = sum(f[3] for f in figures)
        delete = sum(f[2] for f in figures)
        reclaim = sum(f[1] for f in figures)
        total = sum(f[0] for f in figures)
        reading = len(state.found) - len(state.entries)
        activity = self.activity or (
            f"reading {len(state.entries)}/{len(state.found)} experiments…" if reading > 0 else ""
        )
        if not state.found and not state.entries:
            self.summary.show_waiting(root=state.shown_root, watch=state.watch_text)
            return
        self.summary.show(
            root=state.shown_root,
            experiments=len(state.found),
            trials=sum(len(e.run.trials) for e in state.entries.values() if e.run is not None),
            watch=state.watch_text,
            config=state.config_text(),
            kept=str(kept) if complete else "…",
            delete=str(delete) if complete else "…",
            reclaim=human_bytes(reclaim) if complete else "…",
            total=human_bytes(total),
            sort=state.sort,
            activity=activity,
        )

    def on_line_table_highlighted(self, message) -> None:
        current = self.table.current
        if current is not None:
            self.state.cursor_rel = current.rel

    # ---- actions ------------------------------------------------------------------------
    def action_open(self) -> None:
        row = self.table.current
        if row is None:
            return
        entry = self.state.entries.get(row.rel)
        if entry is None or entry.run is None:
            self.app.notify(
                f"{row.rel} is still being read" if entry is None else f"{row.rel}: {entry.error}", severity="warning"
            )
            return
        if self.deleting:
            self.app.notify("a deletion is running: open the experiment when it is done", severity="warning")
            return
        self.state.cursor_rel = row.rel
        self.app.exit(("open", row.rel))

    def action_help(self) -> None:
        from ckpt_tui.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.KEYS_HELP, self.HELP_INTRO))

    def action_show_warnings(self) -> None:
        lines = []
        for exp in self.state.found:
            entry = self.state.entries.get(exp.rel)
            if entry is None:
                continue
            if entry.error:
                lines.append(f"{exp.rel}: {entry.error}")
            p = self.plans.get(exp.rel)
            if entry.run is not None:
                lines.extend(
                    f"{exp.rel}: {w}" for w in entry.run.all_warnings() + (p.warnings if p is not None else [])
                )
        self.app.push_screen(TextListScreen("Warnings, every experiment", lines, "no warnings"))

    def action_cycle_sort(self) -> None:
        i = SORT_ORDER.index(self.state.sort) if self.state.sort in SORT_ORDER else 0
        self.state.sort = SORT_ORDER[(i + 1) % len(SORT_ORDER)]
        self._show_rows()

    def set_changes(self, **changes) -> None:
        """A config change made at the root: it applies to every experiment."""
        new = dict(self.state.changes)
        for k, v in changes.items():
            if v is _OWN:
                new.pop(k, None)
            else:
                new[k] = v
        try:
            for entry in self.state.entries.values():
                if entry.run is not None:
                    config_for(entry.run.run_config, new)
        except ConfigError as exc:
            self.app.notify(str(exc), severity="error")
            return
        self.state.changes = new
        self._stale = set(self.state.entries)
        self._show_rows()
        self._schedule_replan()

    def _largest_own_keep(self) -> Optional[int]:
        values = [p.config.num_to_keep for p in self.plans.values() if p.config.num_to_keep is not None]
        return max(values) if values else None

    def action_keep_more(self) -> None:
        n = self.state.changes.get("num_to_keep", self._largest_own_keep())
        if n is None:
            self.app.notify("num_to_keep is None: every checkpoint is kept")
            return
        self.set_changes(num_to_keep=n + 1)

    def action_keep_fewer(self) -> None:
        if "num_to_keep" in self.state.changes:
            n = self.state.changes["num_to_keep"]
            if n is None:
                most = max(
                    (
                        len(t.reports)
                        for e in self.state.entries.values()
                        if e.run is not None
                        for t in e.run.trials.values()
                    ),
                    default=2,
                )
                self.set_changes(num_to_keep=max(1, most - 1))
            elif n > 1:
                self.set_changes(num_to_keep=n - 1)
            else:
                self.app.notify("num_to_keep is 1, the least Ray accepts")
            return
        own = self._largest_own_keep()
        self.set_changes(num_to_keep=max(1, own - 1) if own is not None else 1)

    def action_keep_all(self) -> None:
        self.set_changes(num_to_keep=None)

    def action_type_num_to_keep(self) -> None:
        def done(text: Optional[str]) -> None:
            if text is not None:
                try:
                    self.set_changes(num_to_keep=parse_num_to_keep(text))
                except ConfigError as exc:
                    self.app.notify(str(exc), severity="error")

        self.app.push_screen(NumberInputScreen(self.state.changes.get("num_to_keep")), done)

    def action_toggle_order(self) -> None:
        current = self.state.changes.get("checkpoint_score_order")
        if current is None:
            row = self.table.current
            p = self.plans.get(row.rel) if row is not None else None
            current = p.config.checkpoint_score_order if p is not None else "max"
        self.set_changes(checkpoint_score_order="min" if current == "max" else "max")

    def action_reset_config(self) -> None:
        self.set_changes(num_to_keep=_OWN, checkpoint_score_attribute=_OWN, checkpoint_score_order=_OWN)
        self.app.notify("each experiment under its own recorded CheckpointConfig")

    def metric_keys(self) -> list[tuple[str, bool]]:
        """Flattened metric keys over every experiment (a few reports per trial), numeric first."""
        numeric: dict[str, bool] = {}
        for entry in self.state.entries.values():
            if entry.run is None:
                continue
            for trial in entry.run.trials.values():
                for report in trial.reports[:1] + trial.reports[-1:]:
                    for k, v in flatten(report.metrics).items():
                        numeric[k] = numeric.get(k, False) or is_number(v)
        return sorted(numeric.items(), key=lambda kv: (not kv[1], kv[0]))

    def action_choose_attribute(self) -> None:
        def done(choice: Optional[str]) -> None:
            if choice is not None:
                self.set_changes(checkpoint_score_attribute=None if choice == RECENCY else choice)

        self.app.push_screen(
            ChooseAttributeScreen(self.metric_keys(), self.state.changes.get("checkpoint_score_attribute"), None), done
        )

    # ---- deletion -----------------------------------------------------------------------


class _Own:
    """Marks a field given back to each experiment's own config."""


_OWN = _Own()
