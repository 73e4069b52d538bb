"""What the session's threads report: typed, frozen events instead of tuples.

A thread body (``Session.reread_loop``, ``ProgressiveRead.run``, ...) calls its ``emit``
callback with one of these; the app wraps it in a Textual message (``ui.messages``) and
handles it in its own thread. None of them holds anything that a later thread mutates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Trial

if TYPE_CHECKING:  # the app imports events before the deletion code is needed
    from ckpt_tui.core.deletion import Request


@dataclass(frozen=True)
class RunLevel:
    """The run-wide part of a read: warnings, interrupted-deletion leftovers, Ray's config."""

    warnings: tuple[str, ...]
    leftovers: tuple[str, ...]
    run_config: Optional[CheckpointConfig]


@dataclass(frozen=True)
class ReadBatch:
    """Trials the progressive reader handed over since the last batch (queued, not posted)."""

    trials: tuple[tuple[str, Trial], ...]
    run_level: Optional[RunLevel]
    finished: bool
    error: Optional[str] = None


@dataclass(frozen=True)
class ReadQueued:
    """Batches wait in the read queue (or the directory count is known): take them."""


@dataclass(frozen=True)
class ReadApplied:
    """What taking the read queue did to the run."""

    trials: int  # trials read so far
    dirs: Optional[int]  # trial dirs seen in the root (None: unknown)
    fresh: bool  # new trials arrived: re-plan
    finished: bool
    error: Optional[str] = None


@dataclass(frozen=True)
class SizesProgressed:
    done: int
    total: int


@dataclass(frozen=True)
class SizesFilled:
    """Every checkpoint known when the pass started has a size."""


@dataclass(frozen=True)
class TrialsChanged:
    """The watcher saw these trials change ("" = run-level: trial dirs, statuses)."""

    changed: frozenset[str]


@dataclass(frozen=True)
class TrialsReread:
    """Trials were re-read from disk; a second event follows once their sizes are known."""

    trial_ids: tuple[str, ...]
    sizes_known: bool


@dataclass(frozen=True)
class RereadFailed:
    error: str


@dataclass(frozen=True)
class WatchState:
    """How the run is watched: 'events', 'polling' or 'off', and why."""

    mode: str
    reason: Optional[str] = None


@dataclass(frozen=True)
class DeletionPrepared:
    """What the user is about to confirm (a core ``deletion.Request``), or why not."""

    request: Optional[Request]
    error: Optional[str] = None


@dataclass(frozen=True)
class DeletionProgressed:
    done: int
    total: int
    path: str
    deleted: bool
    reason: str


@dataclass(frozen=True)
class DeletionFinished:
    deleted: int
    failed: tuple[tuple[str, str], ...]  # (path, reason)
    freed_bytes: int
    error: Optional[str] = None  # execute itself failed
    trial_ids: tuple[str, ...] = field(default_factory=tuple)  # the trials it touched
    total: int = 0  # checkpoints the confirmed request held
    stopped: bool = False  # the user stopped it (quit): the rest was left alone
