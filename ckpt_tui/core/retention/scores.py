"""Each report of a trial classified once under one attribute: its kind.

The kind says everything the plan needs about a report's score: the note shown with it,
whether Ray appends it (treats it as the best so far) or sort-inserts it, which warning it
counts towards, and whether it fails the trial. The fast paths below only find the kinds
sooner for the common shapes of a run; everything that follows from a kind is derived in one
place (``_classified``), so the paths cannot disagree on notes or counts. ``classify(...,
fast=False)`` runs the report-by-report loop alone (the property test compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from math import isnan
from operator import itemgetter
from typing import Optional

from ckpt_tui.core.metrics import MISSING, is_number, lookup
from ckpt_tui.core.model import Trial
from ckpt_tui.core.retention.decisions import (
    NOTE_MISSING_TUNE,
    NOTE_MISSING_V2,
    NOTE_NAN,
    NOTE_NESTED_TUNE,
    NOTE_NOT_NUMERIC,
    NOTE_NULL_V2,
)
from ckpt_tui.core.retention.reasons import type_phrase

_NEG_INF = float("-inf")
_NAN = float("nan")
_PLAIN_NUMBER_TYPES = {float, int}  # by exact type: bool is a number to Ray but not "plain"
_PLAIN_OR_MISSING_TYPES = {float, int, type(MISSING)}
_FLOAT_MAX = 1.7976931348623157e308

# A report's kind under one attribute (small ints: a list of them is cheap to scan and count).
UNSCORED = 0  # no score attribute: Ray appends every checkpoint (recency)
PRESENT = 1  # a number, sort-inserted
NAN = 2  # NaN, sort-inserted: ranks below everything
NULL_V2 = 3  # Train v2 snapshot's null (NaN, +inf or -inf): ranked as NaN
NOT_NUMERIC = 4  # sort-inserted but not a number: Ray fails the trial
MISSING_SORTED = 5  # absent, sort-inserted as -inf before the sign (Train v2; Tune: a top-level dict)
MISSING_APPENDED = 6  # absent in Tune: appended, kept as if it were the best
NESTED = 7  # found only by flattening, in Tune: appended (Tune sorts on top-level keys only)
KINDS = range(8)

NOTE_OF = (None, None, NOTE_NAN, NOTE_NULL_V2, NOTE_NOT_NUMERIC, NOTE_MISSING_V2, NOTE_MISSING_TUNE, NOTE_NESTED_TUNE)
APPENDS = (True, False, False, False, False, False, True, True)
LOW = (False, False, True, True, True, False, False, None)  # ranks as NaN; NESTED: where its score is NaN
_PLAIN_KIND = (PRESENT, NAN)  # by isnan()


class Scores:
    """A trial's reports classified under one attribute: what does not depend on max/min, so
    toggling the order re-sorts without reading 100,000 reports again.

    By report index: ``values`` (the attribute's value, MISSING when absent), ``kinds``, and
    ``raw``, the score before the sign: -inf when missing, NaN for whatever ranks as NaN (and
    unused, -inf, when every report appends: the ranking is then by recency alone). Derived
    from the kinds: ``notes``, ``appended``, ``low`` (ranks as NaN; None when no report
    does), ``counts`` (missing, nested, nan, present, null) and ``failing``."""

    __slots__ = ("values", "kinds", "raw", "notes", "appended", "low", "counts", "failing")

    values: list
    kinds: Sequence[int]
    raw: list
    notes: tuple
    appended: tuple
    low: Optional[Sequence[bool]]
    counts: tuple
    failing: Optional[str]


def _pick(table: tuple, keys) -> tuple:
    """``table[k]`` for each of ``keys``, in one C call (itemgetter): the derived per-report
    lists cost next to nothing however many reports a trial has."""
    keys = tuple(keys)
    if len(keys) > 1:
        return itemgetter(*keys)(table)
    return tuple(table[k] for k in keys)


def _scalable(value) -> bool:
    """Whether Ray's ``1.0 * value`` works (a huge int overflows, and Ray fails the trial)."""
    try:
        1.0 * value
        return True
    except (OverflowError, TypeError):
        return False


def metrics_list(trial: Trial) -> list[dict]:
    cache = trial.cache
    cached = cache.metrics
    if cached is None or len(cached) != len(trial.reports):
        cached = cache.metrics = [r.metrics for r in trial.reports]
    return cached


def trial_scores(trial: Trial, attr: Optional[str], train_v2: bool) -> Scores:
    """``classify`` cached with the trial."""
    cache = trial.cache.scores
    key = (attr, train_v2, len(trial.reports))
    scored = cache.get(key)
    if scored is None:
        if len(cache) > 8:
            cache.clear()
        scored = cache[key] = classify(trial, attr, train_v2)
    return scored


def walk_all(metrics: list[dict], attr: str) -> list:
    """``lookup(m, attr)`` for every report: the path walked directly, the full flatten only
    where the walk finds nothing (a key that itself contains '/')."""
    parts = attr.split("/")
    out = []
    for m in metrics:
        node: object = m
        for part in parts:
            if type(node) is not dict:
                node = MISSING
                break
            node = node.get(part, MISSING)
            if node is MISSING:
                break
        if node is MISSING or type(node) is dict:
            node = lookup(m, attr)
        out.append(node)
    return out


def classify(trial: Trial, attr: Optional[str], train_v2: bool, fast: bool = True) -> Scores:
    """Every report's kind under ``attr``; ``fast=False``: report by report, no shortcut."""
    n = len(trial.reports)
    if attr is None:
        return _classified(trial, attr, [MISSING] * n, [UNSCORED] * n, [_NEG_INF] * n)
    metrics = metrics_list(trial)
    if fast:
        found = fast_path(metrics, attr, train_v2)
        if found is not None:
            return _classified(trial, attr, *found[1:])
    values = [MISSING] * n
    kinds = [UNSCORED] * n
    raw: list = [_NEG_INF] * n
    for i, m in enumerate(metrics):
        value = m.get(attr, MISSING)
        if value is MISSING or type(value) is dict:
            value = lookup(m, attr)
        values[i] = value
        sorts = train_v2 or attr in m  # Tune appends unless the key is at the top level (rule 3)
        if value is MISSING:
            kinds[i] = MISSING_SORTED if sorts else MISSING_APPENDED
        elif is_number(value) and _scalable(value):
            raw[i] = value
            kinds[i] = (NAN if value != value else PRESENT) if sorts else NESTED
        elif value is None and train_v2:
            # The snapshot's pydantic model writes NaN, +inf and -inf all as null: ranked as
            # NaN, as Ray ranked the NaN it held in memory
            raw[i] = _NAN
            kinds[i] = NULL_V2
        else:
            raw[i] = _NAN
            kinds[i] = NOT_NUMERIC if sorts else NESTED
    return _classified(trial, attr, values, kinds, raw)


def fast_path(metrics: list[dict], attr: str, train_v2: bool) -> Optional[tuple]:
    """(path, values, kinds, raw) for the common shapes of a run, found with map() over C
    functions (this runs for every report whenever the attribute changes); None for any
    other shape. ``path`` names the shortcut taken: "plain", "plain-or-missing", "nested"."""
    n = len(metrics)
    values = list(map(dict.get, metrics, repeat(attr, n), repeat(MISSING, n)))
    types = set(map(type, values))
    in_range = int not in types or all(-_FLOAT_MAX <= v <= _FLOAT_MAX for v in values if type(v) is int)
    if types <= _PLAIN_NUMBER_TYPES and in_range:
        # A plain number in every report (by exact type: bools are left out; an int beyond
        # float range makes Ray's `1.0 * value` raise).
        nan = list(map(isnan, values)) if float in types else ()
        if True in nan:
            return "plain", values, _pick(_PLAIN_KIND, nan), values
        return "plain", values, [PRESENT] * n, values
    if types <= _PLAIN_OR_MISSING_TYPES and "/" not in attr and in_range:
        # A plain number where the key is there, nothing where it is not (without '/', absent
        # at the top level is absent everywhere).
        absent_kind = MISSING_SORTED if train_v2 else MISSING_APPENDED
        kinds = [absent_kind if v is MISSING else NAN if v != v else PRESENT for v in values]
        return "plain-or-missing", values, kinds, [_NEG_INF if v is MISSING else v for v in values]
    if not train_v2 and "/" in attr and not any(map(dict.__contains__, metrics, repeat(attr, n))):
        # Tune never sorts on a nested attribute (no report has it at the top level): every
        # report appends, so the values only serve the display and the warnings.
        values = walk_all(metrics, attr)
        return "nested", values, [MISSING_APPENDED if v is MISSING else NESTED for v in values], [_NEG_INF] * n
    return None


def _classified(trial: Trial, attr: Optional[str], values: list, kinds: Sequence[int], raw: list) -> Scores:
    """Everything that follows from the kinds: the one place notes, counts and failing come from."""
    n = len(kinds)
    sc = Scores()
    sc.values, sc.kinds, sc.raw = values, kinds, raw
    count = kinds.count
    present = count(PRESENT)
    if present == n:
        sc.notes, sc.appended, sc.low = (None,) * n, (False,) * n, None
        sc.counts = (0, 0, 0, n, 0)
        sc.failing = None
        return sc
    nans = count(NAN)
    if present + nans == n:  # numbers and NaN only (the common case past all-present)
        nulls = bad = nested = missing_sorted = missing_appended = 0
    else:
        nulls, bad, nested = count(NULL_V2), count(NOT_NUMERIC), count(NESTED)
        missing_sorted, missing_appended = count(MISSING_SORTED), count(MISSING_APPENDED)
    sorted_in = present + nans + nulls + bad + missing_sorted  # the rest append
    pick = itemgetter(*kinds) if n > 1 else lambda table: tuple(table[k] for k in kinds)
    sc.notes = pick(NOTE_OF)
    sc.appended = (False,) * n if sorted_in == n else pick(APPENDS)
    low: Optional[Sequence[bool]] = None
    if nested and sorted_in:
        # A nested score ranks as NaN where it is NaN or not a number (raw is NaN exactly
        # there). Unused when every report appends: the ranking is by recency alone.
        low = [r != r for r in raw]  # NaN is the one value unequal to itself
        if True not in low:
            low = None
    elif nans or nulls or bad:
        low = pick(LOW)
    sc.low = low
    sc.counts = (missing_sorted + missing_appended, nested, nans, present, nulls)
    sc.failing = None
    if bad:
        i = kinds.index(NOT_NUMERIC)
        report = trial.reports[i]
        where = f"line {report.line}" if report.line else f"report {report.index + 1}"
        sc.failing = f"'{attr}' is {type_phrase(values[i])} in {where}"
    return sc
