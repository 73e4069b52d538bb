"""The plan in words: why a checkpoint is kept or deleted, and the run's warnings."""

from __future__ import annotations

from typing import Optional

from ckpt_tui.core.config import MAX, CheckpointConfig
from ckpt_tui.core.retention.decisions import (
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
            base = f"rank {d.rank_then} when {d.deleted_by} was registered, below the top {k}: Ray deletes it then"
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
        return f"'{attr}' is {type_phrase(d.value)}: Ray would fail this trial"
    if note == NOTE_NULL_V2:
        return "null in the snapshot (NaN, +inf or -inf): ranked as NaN, last"
    return None


def type_phrase(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _reports(n: int, verb: bool = False) -> str:
    """'1 report', '4 reports', '96,033 reports'; with ``verb``: '1 report has', '4 reports have'."""
    text = f"{n:,} report" + ("" if n == 1 else "s")
    return text + ((" has" if n == 1 else " have") if verb else "")


def _them(n: int) -> str:
    return "it" if n == 1 else "them"


def run_warnings(
    config: CheckpointConfig, train_v2: bool, failing: dict[str, str], checkpoints: int, counts: dict
) -> list[str]:
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
            "everything)"
        )
        w.append(
            f"Ray 2.60 cannot resume this run: a second fit() fails while reloading the null '{attr}' "
            "scores of its snapshot"
        )
    for tid, why in failing.items():
        w.append(f"trial {tid}: {why}: Ray would fail this trial (rule 5); nothing in it is deleted")
    if not counts["present"] and not counts["nested"] and not counts["nan"] and not counts.get("null") and checkpoints:
        w.append(f"no report has a '{attr}' metric")
    return w
