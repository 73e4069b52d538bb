"""One trial ranked under one (attribute, order), and its outcome under num_to_keep and pins."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter, neg
from typing import Optional

from ckpt_tui.core.config import MAX
from ckpt_tui.core.metrics import MISSING
from ckpt_tui.core.model import Checkpoint, Trial
from ckpt_tui.core.retention.decisions import (
    DELETE_BELOW,
    DELETE_UNTRACKED,
    KEEP_ALL,
    KEEP_FAILING,
    KEEP_LATEST,
    KEEP_PINNED,
    KEEP_RESTORE,
    KEEP_TOP,
    KEEP_UNREPORTED,
    KEEP_UNTRACKED,
    Decision,
)
from ckpt_tui.core.retention.replay import appends_keep_order, key_codes, replay_literally
from ckpt_tui.core.retention.scores import Scores, classify, trial_scores

_NEG_INF = float("-inf")
_NAN_KEY = (False, _NEG_INF)


class TrialRanking:
    """One trial ranked under one (attribute, order): everything about a plan that does not
    depend on num_to_keep or pins. Cached on the Trial, so changing num_to_keep costs a few
    list slices per trial, and a trial that was not re-read is never ranked twice."""

    __slots__ = (
        "ordered",
        "ranks",
        "values",
        "notes",
        "_pos",
        "n",
        "ranked_count",
        "latest_pos",
        "failing",
        "keys",
        "appended",
        "report_pos",
        "counts",
        "names",
        "replays",
    )

    def __init__(self):
        self.ordered: list[Checkpoint] = []  # registered checkpoints best first, then unreported
        # Rank of each registered entry of `ordered`; None when every registration is on disk
        # and the rank is simply position + 1.
        self.ranks: Optional[list[int]] = None
        self.values: list = []  # the attribute's value, by report index
        self.notes: Sequence = ()  # by report index
        self._pos: Optional[dict[Checkpoint, int]] = None
        self.n = 0  # registrations, history included
        self.ranked_count = 0  # entries of `ordered` that have a rank
        self.latest_pos: Optional[int] = None  # position of the newest registration, if on disk
        self.failing: Optional[str] = None
        self.keys: Optional[list] = None  # literal replay only: each report's key as a small int
        self.appended: Optional[Sequence[bool]] = None
        self.report_pos: dict[int, int] = {}  # report index -> position in `ordered`
        self.counts = (0, 0, 0, 0, 0)  # missing, nested, nan, present, null (Train v2)
        self.names: list[str] = []  # checkpoint names by report index (for literal-replay reasons)
        # literal replay: num_to_keep -> (top, deleted_by, rank_then)
        self.replays: dict[int, tuple[set[int], list[int], list[int]]] = {}

    @property
    def pos(self) -> dict[Checkpoint, int]:
        # Built on first use: a screen shows a few trials, not all 1,000.
        if self._pos is None:
            self._pos = {c: p for p, c in enumerate(self.ordered)}
        return self._pos


class TrialOutcome:
    """A ranking under one num_to_keep and set of pins: which positions are deleted.

    In the common (sorted) case the deletions are counted, not listed: everything from
    ``top_upto`` on except the latest. The list is built when someone asks for it, so a
    num_to_keep change over 1,000 trials costs a subtraction per trial."""

    __slots__ = (
        "ranking",
        "k",
        "top_upto",
        "_deleted",
        "delete_n",
        "top_set",
        "deleted_by",
        "rank_then",
        "pinned",
        "restore",
        "restored",
        "untracked_deleted",
        "untracked_kept",
    )

    def __init__(
        self,
        ranking: TrialRanking,
        k: Optional[int],
        pinned: frozenset,
        restore: Optional[dict] = None,
        delete_untracked: bool = False,
        trial: Optional[Trial] = None,
    ):
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

    def _untracked(self, ranking: TrialRanking, pinned: frozenset, trial: Optional[Trial]) -> None:
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

    def _replay(self, ranking: TrialRanking, k: Optional[int], pinned: frozenset) -> None:
        if k is None or ranking.failing is not None or not ranking.n:
            return
        if ranking.keys is not None and ranking.appended is not None:  # the two are set together
            replayed = ranking.replays.get(k)
            if replayed is None:  # cached: stepping num_to_keep back and forth is free
                replayed = ranking.replays[k] = replay_literally(ranking.n, ranking.keys, ranking.appended, k)[1:]
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
            return Decision(
                True, KEEP_UNTRACKED, MISSING, None, r.n, self.untracked_kept.get(pos), restore_of=restore_of
            )
        rank = pos + 1 if r.ranks is None else r.ranks[pos]
        report = r.ordered[pos].report
        assert report is not None  # the first ranked_count entries are registered reports
        index = report.index
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
            deleted_by, rank_then = self.deleted_by, self.rank_then
            assert deleted_by is not None and rank_then is not None  # _replay sets them with top_set
            by = deleted_by[index]
            if by >= 0 and pos not in self.restored:
                return Decision(False, DELETE_BELOW, value, rank, r.n, note, r.names[by], rank_then[index], restore_of)
            code = KEEP_RESTORE if pos in self.restored else KEEP_TOP if index in self.top_set else KEEP_LATEST
        elif pos < self.top_upto:
            code = KEEP_TOP
        elif pos == r.latest_pos:
            code = KEEP_LATEST
        else:
            code = DELETE_BELOW
        return Decision(code != DELETE_BELOW, code, value, rank, r.n, note, restore_of=restore_of)


def _age_key(c: Checkpoint):
    """Sorts a trial's checkpoints oldest to newest: Tune's checkpoint_NNNNNN by number, Train
    v2's checkpoint_<date> by name, and a name that is neither after them, by name."""
    name = c.name
    if name.startswith("checkpoint_") and name[11:].isdigit():
        return (0, int(name[11:]), "")
    return (1 if name.startswith("checkpoint_") else 2, 0, name)


