"""Replay Ray's checkpoint retention (Ray 2.60) over a run's reports: the plan.

Per trial, in registration order, Ray's checkpoint manager
  1. records the new checkpoint as the latest;
  2. inserts it into a list kept ascending by score, to the right of equal keys (newer wins
     ties), key ``(not isnan(s), s)`` with ``s = ±1.0 * value`` and NaN as ``(False, -inf)``;
  3. appends it instead (treats it as best) when there is no score attribute, or, in Tune,
     when the attribute is not a top-level key of the report; Train v2 always sort-inserts and
     scores a missing key as ``-inf`` before the sign;
  4. with ``num_to_keep`` set, deletes everything below the top ``num_to_keep`` except the latest;
  5. fails the trial on a non-numeric score.

When every registration of a trial sort-inserts (or every one appends), the survivors of the
replay are exactly the top ``num_to_keep`` by key plus the last registered checkpoint, so the
common case is a sort. A trial that mixes inserts and appends is replayed literally, because
an append leaves Ray's list unsorted and later inserts depend on where things landed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from bisect import bisect_right
from itertools import accumulate, repeat
from math import isnan
from operator import attrgetter, neg
from dataclasses import dataclass
from typing import Iterable, Optional

from ckpt_tui.core.config import MAX, CheckpointConfig
from ckpt_tui.core.metrics import MISSING, is_number, lookup
from ckpt_tui.core.model import TRAIN_V2, Checkpoint, Run, Trial

_NEG_INF = float("-inf")
_NAN_KEY = (False, _NEG_INF)
_SIZE = attrgetter("size_bytes")
_PLAIN_NUMBER_TYPES = {float, int}
_PLAIN_OR_MISSING_TYPES = {float, int, type(MISSING)}
_FLOAT_MAX = 1.7976931348623157e308


def _scalable(value) -> bool:
    """Whether Ray's ``1.0 * value`` works (a huge int overflows, and Ray fails the trial)."""
    try:
        1.0 * value
        return True
    except (OverflowError, TypeError):
        return False
  # by exact type: bool is a number to Ray but not "plain"

# Why a checkpoint is kept or deleted.
KEEP_ALL = "keep-all"  # num_to_keep is None
KEEP_TOP = "top"  # within the top num_to_keep
KEEP_LATEST = "latest"  # below the top, but the newest registration
KEEP_UNREPORTED = "unreported"  # no report names it: Ray never registered it
KEEP_PINNED = "pinned"  # the user pinned it; the plan would delete it otherwise
KEEP_FAILING = "failing"  # Ray would fail this trial on a non-numeric score
DELETE_BELOW = "below"  # below the top num_to_keep
KEEP_UNTRACKED = "untracked"  # Ray's state does not track it and never will: Ray never deletes it
DELETE_UNTRACKED = "untracked-delete"  # untracked, and the user chose to delete untracked checkpoints
KEEP_RESTORE = "restore"  # a trial's restore point (Tune's latest; after a PBT exploit, another trial's)

# Per-report notes: where Ray's behaviour surprises. Each names the rule in DESIGN.md terms.
NOTE_NAN = "nan"
NOTE_MISSING_TUNE = "missing-tune"
NOTE_MISSING_V2 = "missing-v2"
NOTE_NESTED_TUNE = "nested-tune"
NOTE_NOT_NUMERIC = "not-numeric"
NOTE_NULL_V2 = "null-v2"  # Train v2 snapshot: null is NaN, +inf or -inf; ranked as NaN


@dataclass(slots=True)
class Decision:
    keep: bool
    code: str
    value: object  # the attribute's value in the report (MISSING when absent or no attribute)
    rank: Optional[int]  # 1 = best in its trial, over every registration (history included)
    of: int  # registrations in the trial
    note: Optional[str] = None
    deleted_by: Optional[str] = None  # literal replay: the checkpoint whose registration deletes it
    rank_then: Optional[int] = None  # literal replay: its rank at that moment
    restore_of: Optional[tuple] = None  # trials Tune would restore from it (their latest checkpoint)

    @property
    def score(self) -> Optional[float]:
        """The value as a JSON-safe number: None when missing, NaN, infinite or not a number."""
        v = self.value
        if v is MISSING or not is_number(v):
            return None
        try:
            f = float(v)
        except OverflowError:
            return None
        return f if math.isfinite(f) else None


