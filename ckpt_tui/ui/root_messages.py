"""Messages that the storage root's workers and poller post to the overview screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from textual.message import Message

from ckpt_tui.core.model import Run
from ckpt_tui.core.storage_root import Experiment


@dataclass
class ExperimentRead(Message):
    """One experiment of the root was read (``run``), or could not be (``error``)."""

    exp: Experiment
    run: Optional[Run]
    error: Optional[str] = None


@dataclass
class ExperimentReread(Message):
    """Trials of an experiment already read were re-read in place after a change."""

    rel: str


@dataclass
class RootPolled(Message):
    """The root poller found changes; the screen takes them from the root state."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RootPolled)


@dataclass
class RootDeletionPrepared(Message):
    """Every experiment's deletion request was checked (fingerprinted): ask, then delete."""

    requests: list  # (rel, Request)
    error: Optional[str] = None


@dataclass
class RootDeletionProgress(Message):
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RootDeletionProgress)


@dataclass
class RootDeletionFinished(Message):
    deleted: int
    freed_bytes: int
    failed: list = field(default_factory=list)  # (path, reason)
    trials: dict = field(default_factory=dict)  # rel -> trial ids deleted from
    error: Optional[str] = None
