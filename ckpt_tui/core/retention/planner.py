"""The plan: every trial ranked on demand, its totals, its rows, and ``plan()``."""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from operator import attrgetter
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import TRAIN_V2, Checkpoint, Run, Trial
from ckpt_tui.core.retention.decisions import Decision
from ckpt_tui.core.retention.ranking import TrialOutcome, trial_ranking
from ckpt_tui.core.retention.reasons import explain, run_warnings

_SIZE = attrgetter("size_bytes")


class _Decisions(Mapping):
    """``plan.decisions[ckpt]``: built on demand, so a plan over 100,000 checkpoints costs
    only what the screen (or the JSON writer) actually looks at."""

    def __init__(self, plan: Plan):
        self._plan = plan

    def __getitem__(self, ckpt: Checkpoint) -> Decision:
        outcome = self._plan.outcome(ckpt.trial_id)
        if outcome is None:
            raise KeyError(ckpt)
        pos = outcome.ranking.pos.get(ckpt)
        if pos is None:
            raise KeyError(ckpt)
        return outcome.decision(pos)

    def __iter__(self):
        for ckpts in self._plan.order.values():
            yield from ckpts

    def __len__(self) -> int:
        return self._plan.checkpoint_count


class _Order(Mapping):
    """``plan.order[trial_id]``: that trial's checkpoints best first, ranked on first access.
    Which trials there are, and how many checkpoints each has, is known without ranking."""

    def __init__(self, plan: Plan):
        self._plan = plan

    def __getitem__(self, trial_id: str) -> list[Checkpoint]:
        outcome = self._plan.outcome(trial_id)
        if outcome is None:
            raise KeyError(trial_id)
        return outcome.ranking.ordered

    def __contains__(self, trial_id) -> bool:
        return trial_id in self._plan.trials

    def __iter__(self):
        return iter(self._plan.trials)

    def __len__(self) -> int:
        return len(self._plan.trials)


class Plan:
    """What Ray would keep and delete: per trial, best first, with a reason for each.

    Each trial is ranked when something first asks about it (a row on screen, a count, the
    JSON writer), against the trials as they were when the plan was made. ``finish()`` ranks
    the rest, within a time budget if given; every total asks for it. So a screen can show
    the trials in view at once and fill in the run's totals a few frames later."""

    def __init__(
        self,
        run: Run,
        config: CheckpointConfig,
        pinned: frozenset = frozenset(),
        delete_untracked: bool = False,
        literal: bool = False,
    ):
        self.run = run
        self.config = config
        self.pinned = pinned  # paths the user pinned
        self.delete_untracked = delete_untracked  # the user chose to delete untracked checkpoints
        self.restore = dict(run.restore_points)  # path -> trials restoring from it
        self.trials: dict[str, Trial] = dict(run.trials)  # the run as this plan sees it
        self._train_v2 = run.layout == TRAIN_V2
        self._outcomes: dict[str, TrialOutcome] = {}
        self._unranked = iter(self.trials)  # finish() goes through the trials once, in order
        self._literal = literal  # no shortcuts: the reference the tests hold the fast paths to
        self._totals: Optional[tuple] = None  # (checkpoints, delete, warnings, failing) when complete

    # The views are made on each access rather than kept: a Plan that referred to views that
    # refer back to it would be a reference cycle, which only the full collector frees.
    @property
    def decisions(self) -> Mapping:
        """``decisions[ckpt]``: why ``ckpt`` is kept or deleted."""
        return _Decisions(self)

    @property
    def order(self) -> Mapping:
        """``order[trial_id]``: the trial's checkpoints best first. The lists are shared with
        the ranking cache: do not mutate them."""
        return _Order(self)

    # ---- ranking on demand ---------------------------------------------------------------
    def outcome(self, trial_id: str) -> Optional[TrialOutcome]:
        o = self._outcomes.get(trial_id)
        if o is None:
            trial = self.trials.get(trial_id)
            if trial is None:
                return None
            config = self.config
            ranking = trial_ranking(
                trial, config.checkpoint_score_attribute, config.checkpoint_score_order, self._train_v2, self._literal
            )
            o = self._outcomes[trial_id] = TrialOutcome(
                ranking, config.num_to_keep, self.pinned, self.restore, self.delete_untracked, trial
            )
        return o

    @property
    def ranked_trials(self) -> int:
        return len(self._outcomes)

    @property
    def complete(self) -> bool:
        return len(self._outcomes) == len(self.trials)

    def finish(self, budget: Optional[float] = None) -> bool:
        """Rank every trial not ranked yet; with ``budget`` (seconds), stop once it is spent.
        True when the plan is complete."""
        if self.complete:
            return True
        deadline = None if budget is None else time.perf_counter() + budget
        for tid in self._unranked:
            if tid not in self._outcomes:
                self.outcome(tid)
                if deadline is not None and time.perf_counter() >= deadline:
                    break
        return self.complete

    def _outcomes_in_order(self):
        outcome = self.outcome
        return [outcome(tid) for tid in self.trials]

    # ---- totals: they need every trial ---------------------------------------------------
    def _complete_totals(self) -> tuple:
        if self._totals is None:
            outcomes = self._outcomes_in_order()
            checkpoints = sum(len(o.ranking.ordered) for o in outcomes)
            delete = sum(o.delete_n for o in outcomes)
            failing = {tid: o.ranking.failing for tid, o in zip(self.trials, outcomes) if o.ranking.failing is not None}
            counts = [0, 0, 0, 0, 0]
            for o in outcomes:
                for i, c in enumerate(o.ranking.counts):
                    counts[i] += c
            warnings = run_warnings(
                self.config,
                self._train_v2,
                failing,
                checkpoints,
                dict(zip(("missing", "nested", "nan", "present", "null"), counts)),
            )
            self._totals = (checkpoints, delete, warnings, failing)
        return self._totals

    @property
    def checkpoint_count(self) -> int:
        return self._complete_totals()[0]

    @property
    def delete_count(self) -> int:
        return self._complete_totals()[1]

    @property
    def keep_count(self) -> int:
        return self.checkpoint_count - self.delete_count

    @property
    def warnings(self) -> list[str]:
        return self._complete_totals()[2]

    @property
    def failing_trials(self) -> dict[str, str]:
        return self._complete_totals()[3]

    def to_delete(self) -> list[Checkpoint]:
        out: list[Checkpoint] = []
        for o in self._outcomes_in_order():
            if o.delete_n:
                out.extend(map(o.ranking.ordered.__getitem__, o.deleted))
        return out

    def walk(self):
        """(checkpoint, decision) for every checkpoint, trial by trial, best first: the cheap
        way to visit all of them (no lookup per checkpoint)."""
        for tid in self.trials:
            o = self.outcome(tid)
            assert o is not None  # every trial of the plan has an outcome
            decide = o.decision
            for pos, ckpt in enumerate(o.ranking.ordered):
                yield ckpt, decide(pos)

    def trial_counts(self, trial_id: str) -> tuple[int, int]:
        """(checkpoints, to delete) of one trial."""
        o = self.outcome(trial_id)
        return (len(o.ranking.ordered), o.delete_n) if o is not None else (0, 0)

    def trial_size(self, trial_id: str) -> int:
        """How many checkpoints (rows) a trial has, without ranking it."""
        trial = self.trials.get(trial_id)
        return len(trial.checkpoints) if trial is not None else 0

    @property
    def reclaim_bytes(self) -> int:
        """Bytes the deletions free. Not cached: sizes may fill in after the plan was made."""
        total = 0
        for o in self._outcomes_in_order():
            if o.delete_n:
                total += sum(filter(None, map(_SIZE, map(o.ranking.ordered.__getitem__, o.deleted))))
        return total

    @property
    def untracked_count(self) -> int:
        """Checkpoints on disk that Ray does not track and never will."""
        return sum(1 for t in self.trials.values() for c in t.checkpoints if c.untracked)

    @property
    def untracked_bytes(self) -> int:
        return sum(c.size_bytes or 0 for t in self.trials.values() for c in t.checkpoints if c.untracked)

    @property
    def total_bytes(self) -> int:
        return sum(sum(filter(None, map(_SIZE, t.checkpoints))) for t in self.trials.values())

    def ordered(self, trial_id: Optional[str] = None) -> Sequence[Checkpoint]:
        """Checkpoints best first: one trial's list, or every trial's one after another
        (a PlanRows, which ranks a trial only when one of its rows is read)."""
        if trial_id is not None:
            return self.order.get(trial_id, [])
        return PlanRows(self)

    def failing_reason(self, trial_id: str) -> Optional[str]:
        o = self.outcome(trial_id)
        return o.ranking.failing if o is not None else None

    def reason(self, ckpt: Checkpoint) -> str:
        return explain(self.decisions[ckpt], self.config, self.run.layout, self.failing_reason(ckpt.trial_id))


