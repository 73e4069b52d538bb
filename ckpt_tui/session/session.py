"""The Session: one run opened in the app, without Textual.

Who owns what:

* ``run`` (the run model) is grown by the app thread (progressive read) and mutated by the
  re-read thread, both under ``run_lock``; the app thread takes the same lock while it plans
  (``Planner.build``), so a plan never sees a half-re-read trial.
* ``pending`` (trial ids to re-read) is filled by whoever saw a change (the watcher's
  callback, a finished deletion) and drained by the one re-read thread, under
  ``pending_lock``; at most one re-read runs at a time and no batch is lost.
* Everything else (config, pins, filters, the plan and its totals, the deletion flow's state)
  belongs to the app thread.

Thread bodies take an ``emit`` callback and report typed events (``session.events``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Checkpoint, Run
from ckpt_tui.core.readers import fill_sizes, reread
from ckpt_tui.core.retention import Plan
from ckpt_tui.session.deletion_flow import DeletionFlow
from ckpt_tui.session.events import (
    ReadApplied,
    RereadFailed,
    SizesFilled,
    SizesProgressed,
    TrialsReread,
)
from ckpt_tui.session.filtering import NameIndex, view_rows
from ckpt_tui.session.metric_keys import MetricKeys
from ckpt_tui.session.planning import Planner
from ckpt_tui.session.reading import ProgressiveRead
from ckpt_tui.session.trial_sizes import TrialSizes

SIZES_CHUNK = 200  # checkpoints summed between two looks at whether the user is busy
UI_BUSY_SECONDS = 0.4  # background sizing steps aside this long after a key or a re-plan


def _never_bookkeeping(key: str) -> bool:
    return False


class Session:
    def __init__(
        self,
        run: Run,
        config: CheckpointConfig,
        *,
        grace_seconds: float = 60.0,
        reading: Optional[Iterator[Run]] = None,
        sizes: Optional[TrialSizes] = None,
        is_bookkeeping: Callable[[str], bool] = _never_bookkeeping,
    ) -> None:
        """``reading``: the rest of a progressive read (``read_run_progressively`` after its
        first yield, which is ``run``). Without it, ``run`` is complete."""
        self.read: Optional[ProgressiveRead] = None
        if reading is not None:
            self.read = ProgressiveRead(run, reading)
            run = self.read.app_run
        self.run = run
        self.config = config
        self.grace_seconds = grace_seconds
        self.pinned: set[str] = set()
        self.delete_untracked = False  # also delete checkpoints Ray does not track (u)
        self.trial_filter: Optional[str] = None  # None: all trials
        self.text_filter = ""
        self.read_progress: tuple[int, Optional[int]] = (len(run.trials), None)  # trials read, dirs seen
        self.reread_trials: list[str] = []  # ids re-read by the last change batch
        self.run_lock = threading.Lock()
        self.pending_lock = threading.Lock()
        self._pending: set[str] = set()
        self._reread_busy = False
        self.closing = False  # the app is leaving: thread bodies return at their next look
        self.ui_busy_until = 0.0  # background sizing pauses until then
        self.planner = Planner(sizes or TrialSizes())
        self.names = NameIndex()
        self.keys = MetricKeys(is_bookkeeping)
        self.deletion = DeletionFlow()

    # ---- reading ------------------------------------------------------------------------------
    @property
    def reading(self) -> bool:
        return self.read is not None

    def apply_read(self) -> Optional[ReadApplied]:
        """Take what the reader queued into the run (app thread); None once the read is over."""
        read = self.read
        if read is None:
            return None
        items, dirs = read.take()
        done = False
        error = None
        fresh = False
        run = self.run
        with self.run_lock:
            for batch in items:
                for tid, trial in batch.trials:
                    run.trials[tid] = trial
                    fresh = True
                if batch.run_level is not None:
                    level = batch.run_level
                    run.warnings, run.leftovers, run.run_config = (
                        list(level.warnings),
                        list(level.leftovers),
                        level.run_config,
                    )
                done = done or batch.finished
                error = error or batch.error
        n = len(run.trials)
        self.read_progress = (n, dirs)
        self.keys.forget()
        if done:
            self.read = None
        return ReadApplied(n, dirs, fresh, done, error)

    # ---- sizes --------------------------------------------------------------------------------
    def sizes_missing(self) -> bool:
        return any(c.size_bytes is None for c in self.run.checkpoints())

    def fill_sizes_loop(self, emit: Callable[[object], None]) -> None:
        """Sum every unknown checkpoint size (thread body), a chunk at a time."""
        with self.run_lock:
            todo = [c for c in self.run.checkpoints() if c.size_bytes is None]
        total = len(todo)
        for start in range(0, total, SIZES_CHUNK):
            if self.closing:
                return  # the app is leaving: the process waits for this thread
            # Step aside while the user is pressing keys: a thread doing syscalls in a loop
            # makes the app thread wait for the GIL on every switch (the convoy effect).
            while time.monotonic() < self.ui_busy_until:
                time.sleep(0.02)
            fill_sizes(self.run, todo[start : start + SIZES_CHUNK])
            emit(SizesProgressed(min(start + SIZES_CHUNK, total), total))
        emit(SizesFilled())

    def user_busy(self) -> None:
        self.ui_busy_until = time.monotonic() + UI_BUSY_SECONDS

    # ---- re-reads -----------------------------------------------------------------------------
    def queue_reread(self, changed: set[str]) -> bool:
        """Add trials to re-read. True: the caller starts a thread running ``reread_loop``.
        Batches that arrive meanwhile are merged and read by the same thread, so none is lost
        and at most one re-read runs at a time; while the run is being read they wait for it."""
        with self.pending_lock:
            self._pending |= set(changed)
            if self._reread_busy or self.reading:
                return False
            self._reread_busy = True
        return True

    def has_pending(self) -> bool:
        with self.pending_lock:
            return bool(self._pending)

    def reread_loop(self, emit: Callable[[object], None]) -> None:
        """Re-read the pending trials until none is left (thread body). Rows first, sizes
        after: a new checkpoint shows before its files are summed."""
        try:
            while True:
                with self.pending_lock:
                    if not self._pending or self.closing:
                        self._reread_busy = False
                        return
                    changed, self._pending = self._pending, set()
                with self.run_lock:
                    ids = reread(self.run, changed, sizes=False)
                    fresh = [c for t in ids if t in self.run.trials for c in self.run.trials[t].checkpoints]
                emit(TrialsReread(tuple(ids), sizes_known=False))
                fill_sizes(self.run, fresh)
                emit(TrialsReread(tuple(ids), sizes_known=True))
        except Exception as exc:  # noqa: BLE001 - thread body: any failure is reported as RereadFailed, not raised
            with self.pending_lock:
                self._reread_busy = False
            emit(RereadFailed(str(exc)))

    def trials_reread(self, event: TrialsReread, sizing: bool) -> None:
        """The app took a re-read (``sizing``: the first sizes pass is still running)."""
        self.reread_trials = list(event.trial_ids)
        self.planner.sizes_changed(event.sizes_known and not sizing)
        self.keys.forget()

    # ---- the plan and the view ----------------------------------------------------------------
    @property
    def plan(self) -> Optional[Plan]:
        return self.planner.plan

    def new_plan(self) -> Plan:
        """Plan afresh (lazily); a trial filter whose trial is gone falls back to all trials."""
        self.user_busy()
        plan = self.planner.build(self.run, self.run_lock, self.config, self.pinned, self.delete_untracked)
        if self.trial_filter is not None and self.trial_filter not in plan.order:
            self.trial_filter = None
        return plan

    def view_rows(
        self, current: Optional[Checkpoint], keep_path: Optional[str]
    ) -> tuple[Sequence[Checkpoint], Optional[int]]:
        plan = self.planner.plan
        assert plan is not None
        return view_rows(plan, self.names, self.trial_filter, self.text_filter, current, keep_path)

    def metric_keys(self) -> list[tuple[str, bool]]:
        return self.keys.keys(self.run, self.run_lock)

    def max_registrations(self) -> int:
        return max((len(t.reports) for t in self.run.trials.values()), default=1)

    def toggle_pin(self, ckpt: Checkpoint) -> bool:
        """Pin or unpin; True if now pinned."""
        if ckpt.path in self.pinned:
            self.pinned.discard(ckpt.path)
            return False
        self.pinned.add(ckpt.path)
        return True

    def warnings(self, shown_root: str, relative: Callable[[str, str, str], str]) -> list[str]:
        """The plan's warnings need every trial ranked: while a new plan is being ranked, the
        last complete plan's stand in (so the count does not flicker). Then the run's own, its
        paths as the view shows them (``shown_root``), and interrupted deletions' leftovers."""
        out: list[str] = list(self.planner.plan_warnings)
        run = self.run
        root, shown = run.root.rstrip(os.sep) + os.sep, shown_root.rstrip(os.sep) + os.sep
        out.extend(w.replace(root, shown) if root != shown else w for w in run.all_warnings())
        for path in run.leftovers:
            out.append(f"interrupted deletion left {relative(path, run.root, shown_root)}")
        return out
