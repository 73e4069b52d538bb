"""The plan of the session and its totals: built lazily, ranked in slices, totals cached.

A plan is rebuilt in full on every change (a pure function of the run, the config, the pins
and the untracked switch); it ranks a trial when something first asks about it. The app ranks
what is on screen, then the rest a slice at a time between frames (``finish_slice``); the
run's totals follow once every trial is ranked. A config seen before is all cached on the
trials and completes at once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Run
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.retention import plan as make_plan
from ckpt_tui.session.trial_sizes import TrialSizes

RECLAIM_INLINE = 5000  # plans deleting more than this sum their bytes one frame later
PLAN_FIRST_SLICE_SECONDS = 0.008  # ranking before the first frame of a new plan
PLAN_SLICE_SECONDS = 0.02  # then ranking between two looks at the keyboard and the screen
PLAN_SLICE_GAP = 0.001


@dataclass(frozen=True)
class Totals:
    """The run's figures under a complete plan; ``reclaim`` None while being summed."""

    kept: int = 0
    delete: int = 0
    reclaim: Optional[int] = 0
    total: int = 0


class Planner:
    """Owned by the app thread."""

    def __init__(self, sizes: TrialSizes) -> None:
        self.sizes = sizes
        self.plan: Optional[Plan] = None
        self.totals_plan: Optional[Plan] = None  # the plan whose totals are shown
        self.totals = Totals()
        self.plan_warnings: list[str] = []  # totals_plan's warnings
        self.replan_count = 0  # how many plans were built: tests and benchmarks read it
        self.sizes_settled = False  # every size known (set by the sizes pass)
        self._reclaim_cache: dict[tuple, int] = {}  # (config, pinned, untracked) -> bytes, for this run state

    def build(
        self, run: Run, lock: AbstractContextManager, config: CheckpointConfig, pinned: set[str], delete_untracked: bool
    ) -> Plan:
        """A new lazy plan, ranked for PLAN_FIRST_SLICE_SECONDS (enough for a config whose
        rankings are cached). Its totals are not taken: see ``take_totals``."""
        with lock:  # the plan copies the trial dict; readers replace Trials, never edit them
            plan = self.plan = make_plan(run, config, pinned=pinned, lazy=True, delete_untracked=delete_untracked)
        self.replan_count += 1
        self.totals_plan = None
        plan.finish(PLAN_FIRST_SLICE_SECONDS)
        return plan

    def finish_slice(self, plan: Plan) -> Optional[bool]:
        """Rank ``plan`` for one slice: True once complete, False with more to rank, None when
        a newer plan replaced it (its rankings so far stay cached on the trials)."""
        if plan is not self.plan:
            return None
        return plan.finish(PLAN_SLICE_SECONDS)

    def take_totals(self, plan: Plan) -> bool:
        """Show ``plan``'s totals. True: its reclaimable bytes are being summed ("…"): call
        ``fill_reclaim`` one frame later (summing 100,000 sizes scattered over memory takes
        ~40 ms)."""
        total_bytes, _known = self.sizes.run_size(plan)
        key = (plan.config, plan.pinned, plan.delete_untracked)
        if not self.sizes_settled:  # sizes still filling in: the figure changes as they do
            self._reclaim_cache.clear()
        pending = False
        if key in self._reclaim_cache:
            reclaim: Optional[int] = self._reclaim_cache[key]
        elif plan.delete_count <= RECLAIM_INLINE:
            reclaim = self._reclaim_cache[key] = plan.reclaim_bytes
        else:
            reclaim, pending = None, True
        self.totals = Totals(plan.keep_count, plan.delete_count, reclaim, total_bytes)
        self.totals_plan = plan
        self.plan_warnings = plan.warnings
        return pending

    def fill_reclaim(self, plan: Plan) -> bool:
        """Sum ``plan``'s reclaimable bytes; False if a newer plan replaced it."""
        if plan is not self.plan:
            return False
        value = plan.reclaim_bytes
        self._reclaim_cache[(plan.config, plan.pinned, plan.delete_untracked)] = value
        t = self.totals
        self.totals = Totals(t.kept, t.delete, value, t.total)
        return True

    def shown_totals(self) -> tuple[Optional[int], Optional[int], Optional[int], int]:
        """(kept, delete, reclaim, total bytes); the first three None while still ranking (the
        marks on screen are right, the run's totals follow)."""
        t = self.totals
        if self.totals_plan is self.plan:
            return t.kept, t.delete, t.reclaim, t.total
        return None, None, None, t.total

    def sizes_changed(self, settled: bool) -> None:
        """Sizes were summed or trials re-read: cached byte figures are stale."""
        self._reclaim_cache.clear()
        self.sizes_settled = settled

    def sizes_filled(self) -> None:
        self.sizes.forget_sizes()
        self._reclaim_cache.clear()
        self.sizes_settled = True
