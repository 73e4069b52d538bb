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

The package, in the order a plan is made:
  scores.py     each report classified once under the attribute (its kind: note, append or
                insert, counts, failing), with fast paths for the common shapes of a run;
  replay.py     Ray's list replayed report by report (a trial that mixes inserts and appends);
  ranking.py    one trial ranked under (attribute, order), and its outcome under num_to_keep
                and pins; rankings are cached with the trial (``Trial.cache``);
  planner.py    ``plan()`` and ``Plan``: trials ranked on demand, totals, rows;
  reasons.py    the plan in words: ``explain``, ``note_text`` and the run's warnings;
  decisions.py  ``Decision`` and its codes and notes.
"""

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
    NOTE_MISSING_TUNE,
    NOTE_MISSING_V2,
    NOTE_NAN,
    NOTE_NESTED_TUNE,
    NOTE_NOT_NUMERIC,
    NOTE_NULL_V2,
    Decision,
)
from ckpt_tui.core.retention.planner import Plan, PlanRows, plan
from ckpt_tui.core.retention.reasons import explain, note_text

__all__ = [
    "DELETE_BELOW",
    "DELETE_UNTRACKED",
    "KEEP_ALL",
    "KEEP_FAILING",
    "KEEP_LATEST",
    "KEEP_PINNED",
    "KEEP_RESTORE",
    "KEEP_TOP",
    "KEEP_UNREPORTED",
    "KEEP_UNTRACKED",
    "NOTE_MISSING_TUNE",
    "NOTE_MISSING_V2",
    "NOTE_NAN",
    "NOTE_NESTED_TUNE",
    "NOTE_NOT_NUMERIC",
    "NOTE_NULL_V2",
    "Decision",
    "Plan",
    "PlanRows",
    "explain",
    "note_text",
    "plan",
]
