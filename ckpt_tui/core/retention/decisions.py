"""What the plan says of one checkpoint: a Decision, with its code and the report's note."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, SupportsFloat, cast

from ckpt_tui.core.metrics import MISSING, is_number

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

# Per-report notes: where Ray's behaviour surprises. Each names the rule as README.md ("Ray's rules") and docs/ARCHITECTURE.md number them.
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
            f = float(cast(SupportsFloat, v))  # is_number: a real number (ints, floats, numpy scalars)
        except OverflowError:
            return None
        return f if math.isfinite(f) else None
