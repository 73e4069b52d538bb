"""Ray's file names and name patterns, in one place: every reader, the watcher's signatures and
the deletion use these (what Ray 2.x writes; see tests/ray_runs for real runs)."""

from __future__ import annotations

import re

# Ray Tune: per trial dir
RESULT = "result.json"  # JSON lines, one report per line
PARAMS = "params.json"
# Ray Tune: the experiment dir. The driver writes experiment_state-<date>.json (newest = last by
# name); basic-variant-state-*.json and tuner.pkl sit beside it.
EXPERIMENT_STATE_PREFIX = "experiment_state-"
EXPERIMENT_STATE_SUFFIX = ".json"
EXPERIMENT_STATE_GLOB = EXPERIMENT_STATE_PREFIX + "*" + EXPERIMENT_STATE_SUFFIX
# Ray Train v2: the run dir
SNAPSHOT = "checkpoint_manager_snapshot.json"

# Checkpoint dir names: Tune numbers them, Train v2 stamps them with the time it saved them
# (ray.train.report(checkpoint_dir_name=...) may name one anything: the snapshot lists those).
TUNE_CHECKPOINT_RE = re.compile(r"^checkpoint_\d+$")
TUNE_CHECKPOINT_INDEX_RE = re.compile(r"^checkpoint_(\d+)$")
V2_CHECKPOINT_RE = re.compile(r"^checkpoint_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(\.\d+)?$")

# The files of a trial (or a Train v2 run) whose size and mtime move when Ray registers anything.
TRIAL_STATE_FILES = (RESULT, PARAMS, SNAPSHOT)


def is_experiment_state(name: str) -> bool:
    return name.startswith(EXPERIMENT_STATE_PREFIX) and name.endswith(EXPERIMENT_STATE_SUFFIX)


def newest_experiment_state(names) -> str | None:
    """The newest experiment_state-*.json among ``names`` (Ray's date stamp: newest sorts last)."""
    files = sorted(n for n in names if is_experiment_state(n))
    return files[-1] if files else None


def is_checkpoint_name(name: str) -> bool:
    """A checkpoint dir name of either layout (Tune's numbered, Train v2's dated)."""
    return TUNE_CHECKPOINT_RE.match(name) is not None or V2_CHECKPOINT_RE.match(name) is not None
