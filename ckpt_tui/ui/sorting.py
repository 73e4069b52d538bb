"""Sorting the checkpoint table by a column, as ncdu and htop do. No Textual import.

The default view is Ray's order: trial after trial, each best first under the config (``None``
here). A sort orders every row of the view by one column; the first choice of a column puts the
rows people look for first (best score, latest iteration, largest, newest, trial A-Z), the second
reverses it. Ties keep Ray's order, so within one value the ranking still reads best first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Optional

from ckpt_tui.core.metrics import MISSING, lookup
from ckpt_tui.core.model import Checkpoint
from ckpt_tui.core.retention import Plan
from ckpt_tui.ui.format import fast_is_number, short_trial

# key -> (title, key letter in the sort chooser, table column it belongs to)
SORTS: dict[str, tuple[str, str, str]] = {
    "rank": ("Ray's order (trial, then rank)", "r", "rank"),
    "score": ("score, best first", "s", "score"),
    "iteration": ("iteration, latest first", "i", "iter"),
    "size": ("size, largest first", "z", "size"),
    "age": ("age, newest first", "a", "age"),
    "trial": ("trial, A to Z", "t", "trial"),
}
COLUMN_SORTS = {column: key for key, (_title, _letter, column) in SORTS.items()}


def sort_title(key: str) -> str:
    if key.startswith("metric:"):
        return key[len("metric:") :]
    return key


def column_sort(column_key: str) -> Optional[str]:
    """The sort a click on a column's header asks for (None: that column does not sort)."""
    if column_key.startswith("metric:"):
        return column_key
    if column_key == "mark":
        return "rank"
    return COLUMN_SORTS.get(column_key)


def _number_key(value, sign: float) -> tuple:
    """Numbers first (by ``sign * value``), then NaN, then anything else (missing, strings)."""
    if value is MISSING or value is None or isinstance(value, bool) or not fast_is_number(value):
        return (2, 0.0)
    f = float(value)
    if math.isnan(f):
        return (1, 0.0)
    return (0, -sign * f)


def sort_rows(rows: Sequence[Checkpoint], plan: Plan, key: Optional[str], reverse: bool) -> Sequence[Checkpoint]:
    """``rows`` (in Ray's order) ordered by ``key``; ``reverse`` flips the first-press order."""
    if key is None or key == "rank":
        if not reverse:
            return rows
        return list(rows)[::-1]
    listed = list(rows)  # a PlanRows ranks every trial here: a sort needs them all
    if key == "score" or key.startswith("metric:"):
        attr = plan.config.checkpoint_score_attribute if key == "score" else key[len("metric:") :]
        if not attr:
            return listed[::-1] if reverse else listed
        sign = 1.0 if (key != "score" or plan.config.checkpoint_score_order == "max") else -1.0
        fn: Callable = lambda c: _number_key(lookup(c.report.metrics, attr) if c.report is not None else MISSING, sign)
    elif key == "iteration":
        fn = lambda c: (0, -c.iteration) if c.iteration is not None else (1, 0)
    elif key == "size":
        fn = lambda c: (0, -c.size_bytes) if c.size_bytes is not None else (1, 0)
    elif key == "age":
        fn = lambda c: (0, -c.mtime) if c.mtime is not None else (1, 0)
    elif key == "trial":
        fn = lambda c: short_trial(c.trial_id)
    else:
        return listed
    keys = [fn(c) for c in listed]
    # Stable both ways (Python keeps equal items in order with reverse=True too): ties stay
    # in Ray's order, best first, whichever way the column goes.
    decorated = sorted(range(len(listed)), key=keys.__getitem__, reverse=reverse)
    return [listed[i] for i in decorated]
