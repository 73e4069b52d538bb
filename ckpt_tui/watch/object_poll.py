"""Watching a run on an object store: polling (object stores send no events), cheap while
nothing changes.

Each poll asks, in this order, only what moves when Ray registers anything:

* Tune experiment: one listing of the run's prefix with a delimiter (the experiment state
  files with their ETags, and the trial prefixes: a trial appearing or going). Only when the
  newest ``experiment_state-*.json`` has a new ETag is it read (one GET), and only the trials
  whose entry in it changed are reported (and then re-listed by the reader). ``result.json`` of
  the trials that state says are RUNNING is HEADed, at most every ``RESULT_EVERY`` seconds and
  only while the state is live (written in the last ``LIVE_SECONDS``, the reader's rule), for
  reports the driver has not written to the state yet;
* one trial, or a Train v2 run: one listing of the run's prefix with a delimiter (its
  ``result.json`` / ``checkpoint_manager_snapshot.json`` ETags, its checkpoint prefixes).

The interval adapts: ``MIN_INTERVAL`` after a change, then 1.5 times longer after each quiet
poll, up to ``MAX_INTERVAL``; ``poll_now()`` polls at once (the app's ``R``). An idle run of
1,000 trials costs the root listing (2 pages) per poll: 2 requests a minute at the longest
interval (README: requests per minute, measured).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

from ckpt_tui.core.model import TUNE
from ckpt_tui.core.ray_names import RESULT, newest_experiment_state
from ckpt_tui.core.readers.tune import LIVE_SECONDS
from ckpt_tui.core.storage import storage_for
from ckpt_tui.watch.paths import RUN_LEVEL

MIN_INTERVAL = 5.0
MAX_INTERVAL = 60.0
BACKOFF = 1.5
RESULT_EVERY = 30.0  # seconds between two HEADs of a RUNNING trial's result.json


class ObjectScanner:
    """Scans (run-level signature, {trial id: signature}) as watch/signatures.Scanner does, with
    the requests above."""

    def __init__(self, root: str, layout: str, single_id: str) -> None:
        self.root = root
        self.layout = layout
        self.single_id = single_id
        self.fs: Any = storage_for(root)  # an FsspecStore: its *_fresh calls skip the listing cache
        self._state_etag: Optional[str] = None
        self._entries: dict[str, str] = {}  # trial id -> its raw trial_data entry
        self._statuses: dict[str, str] = {}
        self._results: dict[str, Optional[tuple]] = {}  # trial id -> result.json (size, etag)
        self._results_at = 0.0
        self._mtimes: dict[str, float] = {}

    def _listing(self, path: str) -> dict:
        with self.fs.scandir_fresh(path) as it:
            listing = {e.name: (e.is_dir(), e.size, e.etag) for e in it}
            self._mtimes = {e.name: e.mtime for e in it}
            return listing

    def scan(self):
        if self.layout != TUNE:
            try:
                names = self._listing(self.root)
            except OSError:
                return None, {}
            sig = frozenset((n, d, None if d else (s, t)) for n, (d, s, t) in names.items())
            return True, {self.single_id: sig}
        try:
            names = self._listing(self.root)
        except OSError:
            return None, {}
        newest = newest_experiment_state(n for n, (d, _s, _t) in names.items() if not d)
        state_sig = names[newest][2] if newest else None
        if newest is not None and state_sig != self._state_etag:
            self._read_state(f"{self.root}/{newest}")
            self._state_etag = state_sig
        trial_ids = sorted(n for n, (d, _s, _t) in names.items() if d and not n.startswith("."))
        now = time.monotonic()
        # As the reader decides (readers/tune.py): RUNNING counts only while the driver keeps
        # writing the state; an older state is a run that stopped, whatever it says
        live = newest is not None and time.time() - self._mtimes.get(newest, 0.0) < LIVE_SECONDS
        if live and now - self._results_at >= RESULT_EVERY:
            self._results_at = now
            for tid in trial_ids:
                if self._statuses.get(tid) == "RUNNING":
                    st = None
                    try:
                        st = self.fs.stat_fresh(f"{self.root}/{tid}/{RESULT}")
                    except OSError:
                        pass
                    self._results[tid] = (st.st_size, st.etag) if st is not None else None
        run_sig = frozenset(
            (n, d, None if d else (s, t)) for n, (d, s, t) in names.items() if not d or n.startswith(".")
        )
        trials = {tid: (self._entries.get(tid), self._results.get(tid)) for tid in trial_ids}
        return (run_sig, frozenset(trial_ids)), trials

    def _read_state(self, path: str) -> None:
        try:  # its new ETag is in the listing just made: one GET, kept for the reader by ETag
            data = json.loads(self.fs.read_file(path))
        except Exception:  # noqa: BLE001 - gone, unreadable or not JSON: the next poll looks again
            return
        entries: dict[str, str] = {}
        statuses: dict[str, str] = {}
        for item in data.get("trial_data", []) if isinstance(data, dict) else []:
            try:
                info = json.loads(item[0])
                rel = info["relative_logdir"]
            except Exception:  # noqa: BLE001 - a malformed entry: the reader warns about it
                continue
            if isinstance(rel, str):
                entries[rel] = json.dumps(item, sort_keys=True)
                if isinstance(info.get("status"), str):
                    statuses[rel] = info["status"]
        self._entries = entries
        self._statuses = statuses


def diff(old, new) -> set[str]:
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


class AdaptivePoller:
    """Polls ``scanner`` on its own thread with the adaptive interval; ``on_change(ids)``."""

    def __init__(
        self,
        scanner: ObjectScanner,
        on_change: Callable[[set], None],
        on_interval: Optional[Callable[[float], None]] = None,
        min_interval: float = MIN_INTERVAL,
        max_interval: float = MAX_INTERVAL,
    ) -> None:
        self.scanner = scanner
        self.on_change = on_change
        self.on_interval = on_interval
        self.min_interval = min_interval
        self.max_interval = max(max_interval, min_interval)
        self.interval = min_interval
        self.polls = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._previous = scanner.scan()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ckpt-tui-object-poller", daemon=True)
        self._thread.start()

    def poll_now(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            forced = self._wake.wait(self.interval)
            self._wake.clear()
            if forced:
                self.scanner._results_at = 0.0  # RUNNING trials' result.json are asked now
            if self._stop.is_set():
                return
            try:
                current = self.scanner.scan()
            except Exception:  # noqa: BLE001 - keep polling: the store may answer next time
                current = self._previous
            self.polls += 1
            changed = diff(self._previous, current)
            self._previous = current
            if forced:  # the user asked: the run level is re-read too (new trial prefixes)
                changed = changed | {RUN_LEVEL}
            before = self.interval
            self.interval = self.min_interval if changed else min(self.interval * BACKOFF, self.max_interval)
            if changed:
                self.on_change(changed)
            if self.interval != before and self.on_interval is not None:
                try:
                    self.on_interval(self.interval)
                except Exception:  # noqa: BLE001 - a failing callback must not stop polling
                    pass
