"""What a deletion is asked to do and what it did: the request, its items, outcomes; the log's place."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.deletion.fingerprint import Fingerprint
from ckpt_tui.core.model import Checkpoint
from ckpt_tui.core.storage import is_url

STATE_DIR = ".ckpt-tui"  # hidden: Ray's scans look for checkpoint_* / experiment_state-*.json
LOG_NAME = "deletions.jsonl"

CHANGED = "changed since you confirmed"


@dataclass
class Item:
    checkpoint: Checkpoint
    path: str
    trial_id: str
    name: str
    bytes: int
    reason: str  # why the plan deletes it
    fingerprint: Fingerprint
    stale: Optional[str] = None  # already different from what the plan showed, at prepare time

    @property
    def is_symlink(self) -> bool:
        return self.fingerprint.root[2] == "l"


@dataclass
class Request:
    """What the user confirms: the items, fingerprinted at prepare time, and how to re-check."""

    root: str  # the run root, realpath
    layout: str
    config: CheckpointConfig
    pinned: frozenset
    grace_seconds: float
    items: list[Item] = field(default_factory=list)
    delete_untracked: bool = False  # the plan also deletes checkpoints Ray does not track
    created: float = field(default_factory=time.time)

    @property
    def total_bytes(self) -> int:
        return sum(i.bytes for i in self.items)

    @property
    def trials(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.trial_id, None)
        return list(seen)

    @property
    def log_path(self) -> str:
        return default_log_path(self.root)


@dataclass
class Outcome:
    path: str
    trial_id: str
    name: str
    deleted: bool
    reason: str  # deleted: the plan's reason; skipped/failed: why
    bytes: int  # bytes freed (0 unless deleted)
    aside: Optional[str] = None  # set when what is left sits aside, to be cleaned up later


class _Skip(Exception):
    """This item is left alone, for the reason given."""


def default_log_path(root: str) -> str:
    if is_url(root):  # an object store: the local journal (objects cannot be appended to)
        from ckpt_tui.core.deletion_remote import local_journal_path

        return local_journal_path(root)
    return os.path.join(root, STATE_DIR, LOG_NAME)