class _TrialRanking:
    """One trial ranked under one (attribute, order): everything about a plan that does not
    depend on num_to_keep or pins. Cached on the Trial, so changing num_to_keep costs a few
    list slices per trial, and a trial that was not re-read is never ranked twice."""

    __slots__ = ("ordered", "ranks", "values", "notes", "_pos", "n", "ranked_count", "latest_pos",
                 "failing", "keys", "appended", "report_pos", "counts", "names", "replays")

    def __init__(self):
        self.ordered: list[Checkpoint] = []  # registered checkpoints best first, then unreported
        # Rank of each registered entry of `ordered`; None when every registration is on disk
        # and the rank is simply position + 1.
        self.ranks: Optional[list[int]] = None
        self.values: list = []  # the attribute's value, by report index
        self.notes: list = []  # by report index
        self._pos: Optional[dict[Checkpoint, int]] = None
        self.n = 0  # registrations, history included
        self.ranked_count = 0  # entries of `ordered` that have a rank
        self.latest_pos: Optional[int] = None  # position of the newest registration, if on disk
        self.failing: Optional[str] = None
        self.keys: Optional[list] = None  # literal replay only: each report's key as a small int
        self.appended: Optional[list] = None
        self.report_pos: dict[int, int] = {}  # report index -> position in `ordered`
        self.counts = (0, 0, 0, 0, 0)  # missing, nested, nan, present, null (Train v2)
        self.names: list[str] = []  # checkpoint names by report index (for literal-replay reasons)
        self.replays: dict = {}  # literal replay: num_to_keep -> (top, deleted_by)


    @property
    def pos(self) -> dict[Checkpoint, int]:
        # Built on first use: a screen shows a few trials, not all 1,000.
        if self._pos is None:
            self._pos = {c: p for p, c in enumerate(self.ordered)}
        return self._pos


class _TrialOutcome:
    """A ranking under one num_to_keep and set of pins: which positions are deleted.

    In the common (sorted) case the deletions are counted, not listed: everything from
    ``top_upto`` on except the latest. The list is built when someone asks for it, so a
    num_to_keep change over 1,000 trials costs a subtraction per trial."""

    __slots__ = ("ranking", "k", "top_upto", "_deleted", "delete_n", "top_set", "deleted_by", "rank_then",
                 "pinned", "restore", "restored", "untracked_deleted", "untracked_kept")

    def __init__(self, ranking: _TrialRanking, k: Optional[int], pinned: frozenset,
                 restore: Optional[dict] = None, delete_untracked: bool = False,
                 trial: Optional[Trial] = None):
        self.ranking = ranking
        self.k = k
        self.top_upto = ranking.ranked_count  # positions < top_upto are in the top k
        self.top_set: Optional[set[int]] = None  # literal replay: report indices in the top
        # Literal replay, by report index: the report whose registration deleted it (-1: not
        # deleted) and its rank at that moment. Lists of small ints: 100,000 reports' worth
        # costs under a megabyte per num_to_keep.
        self.deleted_by: Optional[list[int]] = None
        self.rank_then: Optional[list[int]] = None
        self.pinned: set[int] = set()
        self.restore = restore or {}
        self.restored: set[int] = set()  # restore points the replay would delete
        self.untracked_deleted: set[int] = set()
        self.untracked_kept: dict[int, str] = {}  # untracked, kept although deletion was chosen: why
        self._deleted: Optional[list[int]] = []
        self.delete_n = 0
        self._replay(ranking, k, pinned)
        if self.restore and self.delete_n:
            ordered = ranking.ordered
            self.restored = {p for p in self.deleted if ordered[p].path in self.restore}
            if self.restored:
                self._deleted = [p for p in self.deleted if p not in self.restored]
                self.delete_n = len(self._deleted)
        if delete_untracked and ranking.failing is None and len(ranking.ordered) > ranking.ranked_count:
            self._untracked(ranking, pinned, trial)

    def _untracked(self, ranking: _TrialRanking, pinned: frozenset, trial: Optional[Trial]) -> None:
        """Untracked checkpoints the user chose to delete, except the protected ones."""
        ordered = ranking.ordered
        candidates = [p for p in range(ranking.ranked_count, len(ordered)) if ordered[p].untracked]
        if not candidates:
            return
        newest = max(ordered, key=_age_key)
        last_row = None
        if trial is not None:
            rows = [r for r in (trial.reports[-1:] + trial.unregistered[-1:]) if r.line is not None]
            if rows:
                last_row = max(rows, key=attrgetter("line")).checkpoint_name
        for p in candidates:
            c = ordered[p]
            if trial is not None and trial.state_fresh:
                self.untracked_kept[p] = "the run's state was written moments ago and may still change"
            elif c.path in self.restore:
                self.untracked_kept[p] = "a restore point"
            elif c is newest or c.name == last_row:
                self.untracked_kept[p] = "the newest checkpoint of its trial"
            elif c.path in pinned:
                self.untracked_kept[p] = "pinned"
            else:
                self.untracked_deleted.add(p)
        if self.untracked_deleted:
            self._deleted = list(self.deleted) + sorted(self.untracked_deleted)
            self.delete_n = len(self._deleted)

    def _replay(self, ranking: _TrialRanking, k: Optional[int], pinned: frozenset) -> None:
        if k is None or ranking.failing is not None or not ranking.n:
            return
        if ranking.keys is not None:
            replayed = ranking.replays.get(k)
            if replayed is None:  # cached: stepping num_to_keep back and forth is free
                replayed = ranking.replays[k] = _replay_literally(
                    ranking.n, ranking.keys, ranking.appended, k)[1:]
            self.top_set, self.deleted_by, self.rank_then = replayed
            rp = ranking.report_pos
            self._deleted = sorted(rp[i] for i, by in enumerate(self.deleted_by) if by >= 0 and i in rp)
            self.delete_n = len(self._deleted)
        else:
            ranks = ranking.ranks
            if ranks is None:  # every registration on disk: rank = position + 1
                upto = min(k, ranking.ranked_count)
            else:
                upto = 0
                while upto < ranking.ranked_count and ranks[upto] <= k:
                    upto += 1
            self.top_upto = upto
            latest = ranking.latest_pos
            self.delete_n = ranking.ranked_count - upto - (latest is not None and latest >= upto)
            self._deleted = None  # listed on demand
        if pinned and self.delete_n:
            ordered = ranking.ordered
            deleted = self.deleted
            self.pinned = {p for p in deleted if ordered[p].path in pinned}
            if self.pinned:
                self._deleted = [p for p in deleted if p not in self.pinned]
                self.delete_n = len(self._deleted)

    @property
    def deleted(self) -> list[int]:
        """Positions in ``ranking.ordered`` that the plan deletes."""
        if self._deleted is None:
            latest = self.ranking.latest_pos
            self._deleted = [p for p in range(self.top_upto, self.ranking.ranked_count) if p != latest]
        return self._deleted

    def decision(self, pos: int) -> Decision:
        r = self.ranking
        restore_of = None
        if self.restore:
            c = r.ordered[pos]
            found = self.restore.get(c.path)
            if found:  # the checkpoint's own trial as "": reasons name only the others
                restore_of = tuple("" if t == c.trial_id else t for t in found)
        if pos >= r.ranked_count:
            if not r.ordered[pos].untracked:
                return Decision(True, KEEP_UNREPORTED, MISSING, None, r.n, restore_of=restore_of)
            if pos in self.untracked_deleted:
                return Decision(False, DELETE_UNTRACKED, MISSING, None, r.n, restore_of=restore_of)
            return Decision(True, KEEP_UNTRACKED, MISSING, None, r.n, self.untracked_kept.get(pos),
                            restore_of=restore_of)
        rank = pos + 1 if r.ranks is None else r.ranks[pos]
        index = r.ordered[pos].report.index
        value, note = r.values[index], r.notes[index]
        if r.failing is not None:
            code = KEEP_FAILING
        elif self.k is None:
            code = KEEP_ALL
        elif pos in self.pinned:
            code = KEEP_PINNED
        elif pos in self.restored:
            code = KEEP_RESTORE
        elif self.top_set is not None:
            by = self.deleted_by[index]
            if by >= 0 and pos not in self.restored:
                return Decision(False, DELETE_BELOW, value, rank, r.n, note, r.names[by], self.rank_then[index],
                                restore_of)
            code = KEEP_RESTORE if pos in self.restored else KEEP_TOP if index in self.top_set else KEEP_LATEST
        elif pos < self.top_upto:
            code = KEEP_TOP
        elif pos == r.latest_pos:
            code = KEEP_LATEST
        else:
            code = DELETE_BELOW
        return Decision(code != DELETE_BELOW, code, value, rank, r.n, note, restore_of=restore_of)


