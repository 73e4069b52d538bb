"""Messages that workers and the watcher thread post to the app.

Workers never touch widgets: they post one of these and the app updates the screen in its own
thread. Progress messages replace their queued predecessor, so a burst collapses into one update.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class SizesProgress(Message):
    """Checkpoint sizes are being summed: ``done`` of ``total``."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SizesProgress)


@dataclass
class ReadProgress(Message):
    """The progressive reader has more trials queued for the app (or has finished): the app
    drains its queue. Replaces its queued predecessor, so a busy app takes them in one go."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReadProgress)


@dataclass
class SizesFilled(Message):
    """Every checkpoint known at that time now has a size."""


@dataclass
class RunChanged(Message):
    """The watcher saw these trials change ("" = run-level: trial dirs, statuses)."""

    changed: set[str] = field(default_factory=set)


@dataclass
class RunReread(Message):
    """Trials were re-read from disk; sizes may follow in a second message."""

    trial_ids: list[str]
    sizes_known: bool


@dataclass
class DeletionPrepared(Message):
    """What the user is about to confirm, fingerprinted (a core ``deletion.Request``), or why not."""

    request: object
    error: str | None = None


@dataclass
class DeletionProgress(Message):
    """One checkpoint of a confirmed deletion is done (deleted or refused)."""

    done: int
    total: int
    path: str
    deleted: bool
    reason: str


@dataclass
class DeletionFinished(Message):
    deleted: int
    failed: list[tuple[str, str]]  # (path, reason)
    freed_bytes: int
    error: str | None = None  # the whole deletion could not start (e.g. prepare refused)
    trial_ids: list[str] = field(default_factory=list)  # the trials it touched
    total: int = 0  # checkpoints the confirmed request held
    stopped: bool = False  # the user stopped it (quit): the rest was left alone


@dataclass
class WatchStatus(Message):
    """How the run is being watched: 'events', 'polling', or 'off', and why."""

    mode: str
    reason: str | None = None
