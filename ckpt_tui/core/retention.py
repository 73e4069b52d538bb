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
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ckpt_tui.core.config import MAX, CheckpointConfig
from ckpt_tui.core.metrics import MISSING, is_number, lookup
from ckpt_tui.core.model import TRAIN_V2, Checkpoint, Run, Trial

_NEG_INF = float("-inf")
_NAN_KEY = (False, _NEG_INF)

# Why a checkpoint is kept or deleted.
KEEP_ALL = "keep-all"  # num_to_keep is None
KEEP_TOP = "top"  # within the top num_to_keep
KEEP_LATEST = "latest"  # below the top, but the newest registration
KEEP_UNREPORTED = "unreported"  # no report names it: Ray never registered it
KEEP_PINNED = "pinned"  # the user pinned it; the plan would delete it otherwise
KEEP_FAILING = "failing"  # Ray would fail this trial on a non-numeric score
DELETE_BELOW = "below"  # below the top num_to_keep

KEEP_CODES = {KEEP_ALL, KEEP_TOP, KEEP_LATEST, KEEP_UNREPORTED, KEEP_PINNED, KEEP_FAILING}

# Per-report notes: where Ray's behaviour surprises. Each names the rule in DESIGN.md terms.
NOTE_NAN = "nan"
NOTE_MISSING_TUNE = "missing-tune"
NOTE_MISSING_V2 = "missing-v2"
NOTE_NESTED_TUNE = "nested-tune"
NOTE_NOT_NUMERIC = "not-numeric"


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

    @property
    def score(self) -> Optional[float]:
        """The value as a JSON-safe number: None when missing, NaN, infinite or not a number."""
        v = self.value
        if v is MISSING or not is_number(v):
            return None
        f = float(v)
        return f if math.isfinite(f) else None


@dataclass
class Plan:
    run: Run
    config: CheckpointConfig
    decisions: dict[Checkpoint, Decision] = field(default_factory=dict)
    order: dict[str, list[Checkpoint]] = field(default_factory=dict)  # per trial, best first
    warnings: list[str] = field(default_factory=list)
    failing_trials: dict[str, str] = field(default_factory=dict)  # trial id -> why Ray fails it

    # ---- totals -------------------------------------------------------------------------
    @property
    def checkpoint_count(self) -> int:
        return len(self.decisions)

    def to_delete(self) -> list[Checkpoint]:
        return [c for c, d in self.decisions.items() if not d.keep]

    @property
    def delete_count(self) -> int:
        return sum(1 for d in self.decisions.values() if not d.keep)

    @property
    def keep_count(self) -> int:
        return self.checkpoint_count - self.delete_count

    @property
    def reclaim_bytes(self) -> int:
        return sum(c.size_bytes or 0 for c, d in self.decisions.items() if not d.keep)

    @property
    def total_bytes(self) -> int:
        return sum(c.size_bytes or 0 for c in self.decisions)

    def ordered(self, trial_id: Optional[str] = None) -> list[Checkpoint]:
        """Checkpoints best first: one trial's, or every trial's one after another."""
        if trial_id is not None:
            return self.order.get(trial_id, [])
        out: list[Checkpoint] = []
        for ckpts in self.order.values():
            out.extend(ckpts)
        return out

    def reason(self, ckpt: Checkpoint) -> str:
        return explain(self.decisions[ckpt], self.config, self.run.layout, self.failing_trials.get(ckpt.trial_id))


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
            base = f"one of the {k} most recent" if not attr or d.note == NOTE_NESTED_TUNE else f"top {k}"
    elif code == KEEP_LATEST:
        base = "latest checkpoint: Ray never deletes the newest"
    elif code == KEEP_UNREPORTED:
        base = "no report names it: Ray never registered it, so Ray never deletes it"
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
            base = f"rank {d.rank} of {d.of} by recency, older than the {k} most recent"
    note = note_text(d, config, layout)
    return f"{base}; {note}" if note else base


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


def plan(run: Run, config: CheckpointConfig, pinned: Iterable[str] = ()) -> Plan:
    """What Ray would keep and delete under ``config``: a pure function of the run."""
    result = Plan(run=run, config=config)
    pinned_paths = set(pinned)
    counts = {"missing": 0, "nested": 0, "nan": 0, "present": 0}
    for trial in run.trials.values():
        _plan_trial(result, trial, config, run.layout == TRAIN_V2, counts)
    if pinned_paths:
        for ckpt, d in result.decisions.items():
            if ckpt.path in pinned_paths and not d.keep:
                d.keep = True
                d.code = KEEP_PINNED
    _run_warnings(result, config, run.layout == TRAIN_V2, counts)
    return result