class _Decisions(Mapping):
    """``plan.decisions[ckpt]``: built on demand, so a plan over 100,000 checkpoints costs
    only what the screen (or the JSON writer) actually looks at."""

    def __init__(self, plan: "Plan"):
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

    def __init__(self, plan: "Plan"):
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

    def __init__(self, run: Run, config: CheckpointConfig, pinned: frozenset = frozenset(),
                 delete_untracked: bool = False):
        self.run = run
        self.config = config
        self.pinned = pinned  # paths the user pinned
        self.delete_untracked = delete_untracked  # the user chose to delete untracked checkpoints
        self.restore = dict(run.restore_points)  # path -> trials restoring from it
        self.trials: dict[str, Trial] = dict(run.trials)  # the run as this plan sees it
        self._train_v2 = run.layout == TRAIN_V2
        self._outcomes: dict[str, _TrialOutcome] = {}
        self._unranked = iter(self.trials)  # finish() goes through the trials once, in order
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
    def outcome(self, trial_id: str) -> Optional[_TrialOutcome]:
        o = self._outcomes.get(trial_id)
        if o is None:
            trial = self.trials.get(trial_id)
            if trial is None:
                return None
            config = self.config
            ranking = _ranking(trial, config.checkpoint_score_attribute, config.checkpoint_score_order,
                               self._train_v2)
            o = self._outcomes[trial_id] = _TrialOutcome(ranking, config.num_to_keep, self.pinned, self.restore,
                                                         self.delete_untracked, trial)
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
            failing = {tid: o.ranking.failing for tid, o in zip(self.trials, outcomes)
                       if o.ranking.failing is not None}
            counts = [0, 0, 0, 0, 0]
            for o in outcomes:
                for i, c in enumerate(o.ranking.counts):
                    counts[i] += c
            warnings = _run_warnings(self.config, self._train_v2, failing, checkpoints,
                                     dict(zip(("missing", "nested", "nan", "present", "null"), counts)))
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
        outcome = self.plan.outcome(ckpt.trial_id) if t is not None else None
        pos = outcome.ranking.pos.get(ckpt) if outcome is not None else None
        return None if pos is None else self._starts[t] + pos


