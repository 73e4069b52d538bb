"""Which trial a changed path belongs to, for each of Ray's layouts.

Batch ids, as ``ckpt_tui.core.readers.reread`` takes them:

* Tune experiment (``TUNE``): the first path component under the run root, that is the trial
  dir name, for anything at or below a trial dir; ``""`` (run level) for files directly in the
  root (``experiment_state-*.json``, ``basic-variant-state-*.json``, ...) and for trial dirs
  that appear, vanish or are renamed.
* One trial (``TUNE_TRIAL``) and Train v2 (``TRAIN_V2``): the run's single trial id, the
  basename of the resolved root (``reread`` re-reads the whole run for these layouts anyway).

Paths inside a checkpoint that is being deleted (renamed aside to ``.ckpt-tui-deleting.*``) are
ignored: removing its files one by one is our own doing and says nothing new. The rename aside
and the removal of the aside dir itself still count, so a deletion still yields a batch for its
trial.
"""

from __future__ import annotations

import os
from typing import Optional

from ckpt_tui.core.model import ASIDE_PREFIX, TUNE, is_aside

RUN_LEVEL = ""

# watchdog event types that say something changed. Opened / closed-without-write / attrib
# are left out: our own reads would otherwise wake us up in a loop.
RELEVANT_EVENT_TYPES = frozenset({"created", "deleted", "modified", "moved", "closed"})


class PathMapper:
    def __init__(self, root: str, layout: str) -> None:
        self.root = root.rstrip(os.sep) or os.sep
        self.prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        self.layout = layout
        self.single_id = os.path.basename(self.root)

    def trial_dir_name(self, path: str) -> Optional[str]:
        """The name of ``path`` when it is a candidate trial dir of a Tune experiment: directly in
        the root and not hidden (``.ckpt-tui-deleting.*`` asides and the like). None otherwise, and
        always None for the one-trial layouts, whose checkpoints sit in the root itself."""
        if self.layout != TUNE or not path.startswith(self.prefix):
            return None
        name = path[len(self.prefix) :]
        if not name or os.sep in name or name.startswith("."):
            return None
        return name

    def trial_for(self, path: str, is_directory: bool, event_type: str) -> Optional[str]:
        """The batch id for a change at ``path``; None when it is not worth a re-read."""
        if not path.startswith(self.prefix):
            if path == self.root and event_type in ("deleted", "moved"):
                return RUN_LEVEL if self.layout == TUNE else self.single_id
            return None
        rel = path[len(self.prefix) :]
        if ASIDE_PREFIX in rel:
            parts = rel.split(os.sep)
            # inside an aside dir (not the aside entry itself): our own removal in progress
            if any(is_aside(p) for p in parts[:-1]):
                return None
        if self.layout != TUNE:
            return self.single_id
        first, sep, _rest = rel.partition(os.sep)
        if not first:
            return None
        if sep:  # below a trial dir
            if first.startswith("."):
                return None  # hidden dirs in the root are never trials
            return first
        # directly in the root
        if is_directory and event_type in ("modified", "closed"):
            # the trial dir's own entries changed (watchdog reports this next to the entry's
            # own event); a hidden dir is not a trial
            return None if first.startswith(".") else first
        return RUN_LEVEL