def _plan_trial(result: Plan, trial: Trial, config: CheckpointConfig, train_v2: bool, counts: dict) -> None:
    reports = trial.reports
    n = len(reports)
    attr = config.checkpoint_score_attribute
    factor = 1.0 if config.checkpoint_score_order == MAX else -1.0
    k = config.num_to_keep

    values = [MISSING] * n
    keys: list = [None] * n  # None: not numeric (Ray raises when it scores this one)
    appended = [True] * n
    notes: list = [None] * n
    if attr is not None:
        for i, report in enumerate(reports):
            metrics = report.metrics
            top = metrics.get(attr, MISSING)
            if top is not MISSING and not isinstance(top, dict):
                value = top  # the common case: a plain top-level metric
            else:
                value = lookup(metrics, attr)
            values[i] = value
            if value is MISSING:
                raw = _NEG_INF
            elif is_number(value):
                raw = value
            else:
                raw = None
            if raw is not None:
                s = factor * raw
                keys[i] = _NAN_KEY if s != s else (True, s)
            if train_v2 or attr in metrics:
                appended[i] = False
                if value is MISSING:
                    notes[i] = NOTE_MISSING_V2
                    counts["missing"] += 1
                elif raw is None:
                    notes[i] = NOTE_NOT_NUMERIC
                elif keys[i] is _NAN_KEY:
                    notes[i] = NOTE_NAN
                    counts["nan"] += 1
                else:
                    counts["present"] += 1
            elif value is not MISSING:
                notes[i] = NOTE_NESTED_TUNE  # found only by flattening: Tune never sorts on it
                counts["nested"] += 1
            else:
                notes[i] = NOTE_MISSING_TUNE
                counts["missing"] += 1

    failing = _failure(trial, reports, keys, appended, notes, attr)
    if failing:
        result.failing_trials[trial.id] = failing

    any_append = any(appended)
    all_append = all(appended)
    deleted_by: dict[int, tuple[int, int]] = {}
    if n == 0:
        ranking: list[int] = []
        top: set[int] = set()
    elif any_append and not all_append:
        ranking, top, deleted_by = _replay_literally(n, keys, appended, k)
    else:
        if all_append:
            ranking = list(range(n - 1, -1, -1))  # best first: newest first
        else:
            ranking = sorted(range(n), key=lambda i: (keys[i] or _NAN_KEY, i), reverse=True)
        top = set(ranking[:k]) if k is not None else set(ranking)

    rank_of = {idx: pos + 1 for pos, idx in enumerate(ranking)}
    decisions = result.decisions
    by_report = {}
    for ckpt in trial.checkpoints:
        if ckpt.report is not None:
            by_report[ckpt.report.index] = ckpt
    ordered: list[Checkpoint] = []
    for idx in ranking:
        ckpt = by_report.get(idx)
        if ckpt is None:
            continue  # history: registered, directory gone
        if failing:
            code = KEEP_FAILING
        elif k is None:
            code = KEEP_ALL
        elif idx in top:
            code = KEEP_TOP
        elif idx == n - 1:
            code = KEEP_LATEST
        else:
            code = DELETE_BELOW
        d = Decision(keep=code != DELETE_BELOW, code=code, value=values[idx], rank=rank_of[idx], of=n,
                     note=notes[idx])
        if code == DELETE_BELOW and idx in deleted_by:
            by, then = deleted_by[idx]
            d.deleted_by = reports[by].checkpoint_name
            d.rank_then = then
        decisions[ckpt] = d
        ordered.append(ckpt)
    for ckpt in trial.checkpoints:
        if ckpt.report is None:
            decisions[ckpt] = Decision(keep=True, code=KEEP_UNREPORTED, value=MISSING, rank=None, of=n)
            ordered.append(ckpt)
    result.order[trial.id] = ordered


def _failure(trial: Trial, reports, keys, appended, notes, attr) -> Optional[str]:
    """Why Ray would fail this trial (a non-numeric score it has to compare), or None."""
    for i, key in enumerate(keys):
        if key is None and attr is not None and not appended[i]:
            report = reports[i]
            where = f"line {report.line}" if report.line else f"report {report.index + 1}"
            return f"'{attr}' is {_type_phrase(lookup(report.metrics, attr))} in {where}"
    return None


def _replay_literally(n: int, keys: list, appended: list, k: Optional[int]):
    """Ray's register_checkpoint, step by step, for a trial that mixes inserts and appends.

    Returns (ranking best first without deletions, the top num_to_keep of Ray's final list,
    deleted_by) where deleted_by maps
    a report index to (the report index whose registration deleted it, its rank then).
    """
    def key(i):
        return keys[i] if keys[i] is not None else _NAN_KEY

    def insert(lst: list, i: int) -> None:
        if appended[i]:
            lst.append(i)
            return
        ki = key(i)
        j = 0
        while j < len(lst) and not key(lst[j]) > ki:
            j += 1
        lst.insert(j, i)

    full: list[int] = []
    kept: list[int] = []
    deleted_by: dict[int, tuple[int, int]] = {}
    for i in range(n):
        insert(full, i)
        insert(kept, i)
        if k is not None and len(kept) > k:
            worst = kept[:-k]
            size = len(kept)
            doomed = {x for x in worst if x != i}
            for pos, x in enumerate(kept):
                if x in doomed:
                    deleted_by[x] = (i, size - pos)
            kept = [x for x in kept if x not in doomed]
    return full[::-1], set(kept[-k:] if k is not None else kept), deleted_by


def _run_warnings(result: Plan, config: CheckpointConfig, train_v2: bool, counts: dict) -> None:
    attr = config.checkpoint_score_attribute
    if attr is None:
        return
    w = result.warnings
    if counts["nested"]:
        w.append(
            f"'{attr}' is nested: Tune sorts only on top-level keys, so it ignores it and keeps the "
            f"most recent checkpoints (rule 3); {counts['nested']} report(s) affected"
        )
    if counts["missing"]:
        if train_v2:
            w.append(
                f"{counts['missing']} report(s) have no '{attr}': Train v2 scores them -inf"
                + (", the best in min mode (rule 3)" if config.checkpoint_score_order != MAX else ", last (rule 3)")
            )
        else:
            w.append(
                f"{counts['missing']} report(s) have no '{attr}': Tune keeps each as if it were the best "
                "so far (rule 3)"
            )
    if counts["nan"]:
        w.append(f"{counts['nan']} report(s) have NaN '{attr}': NaN ranks below everything, -inf included")
    for tid, why in result.failing_trials.items():
        w.append(f"trial {tid}: {why}: Ray would fail this trial (rule 5); nothing in it is deleted")
    if not counts["present"] and not counts["nested"] and not counts["nan"] and result.run.checkpoint_count:
        w.append(f"no report has a '{attr}' metric")