def _attr_phrase(config: CheckpointConfig) -> str:
    return f"by {config.checkpoint_score_attribute} ({config.checkpoint_score_order})"


def explain(d: Decision, config: CheckpointConfig, layout: str, failing: Optional[str] = None) -> str:
    """A sentence a person understands: why this checkpoint is kept or deleted."""
    k = config.num_to_keep
    attr = config.checkpoint_score_attribute
    code = d.code
    if code == KEEP_ALL:
        base = "num_to_keep is None: Ray keeps every checkpoint"
    elif code == KEEP_TOP:
        if attr and d.note not in (NOTE_NESTED_TUNE, NOTE_MISSING_TUNE):
            base = f"top {k} {_attr_phrase(config)}"
        else:
            recent = "the most recent" if k == 1 else f"one of the {k} most recent"
            base = recent if not attr or d.note == NOTE_NESTED_TUNE else f"top {k}"
    elif code == KEEP_LATEST:
        base = "latest checkpoint: Ray never deletes the newest"
    elif code == KEEP_UNREPORTED:
        base = "no report names it: Ray never registered it, so Ray never deletes it"
    elif code == KEEP_UNTRACKED:
        base = "not tracked by Ray: Ray will never delete it"
        if d.note:
            base += f" (kept although you chose to delete untracked checkpoints: {d.note})"
        return base + _restore_phrase(d)
    elif code == DELETE_UNTRACKED:
        return "not tracked by Ray: Ray will never delete it; deleted because you chose to delete untracked checkpoints"
    elif code == KEEP_RESTORE:
        base = "restore point: Tune restores " + _trials_phrase(d.restore_of) + " from it, so it is kept"
    elif code == KEEP_FAILING:
        base = f"kept: Ray would fail this trial ({failing})" if failing else "kept: Ray would fail this trial"
    elif code == KEEP_PINNED:
        base = "pinned: kept whatever the plan says"
    else:  # DELETE_BELOW
        if d.deleted_by is not None:
            base = (f"rank {d.rank_then} when {d.deleted_by} was registered, below the top {k}: "
                    "Ray deletes it then")
        elif attr:
            base = f"rank {d.rank} of {d.of}, below the top {k}"
        else:
            base = f"rank {d.rank} of {d.of} by recency, older than the {'' if k == 1 else f'{k} '}most recent"
    note = note_text(d, config, layout)
    if code != KEEP_RESTORE:
        base += _restore_phrase(d)
    return f"{base}; {note}" if note else base


def _trials_phrase(trials) -> str:
    names = ["this trial" if not t else f"trial {t}" for t in trials or ()]
    return ", ".join(names) if names else "a trial"


def _restore_phrase(d: Decision) -> str:
    """Where other trials depend on this checkpoint (PBT's borrowed ones)."""
    others = [t for t in d.restore_of or () if t]
    if not others or d.code == KEEP_RESTORE:
        return ""
    return f" (restore point of {_trials_phrase(others)}: Tune restores it from here)"


def _age_key(c: Checkpoint):
    """Sorts a trial's checkpoints oldest to newest: Tune's checkpoint_NNNNNN by number, Train
    v2's checkpoint_<date> by name, and a name that is neither after them, by name."""
    name = c.name
    if name.startswith("checkpoint_") and name[11:].isdigit():
        return (0, int(name[11:]), "")
    return (1 if name.startswith("checkpoint_") else 2, 0, name)


def note_text(d: Decision, config: CheckpointConfig, layout: str) -> Optional[str]:
    attr = config.checkpoint_score_attribute
    note = d.note
    if note is None:
        return None
    if note == NOTE_NAN:
        return "NaN ranks last"
    if note == NOTE_MISSING_TUNE:
        return f"no '{attr}' in this report: Ray keeps it as if it were best"
    if note == NOTE_NESTED_TUNE:
        return f"'{attr}' is nested: Tune ignores it and keeps the most recent"
    if note == NOTE_MISSING_V2:
        if config.checkpoint_score_order == MAX:
            return f"no '{attr}' in this report: Train v2 scores it -inf, so it ranks last"
        return f"no '{attr}' in this report: Train v2 scores it -inf, which in min mode is the best"
    if note == NOTE_NOT_NUMERIC:
        return f"'{attr}' is {_type_phrase(d.value)}: Ray would fail this trial"
    if note == NOTE_NULL_V2:
        return "null in the snapshot (NaN, +inf or -inf): ranked as NaN, last"
    return None


