"""Cheap signatures of a run's state for polling: compare two scans to see which trials changed.

A scan never walks checkpoint contents. Per trial it costs a few ``stat`` calls: the trial dir
itself (its mtime moves whenever an entry is added, removed or renamed: a new checkpoint, one
deleted by Ray, one renamed aside), ``result.json`` / ``params.json`` (size, mtime), and the two
newest checkpoint dirs (the one Ray may still be writing files into). The dir is listed again
only when its mtime moved, or when it is so recent that a filesystem with coarse timestamps
could hide a second change in the same tick. On 1,000 trials x 100 checkpoints that is about
5,000 stats per scan and a listing of the few trials being written to.

Ray writes a checkpoint dir first and appends its ``result.json`` line after, so the final state
of every checkpoint is followed by a change the scan sees.
"""

from __future__ import annotations

import os
import time
from typing import Optional

from ckpt_tui.core.disk import SETTLED_NS
from ckpt_tui.core.model import TUNE
from ckpt_tui.core.ray_names import TRIAL_STATE_FILES, is_checkpoint_name
from ckpt_tui.core.storage import LOCAL
from ckpt_tui.watch.paths import RUN_LEVEL

_STAT_FILES = TRIAL_STATE_FILES
_NEWEST = 2
_RECENT_NS = SETTLED_NS  # re-list a dir whose mtime is this close to now

Signature = tuple
Scan = tuple  # (run-level signature, {trial id: signature})


def _stat_sig(path: str, stat=None) -> Optional[tuple]:
    try:
        st = (stat or LOCAL.stat)(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class Scanner:
    """Scans a run; remembers each dir's listing to skip re-listing dirs that did not change."""

    def __init__(self, root: str, layout: str, single_id: str) -> None:
        self.root = root
        self.layout = layout
        self.single_id = single_id
        self._listings: dict[str, tuple[int, frozenset, tuple]] = {}  # path -> (mtime_ns, names, newest)
        self.listed = 0  # dirs listed by the last scan (for tests and benchmarks)
        # A local run (an object store's run is polled by watch/object_poll.py instead)
        self._fs = LOCAL

    def dir_signature(self, path: str, mtime_ns: Optional[int] = None, now_ns: int = 0) -> Optional[Signature]:
        """One trial dir (or a single-trial / Train v2 run root); None when it is gone."""
        fs = self._fs
        if mtime_ns is None:
            try:
                mtime_ns = fs.stat(path).st_mtime_ns
            except OSError:
                self._listings.pop(path, None)
                return None
        known = self._listings.get(path)
        if known is not None and known[0] == mtime_ns and now_ns - mtime_ns > _RECENT_NS:
            names, newest_names = known[1], known[2]
        else:
            try:
                with fs.scandir(path) as it:
                    names = frozenset(e.name for e in it)
            except OSError:
                self._listings.pop(path, None)
                return None
            self.listed += 1
            ckpts = sorted((n for n in names if is_checkpoint_name(n)), key=lambda n: (len(n), n))
            newest_names = tuple(ckpts[-_NEWEST:])
            self._listings[path] = (mtime_ns, names, newest_names)
        stat = fs.stat
        stats = tuple(_stat_sig(os.path.join(path, n), stat) if n in names else None for n in _STAT_FILES)
        newest = tuple((n, _stat_sig(os.path.join(path, n), stat)) for n in newest_names)
        return (names, stats, newest)

    def scan(self) -> Scan:
        self.listed = 0
        now_ns = time.time_ns()
        if self.layout != TUNE:
            sig = self.dir_signature(self.root, None, now_ns)
            return (sig is not None, {self.single_id: sig} if sig is not None else {})
        try:
            with self._fs.scandir(self.root) as it:
                entries = list(it)
        except OSError:
            self._listings.clear()
            return None, {}
        run_items: list[tuple[str, bool, Optional[tuple[int, int]]]] = []
        trials: dict[str, Signature] = {}
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            is_dir = entry.is_dir(follow_symlinks=True)
            if is_dir:
                run_items.append((entry.name, True, None))
                if not entry.name.startswith("."):
                    sig = self.dir_signature(entry.path, st.st_mtime_ns, now_ns)
                    if sig is not None:
                        trials[entry.name] = sig
            else:
                run_items.append((entry.name, False, (st.st_size, st.st_mtime_ns)))
        if len(self._listings) > len(trials) + 16:  # forget dirs that are gone
            keep = {os.path.join(self.root, t) for t in trials}
            self._listings = {p: v for p, v in self._listings.items() if p in keep}
        return frozenset(run_items), trials


def diff(old: Scan, new: Scan) -> set[str]:
    """The batch ids that differ between two scans."""
    old_run, old_trials = old
    new_run, new_trials = new
    changed: set[str] = set()
    if old_run != new_run:
        changed.add(RUN_LEVEL)
    for tid, sig in new_trials.items():
        if old_trials.get(tid) != sig:
            changed.add(tid)
    for tid in old_trials.keys() - new_trials.keys():
        changed.add(tid)
        changed.add(RUN_LEVEL)
    return changed