class PlanRows(Sequence):
    """Every checkpoint of a plan as one list: trial after trial, each best first. A row's
    trial is found from the trials' sizes, which need no ranking, so reading rows ranks only
    the trials they belong to: a screen of rows ranks one or two trials, not 1,000."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self._ids = list(plan.trials)
        self._starts = list(accumulate(map(plan.trial_size, self._ids), initial=0))
        self._trial_index: Optional[dict[str, int]] = None

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        t = bisect_right(self._starts, index) - 1
        return self.plan.order[self._ids[t]][index - self._starts[t]]

    def __iter__(self):
        for ckpts in self.plan.order.values():
            yield from ckpts

    def position(self, ckpt: Checkpoint) -> Optional[int]:
        """The row of ``ckpt``, ranking only its trial; None when the plan does not have it."""
        if self._trial_index is None:
            self._trial_index = {tid: t for t, tid in enumerate(self._ids)}
        t = self._trial_index.get(ckpt.trial_id)
        if t is None:
            return None
        outcome = self.plan.outcome(ckpt.trial_id)
        pos = outcome.ranking.pos.get(ckpt) if outcome is not None else None
        return None if pos is None else self._starts[t] + pos


def plan(
    run: Run,
    config: CheckpointConfig,
    pinned: Iterable[str] = (),
    lazy: bool = False,
    delete_untracked: bool = False,
    literal: bool = False,
) -> Plan:
    """What Ray would keep and delete under ``config``: a pure function of the run.

    ``lazy``: rank each trial when first asked about (see Plan); otherwise all of them now.
    ``delete_untracked``: also delete the checkpoints Ray does not track (and so never deletes),
    except a restore point, the newest of its trial, a pinned one, or while the run's state is
    fresh. ``literal``: take no shortcut (each report classified on its own, every trial
    replayed report by report as Ray does): slower, the same plan; the tests compare the two."""
    result = Plan(run, config, frozenset(pinned), delete_untracked, literal)
    if not lazy:
        result.finish()
    return result
