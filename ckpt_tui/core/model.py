"""What a reader finds on disk: a run of trials, their reports and checkpoint directories."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig

TUNE = "tune"
TUNE_TRIAL = "tune-trial"
TRAIN_V2 = "train-v2"


@dataclass(eq=False, slots=True)
class Report:
    """A report that carried a checkpoint: one registration with Ray's checkpoint manager.

    Reports stay in the history after their directory is gone, because Ray's decisions for
    later checkpoints depended on them.
    """

    index: int  # registration order within the trial, from 0
    checkpoint_name: str
    metrics: dict  # the report as Ray saw it (unflattened)
    iteration: Optional[int] = None
    line: Optional[int] = None  # 1-based line in result.json (Tune)
    report_index: Optional[int] = None  # Train v2's own report counter


@dataclass(eq=False, slots=True)
class Checkpoint:
    """A checkpoint directory on disk."""

    trial_id: str
    name: str
    path: str  # absolute
    size_bytes: Optional[int]  # None until sizes are read
    mtime: Optional[float]  # newest file in it (the dir's own when empty); None until sizes are read
    report: Optional[Report] = None  # None: no report names it (being written, or foreign)
    is_symlink: bool = False
    file_count: Optional[int] = None
    # Ray's checkpoint manager does not track it and never will (its state is the authority):
    # Ray never deletes it. ``report`` is None then; ``logged`` is the result.json row that
    # named it, if any (a report Ray never registered).
    untracked: bool = False
    logged: Optional[Report] = None

    @property
    def tracked(self) -> Optional[bool]:
        """True: Ray registered it (or will: a pending report of a live trial); False: Ray does
        not track it and never will; None: unknown (no report or state names it yet)."""
        if self.report is not None:
            return True
        return False if self.untracked else None

    @property
    def index(self) -> Optional[int]:
        return self.report.index if self.report is not None else None

    @property
    def iteration(self) -> Optional[int]:
        return self.report.iteration if self.report is not None else None


@dataclass(eq=False, slots=True)
class TrialCache:
    """What is derived from a Trial and kept with it: never part of what was read, never
    compared or shown. A reader that reads a trial again makes a new Trial, so a stale cache
    goes with the old one; the keys hold the list lengths they were made from, against anyone
    editing the lists in place."""

    # The planner (core/retention): rankings by (attribute, order, Train v2, reports,
    # checkpoints), the reports classified by (attribute, Train v2, reports), each report's
    # metrics, and the checkpoints by report index: (checkpoints, {index: checkpoint}, unreported).
    rankings: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    metrics: Optional[list] = None
    disk_index: Optional[tuple] = None
    # The Tune reader: (reports, checkpoint dirs on disk, warnings) as last read, so a new
    # experiment state can be applied without reading the trial again.
    read: Optional[tuple] = None


@dataclass(eq=False)
class Trial:
    id: str  # directory name relative to the run root ("." for a run that is one trial)
    path: str
    status: Optional[str] = None  # RUNNING, TERMINATED, ERROR, ... where Ray recorded it
    params: dict = field(default_factory=dict)
    reports: list[Report] = field(default_factory=list)  # registration order, history included
    checkpoints: list[Checkpoint] = field(default_factory=list)  # registration order; unreported last
    warnings: list[str] = field(default_factory=list)
    report_count: int = 0  # every result line, with or without a checkpoint
    unregistered: list[Report] = field(default_factory=list)  # rows naming a checkpoint Ray never registered
    # Whether the run may still be writing: untracked checkpoints are never offered for deletion
    # while its state (experiment_state / snapshot) is this fresh, because the state can lag.
    state_fresh: bool = False
    cache: TrialCache = field(default_factory=TrialCache, init=False, repr=False, compare=False)


@dataclass(eq=False)
class Run:
    root: str  # absolute, symlinks resolved
    layout: str
    trials: dict[str, Trial] = field(default_factory=dict)
    run_config: Optional[CheckpointConfig] = None
    warnings: list[str] = field(default_factory=list)  # run-level, not tied to one trial
    leftovers: list[str] = field(default_factory=list)  # interrupted deletions found aside
    # checkpoint path -> ids of the trials Tune would restore from it (each trial's latest
    # checkpoint in the experiment state; after a PBT exploit, one in another trial's dir)
    restore_points: dict[str, list[str]] = field(default_factory=dict)
    # Tune: each trial's checkpoint manager from the newest experiment state, by trial dir
    managers: dict = field(default_factory=dict)
    state_fresh: bool = False  # that state was written within LIVE_SECONDS
    # Tune: each trial's status in the newest experiment state, by trial dir
    statuses: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def checkpoints(self):
        for trial in self.trials.values():
            yield from trial.checkpoints

    @property
    def checkpoint_count(self) -> int:
        return sum(len(t.checkpoints) for t in self.trials.values())

    def all_warnings(self) -> list[str]:
        out = list(self.warnings)
        for trial in self.trials.values():
            out.extend(trial.warnings)
        return out


class RunError(Exception):
    """The directory cannot be read as a run at all (missing, not a Ray run, unreadable)."""


# A checkpoint being deleted is first renamed aside to this hidden name in the same directory,
# so an interrupted deletion never leaves a half-deleted directory under the checkpoint's name.
# The leading dot keeps Ray's own directory scans (which look for "checkpoint_*") away from it.
ASIDE_PREFIX = ".ckpt-tui-deleting."


def is_aside(name: str) -> bool:
    return name.startswith(ASIDE_PREFIX)


# A file ckpt-tui is writing (the Train v2 snapshot's replacement) is first written to
# ".<name>" + TMP_MARK + "<pid>.<random>" in the same directory, then renamed over the name.
# A prune killed in between leaves one: a leftover, listed and removed like the aside dirs.
TMP_MARK = ".ckpt-tui-tmp."


def is_leftover(name: str) -> bool:
    """An aside dir of an interrupted deletion, or a temp file of an interrupted rewrite."""
    return name.startswith(ASIDE_PREFIX) or (name.startswith(".") and TMP_MARK in name)