def _type_phrase(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def plan(run: Run, config: CheckpointConfig, pinned: Iterable[str] = (), lazy: bool = False,
         delete_untracked: bool = False) -> Plan:
    """What Ray would keep and delete under ``config``: a pure function of the run.

    ``lazy``: rank each trial when first asked about (see Plan); otherwise all of them now.
    ``delete_untracked``: also delete the checkpoints Ray does not track (and so never deletes),
    except a restore point, the newest of its trial, a pinned one, or while the run's state is
    fresh."""
    result = Plan(run, config, frozenset(pinned), delete_untracked)
    if not lazy:
        result.finish()
    return result


def _ranking(trial: Trial, attr: Optional[str], order: str, train_v2: bool) -> _TrialRanking:
    # The cache lives on the Trial; readers replace the Trial object when they re-read it, and
    # the lengths guard against anyone editing its lists in place.
    cache = trial.__dict__.setdefault("_rankings", {})
    key = (attr, order, train_v2, len(trial.reports), len(trial.checkpoints))
    ranking = cache.get(key)
    if ranking is None:
        if len(cache) > 8:
            cache.clear()
        ranking = cache[key] = _rank_trial(trial, attr, order, train_v2)
    return ranking


def _metrics_list(trial: Trial) -> list[dict]:
    cached = trial.__dict__.get("_metrics_list")
    if cached is None or len(cached) != len(trial.reports):
        cached = trial.__dict__["_metrics_list"] = [r.metrics for r in trial.reports]
    return cached


def _disk_index(trial: Trial) -> tuple[dict[int, Checkpoint], list[Checkpoint]]:
    """Checkpoints on disk by report index, and those no report names; the same for every
    attribute, so cached with the trial."""
    cached = trial.__dict__.get("_disk_index")
    if cached is not None and cached[0] == len(trial.checkpoints):
        return cached[1], cached[2]
    by_report = {}
    unreported = []
    for c in trial.checkpoints:
        if c.report is not None:
            by_report[c.report.index] = c
        else:
            unreported.append(c)
    trial.__dict__["_disk_index"] = (len(trial.checkpoints), by_report, unreported)
    return by_report, unreported


class _Scores:
    """A trial's reports scored under one attribute: what does not depend on max/min, so
    toggling the order re-sorts without reading 100,000 reports again."""

    __slots__ = ("values", "raw", "nan", "bad", "appended", "notes", "counts", "failing")


def _scores(trial: Trial, attr: Optional[str], train_v2: bool) -> _Scores:
    cache = trial.__dict__.setdefault("_scores", {})
    key = (attr, train_v2, len(trial.reports))
    scored = cache.get(key)
    if scored is None:
        if len(cache) > 8:
            cache.clear()
        scored = cache[key] = _score_trial(trial, attr, train_v2)
    return scored


def _walk_all(metrics_list: list[dict], attr: str) -> list:
    """``lookup(m, attr)`` for every report: the path walked directly, the full flatten only
    where the walk finds nothing (a key that itself contains '/')."""
    parts = attr.split("/")
    out = []
    for metrics in metrics_list:
        node = metrics
        for part in parts:
            if type(node) is not dict:
                node = MISSING
                break
            node = node.get(part, MISSING)
            if node is MISSING:
                break
        if node is MISSING or type(node) is dict:
            node = lookup(metrics, attr)
        out.append(node)
    return out


def _score_trial(trial: Trial, attr: Optional[str], train_v2: bool) -> _Scores:
    reports = trial.reports
    n = len(reports)
    sc = _Scores()
    values = [MISSING] * n
    raw: list = [_NEG_INF] * n  # the score before the sign: a missing metric is -inf
    notes: list = [None] * n
    appended = [True] * n
    nan = [False] * n
    bad = [False] * n
    missing = nested = nans = present = nulls = 0
    plain = False
    if attr is not None:
        # map() over C functions: this runs for every report whenever the attribute changes.
        values = list(map(dict.get, _metrics_list(trial), repeat(attr, n), repeat(MISSING, n)))
        # The common case: a plain number in every report. By exact type: bools are left out.
        types = set(map(type, values))
        plain = types <= _PLAIN_NUMBER_TYPES
        if plain and int in types:
            # An int beyond float range makes Ray's `1.0 * value` raise: not plain.
            plain = all(-_FLOAT_MAX <= v <= _FLOAT_MAX for v in values if type(v) is int)
        if plain:
            raw = values
            appended = [False] * n
            if float in types:
                nan = list(map(isnan, values))
                if True in nan:
                    for i in (i for i, flag in enumerate(nan) if flag):
                        notes[i] = NOTE_NAN
                        nans += 1
            present = n - nans
        elif types <= _PLAIN_OR_MISSING_TYPES and "/" not in attr and all(
                -_FLOAT_MAX <= v <= _FLOAT_MAX for v in values if type(v) is int):
            # The next most common case: a plain number where the key is there, nothing where
            # it is not (without '/', absent at the top level is absent everywhere).
            absent = [v is MISSING for v in values]
            missing = absent.count(True)
            raw = [_NEG_INF if v is MISSING else v for v in values]
            nan = [v != v for v in raw]  # NaN is the one float unequal to itself
            if train_v2:
                appended = [False] * n
                missing_note = NOTE_MISSING_V2
            else:
                appended = absent  # Tune appends a report whose attribute is absent (rule 3)
                missing_note = NOTE_MISSING_TUNE
            notes = [missing_note if flag else None for flag in absent]
            if True in nan:
                for i in (i for i, flag in enumerate(nan) if flag):
                    notes[i] = NOTE_NAN
                    nans += 1
            plain = True  # handled: skip the report-by-report path below
            present = n - missing - nans
    if attr is not None and not plain and not train_v2 and "/" in attr \
            and not any(map(dict.__contains__, _metrics_list(trial), repeat(attr, n))):
        # Tune never sorts on a nested attribute (no report has it at the top level): every
        # report appends, so the values only serve the display and the warnings.
        values = _walk_all(_metrics_list(trial), attr)
        nested = n - values.count(MISSING)
        missing = n - nested
        notes = [NOTE_MISSING_TUNE if v is MISSING else NOTE_NESTED_TUNE for v in values]
    elif attr is not None and not plain:
        for i, report in enumerate(reports):
            metrics = report.metrics
            value = metrics.get(attr, MISSING)
            if value is MISSING or type(value) is dict:
                value = lookup(metrics, attr)
            values[i] = value
            if value is MISSING:
                pass  # raw stays -inf
            elif is_number(value) and _scalable(value):
                raw[i] = value
                if value != value:
                    nan[i] = True
            elif value is None and train_v2:
                # The snapshot's pydantic model writes NaN, +inf and -inf all as null: ranked
                # as NaN, as Ray ranked the NaN it held in memory
                nan[i] = True
                nulls += 1
            else:
                bad[i] = True
            if train_v2 or attr in metrics:
                appended[i] = False
                if value is MISSING:
                    notes[i] = NOTE_MISSING_V2
                    missing += 1
                elif bad[i]:
                    notes[i] = NOTE_NOT_NUMERIC
                elif value is None:
                    notes[i] = NOTE_NULL_V2
                elif nan[i]:
                    notes[i] = NOTE_NAN
                    nans += 1
                else:
                    present += 1
            elif value is not MISSING:
                notes[i] = NOTE_NESTED_TUNE  # found only by flattening: Tune never sorts on it
                nested += 1
            else:
                notes[i] = NOTE_MISSING_TUNE
                missing += 1
    sc.values, sc.raw, sc.nan, sc.bad = values, raw, nan, bad
    sc.appended, sc.notes, sc.counts = appended, notes, (missing, nested, nans, present, nulls)
    sc.failing = None
    for i in (range(n) if True in bad else ()):
        if bad[i] and not appended[i]:
            report = reports[i]
            where = f"line {report.line}" if report.line else f"report {report.index + 1}"
            sc.failing = f"'{attr}' is {_type_phrase(values[i])} in {where}"
            break
    return sc


def _rank_trial(trial: Trial, attr: Optional[str], order: str, train_v2: bool) -> _TrialRanking:
    reports = trial.reports
    n = len(reports)
    r = _TrialRanking()
    r.n = n
    sc = _scores(trial, attr, train_v2)
    values, notes, appended, nan, bad = sc.values, sc.notes, sc.appended, sc.nan, sc.bad
    r.counts = sc.counts
    r.failing = sc.failing
    # The sort key: the signed score, NaN (and unscorable) as -inf, fixed up below.
    floats = sc.raw[:] if order == MAX else list(map(neg, sc.raw))
    any_low = True in nan or True in bad
    if any_low:
        for i in range(n):
            if nan[i] or bad[i]:
                floats[i] = _NEG_INF

    any_append = any(appended)
    all_append = all(appended)
    if n == 0:
        ranking: list[int] = []
    elif all_append:
        ranking = list(range(n - 1, -1, -1))  # best first: newest first
    elif any_append and not _appends_keep_order(
            keys := [_NAN_KEY if nan[i] or bad[i] else (True, floats[i]) for i in range(n)],
            appended):
        # Ray's list goes unsorted after an append: replay it step by step (per num_to_keep).
        r.keys, r.appended = _key_codes(keys), appended
        ranking = _replay_literally(n, r.keys, appended, None)[0]
    else:
        # Stable sort on the signed score: equal keys stay oldest first, so the newer ranks
        # higher, as Ray's insert-to-the-right does. Then NaN (and unscorable) go below -inf.
        ascending = sorted(range(n), key=floats.__getitem__)
        if any_low:
            low = [i for i in ascending if nan[i] or bad[i]]
            if low:
                low_set = set(low)
                ascending = low + [i for i in ascending if i not in low_set]
        ranking = ascending[::-1]

    by_report, unreported = _disk_index(trial)
    if len(by_report) == n:
        ordered_idx = ranking
    else:  # some registrations are history: their directories are gone
        ordered_idx = [i for i in ranking if i in by_report]
        rank_of = {idx: p for p, idx in enumerate(ranking, 1)}
        r.ranks = [rank_of[i] for i in ordered_idx]
    ordered = list(map(by_report.__getitem__, ordered_idx))
    if r.keys is not None:
        r.report_pos = {i: p for p, i in enumerate(ordered_idx)}
    r.ranked_count = len(ordered)
    if n - 1 in by_report:
        r.latest_pos = ordered.index(by_report[n - 1])
    r.ordered = ordered + unreported if unreported else ordered
    r.values, r.notes = values, notes
    if r.keys is not None:
        r.names = [rep.checkpoint_name for rep in reports]
    return r


def _appends_keep_order(keys: list, appended: list) -> bool:
    """Whether every appended report's key is at least every earlier key. Then each append
    lands where a sorted insert would have put it (the list stays sorted, newer to the right
    of equals), so the sort is exact. This is the common mixed case: in min mode a missing
    metric scores +inf, the greatest key there is."""
    top = None
    for key, was_appended in zip(keys, appended):
        if top is None or key > top:
            top = key
        elif was_appended and key < top:
            return False
    return True


def _key_codes(keys: list) -> list[int]:
    """Each sort key as its rank among the distinct keys: ints compare like the keys did, and
    a list of small ints is a fraction of the memory of a list of tuples."""
    code = {kv: r for r, kv in enumerate(sorted(set(keys)))}
    return [code[kv] for kv in keys]


def _replay_literally(n: int, ik: list[int], appended: list, k: Optional[int]):
    """Ray's register_checkpoint, step by step, for a trial that mixes inserts and appends.

    ``ik``: each report's key as an int (see _key_codes). Returns (ranking best first without
    deletions, the top num_to_keep of Ray's final list, deleted_by, rank_then): per report
    index, the report whose registration deleted it (-1 when none) and its rank then. With
    ``k`` None nothing is deleted and the ranking is Ray's list (the two lists are None);
    with ``k`` set only the deletions are computed (None in the ranking's place).

    Ray inserts before the first item whose key is greater, scanning from the left of a list
    that appends have left unsorted. That position is also the first place where the running
    maximum of the keys exceeds the new key, and the running maximum stays sorted whatever
    the list looks like, so a bisect on it finds the spot without the scan. Ray's list is
    held in blocks of at most 2 x ``_BLOCK`` entries (see _RayList), so an insert costs two
    bisects and an edit of one block, and a deletion (always one of the first two entries) an
    edit of the first block and of the running maxima from there only until they agree again,
    however long the list is: O(n log n) for a trial whatever ``num_to_keep`` is. (One flat
    list rebuilt its whole running maximum on most deletions: quadratic in ``num_to_keep``,
    42 s for 40,000 reports keeping 20,000.)
    """
    lst = _RayList(ik)
    deleted_by = [-1] * n if k is not None else None
    rank_then = [0] * n if k is not None else None
    for i in range(n):
        if appended[i]:
            lst.append(i)
        else:
            lst.insert(i)
        if k is None:
            continue  # nothing is ever deleted: the list becomes the full ranking
        size = lst.size
        cut = size - k
        if cut <= 0:
            continue
        # Everything below the top k goes (the first `cut` entries), except the checkpoint
        # just registered, which stays as the latest.
        pos = 0
        for seen in range(cut):
            x = lst.at_front(pos)
            if x == i:
                pos += 1
                continue
            lst.delete_front(pos)
            deleted_by[x] = i
            rank_then[x] = size - seen
    kept = lst.items()
    if k is None:
        return kept[::-1], set(kept), None, None
    return None, set(kept[-k:]), deleted_by, rank_then


def _reports(n: int, verb: bool = False) -> str:
    """'1 report', '4 reports', '96,033 reports'; with ``verb``: '1 report has', '4 reports have'."""
    text = f"{n:,} report" + ("" if n == 1 else "s")
    return text + ((" has" if n == 1 else " have") if verb else "")


def _them(n: int) -> str:
    return "it" if n == 1 else "them"
_BLOCK = 128  # entries per block of _RayList; a block splits in two at twice this


class _RayList:
    """Ray's checkpoint list (report indices, worst first) in blocks, each with the running
    maximum of its own keys, and ``top``: the running maximum of the blocks' maxima.

    The first entry whose key exceeds x is in the first block whose maximum exceeds x (a
    bisect on ``top``), at the first place where that block's own running maximum exceeds x
    (a bisect on it: the blocks before hold nothing above x). Inserting x there leaves every
    maximum as it was; appending raises only the last ones; removing one of the first two
    entries changes the running maxima only from it until they agree again."""

    __slots__ = ("ik", "blocks", "maxes", "top", "size")

    def __init__(self, ik: list[int]):
        self.ik = ik
        self.blocks: list[list[int]] = []
        self.maxes: list[list[int]] = []  # per block: the running maximum of its keys
        self.top: list[int] = []  # per block: the running maximum of the blocks' maxima
        self.size = 0

    def append(self, i: int) -> None:
        x = self.ik[i]
        self.size += 1
        if not self.blocks:
            self.blocks.append([i])
            self.maxes.append([x])
            self.top.append(x)
            return
        block, running = self.blocks[-1], self.maxes[-1]
        block.append(i)
        running.append(x if x > running[-1] else running[-1])
        if x > self.top[-1]:
            self.top[-1] = x
        if len(block) > 2 * _BLOCK:
            self._split(len(self.blocks) - 1)

    def insert(self, i: int) -> None:
        x = self.ik[i]
        b = bisect_right(self.top, x)
        if b == len(self.blocks):  # nothing greater: Ray's scan runs off the end
            self.append(i)
            return
        running = self.maxes[b]
        j = bisect_right(running, x)
        self.blocks[b].insert(j, i)
        running.insert(j, x)  # everything before j is <= x, everything from j on is > x
        self.size += 1
        if len(running) > 2 * _BLOCK:
            self._split(b)

    def _split(self, b: int) -> None:
        block, running = self.blocks[b], self.maxes[b]
        half = len(block) // 2
        hi = block[half:]
        del block[half:]
        del running[half:]
        self.blocks.insert(b + 1, hi)
        self.maxes.insert(b + 1, list(accumulate(map(self.ik.__getitem__, hi), max)))
        # top[b] stays the maximum up to the end of the (old) block: the high half's entry.
        before = self.top[b - 1] if b else None
        low = running[-1] if before is None or running[-1] > before else before
        self.top.insert(b, low)

    def at_front(self, pos: int) -> int:
        """The entry at position ``pos`` (0 or 1: the deletions take only the first few)."""
        for block in self.blocks:
            if pos < len(block):
                return block[pos]
            pos -= len(block)
        raise IndexError(pos)

    def delete_front(self, pos: int) -> None:
        b = 0
        while pos >= len(self.blocks[b]):
            pos -= len(self.blocks[b])
            b += 1
        block, running = self.blocks[b], self.maxes[b]
        del block[pos]
        del running[pos]
        self.size -= 1
        if not block:
            del self.blocks[b], self.maxes[b], self.top[b]
        else:
            # The running maximum from pos on: recompute until it agrees with the old one.
            ik = self.ik
            prev = running[pos - 1] if pos else None
            for j in range(pos, len(block)):
                x = ik[block[j]]
                value = x if prev is None or x > prev else prev
                if value == running[j]:
                    break
                running[j] = value
                prev = value
        top = self.top
        prev = top[b - 1] if b else None
        for c in range(b, len(top)):
            x = self.maxes[c][-1]
            value = x if prev is None or x > prev else prev
            if value == top[c]:
                break
            top[c] = value
            prev = value

    def items(self) -> list[int]:
        out: list[int] = []
        for block in self.blocks:
            out.extend(block)
        return out


def _run_warnings(config: CheckpointConfig, train_v2: bool, failing: dict[str, str], checkpoints: int,
                  counts: dict) -> list[str]:
    attr = config.checkpoint_score_attribute
    w: list[str] = []
    if attr is None:
        return w
    if counts["nested"]:
        w.append(
            f"'{attr}' is nested: Tune sorts only on top-level keys, so it ignores it and keeps the "
            f"most recent checkpoints (rule 3); {_reports(counts['nested'])} affected"
        )
    if counts["missing"]:
        if train_v2:
            w.append(
                f"{_reports(counts['missing'], True)} no '{attr}': Train v2 scores {_them(counts['missing'])} -inf"
                + (", the best in min mode (rule 3)" if config.checkpoint_score_order != MAX else ", last (rule 3)")
            )
        else:
            w.append(
                f"{_reports(counts['missing'], True)} no '{attr}': Tune keeps each as if it were the best "
                "so far (rule 3)"
            )
    if counts["nan"]:
        w.append(f"{_reports(counts['nan'], True)} NaN '{attr}': NaN ranks below everything, -inf included")
    if counts.get("null"):
        w.append(
            f"{_reports(counts['null'], True)} a null '{attr}' in the Train v2 snapshot: its model writes "
            "NaN, +inf and -inf all as null and cannot tell them apart, so they are ranked as NaN (below "
            "everything)")
        w.append(
            f"Ray 2.60 cannot resume this run: a second fit() fails while reloading the null '{attr}' "
            "scores of its snapshot")
    for tid, why in failing.items():
        w.append(f"trial {tid}: {why}: Ray would fail this trial (rule 5); nothing in it is deleted")
    if not counts["present"] and not counts["nested"] and not counts["nan"] and not counts.get("null") \
            and checkpoints:
        w.append(f"no report has a '{attr}' metric")
    return w