def trial_ranking(trial: Trial, attr: Optional[str], order: str, train_v2: bool, literal: bool = False) -> TrialRanking:
    """``rank_trial`` cached with the trial. ``literal``: no shortcut at all (reports classified
    one by one, Ray's list replayed report by report), not cached: the tests' reference."""
    if literal:
        return rank_trial(trial, attr, order, train_v2, classify(trial, attr, train_v2, fast=False), literal=True)
    # The cache lives on the Trial; readers replace the Trial object when they re-read it, and
    # the lengths guard against anyone editing its lists in place.
    cache = trial.cache.rankings
    key = (attr, order, train_v2, len(trial.reports), len(trial.checkpoints))
    ranking = cache.get(key)
    if ranking is None:
        if len(cache) > 8:
            cache.clear()
        ranking = cache[key] = rank_trial(trial, attr, order, train_v2)
    return ranking


def disk_index(trial: Trial) -> tuple[dict[int, Checkpoint], list[Checkpoint]]:
    """Checkpoints on disk by report index, and those no report names; the same for every
    attribute, so cached with the trial."""
    cached = trial.cache.disk_index
    if cached is not None and cached[0] == len(trial.checkpoints):
        return cached[1], cached[2]
    by_report = {}
    unreported = []
    for c in trial.checkpoints:
        if c.report is not None:
            by_report[c.report.index] = c
        else:
            unreported.append(c)
    trial.cache.disk_index = (len(trial.checkpoints), by_report, unreported)
    return by_report, unreported


def rank_trial(
    trial: Trial, attr: Optional[str], order: str, train_v2: bool, sc: Optional[Scores] = None, literal: bool = False
) -> TrialRanking:
    """``trial`` ranked best first. ``sc``: its reports classified (default: cached with the
    trial); ``literal``: replay Ray's list report by report even where a sort gives the same
    answer (the property test's reference)."""
    reports = trial.reports
    n = len(reports)
    r = TrialRanking()
    r.n = n
    if sc is None:
        sc = trial_scores(trial, attr, train_v2)
    appended, low = sc.appended, sc.low
    r.counts = sc.counts
    r.failing = sc.failing
    # The sort key: the signed score, NaN (and unscorable) as -inf, fixed up below.
    floats = sc.raw[:] if order == MAX else list(map(neg, sc.raw))
    if low is not None:
        for i in range(n):
            if low[i]:
                floats[i] = _NEG_INF

    any_append = True in appended
    if n == 0:
        ranking: list[int] = []
    elif not literal and False not in appended:
        ranking = list(range(n - 1, -1, -1))  # best first: newest first
    elif literal or (
        any_append
        and not appends_keep_order(
            keys := [_NAN_KEY if low is not None and low[i] else (True, floats[i]) for i in range(n)], appended
        )
    ):
        # Ray's list goes unsorted after an append: replay it step by step (per num_to_keep).
        if literal:
            keys = [_NAN_KEY if low is not None and low[i] else (True, floats[i]) for i in range(n)]
        r.keys, r.appended = key_codes(keys), appended
        ranking = replay_literally(n, r.keys, appended, None)[0]
    else:
        # Stable sort on the signed score: equal keys stay oldest first, so the newer ranks
        # higher, as Ray's insert-to-the-right does. Then NaN (and unscorable) go below -inf.
        ascending = sorted(range(n), key=floats.__getitem__)
        if low is not None:
            lows = [i for i in ascending if low[i]]
            low_set = set(lows)
            ascending = lows + [i for i in ascending if i not in low_set]
        ranking = ascending[::-1]

    by_report, unreported = disk_index(trial)
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
    r.values, r.notes = sc.values, sc.notes
    if r.keys is not None:
        r.names = [rep.checkpoint_name for rep in reports]
    return r
