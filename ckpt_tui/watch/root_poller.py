"""RootPoller: a storage root's experiments and their trials, followed by polling.

A root holds dozens of experiments; following each trial with inotify would take one watch per
trial dir of every experiment (5,001 for 50 experiments of 100 trials, against the default
``fs.inotify.max_user_watches`` of 8,192 on many systems, shared with every other program) and
one idle watchdog thread per watch. One thread polling cheap signatures instead costs no watch at
all: each round lists the root's dirs down to the experiments (``find_experiments``) and scans
each experiment with the same ``signatures.Scanner`` the run watcher polls with (a few ``stat``
calls per trial, listings only of trial dirs that changed). On 50 experiments x 20 trials x 100
checkpoints a round takes tens of milliseconds (README, Performance), so the default interval is
one second.

It also notices the root itself becoming a run (a directory given before Ray wrote anything).
Only the thread calls ``on_change``; the callback must only hand the change over (post a message).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from ckpt_tui.core.storage import is_url
from ckpt_tui.core.storage_root import Experiment, find_experiments, layout_of
from ckpt_tui.watch import signatures
from ckpt_tui.watch.paths import PathMapper

DEFAULT_INTERVAL = 1.0
OBJECT_STORE_INTERVAL = 30.0  # a root on S3/GCS: each round lists the root and each experiment


@dataclass
class RootChange:
    added: list[Experiment] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # rel paths
    changed: dict[str, set[str]] = field(default_factory=dict)  # rel -> trial ids ("" run-level)
    root_is_run: Optional[str] = None  # the root's own layout, once it became a run

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.root_is_run)


class RootPoller:
    def __init__(
        self,
        root: str,
        on_change: Callable[[RootChange], None],
        interval: float = DEFAULT_INTERVAL,
        known: Optional[list[Experiment]] = None,
        watch_root_itself: bool = False,
    ) -> None:
        self.root = root
        self.on_change = on_change
        self.object_store = is_url(root)
        self.interval = max(interval, OBJECT_STORE_INTERVAL) if self.object_store else interval
        self.watch_root_itself = watch_root_itself
        self._experiments: dict[str, Experiment] = {e.rel: e for e in (known or [])}
        self._scanners: dict[str, Any] = {}  # rel -> signatures.Scanner, or object_poll.ObjectScanner
        self._scans: dict[str, tuple] = {}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.last_round_seconds = 0.0  # tests and benchmarks read it

    def _scanner(self, exp: Experiment) -> Any:  # a Scanner or an ObjectScanner: the same scan()
        s = self._scanners.get(exp.rel)
        if s is None:
            single = PathMapper(exp.path, exp.layout).single_id
            if self.object_store:
                from ckpt_tui.watch.object_poll import ObjectScanner

                s = self._scanners[exp.rel] = ObjectScanner(exp.path, exp.layout, single)
            else:
                s = self._scanners[exp.rel] = signatures.Scanner(exp.path, exp.layout, single)
        return s

    def baseline(self) -> None:
        """Scan once without reporting: what is there now is what the caller has read."""
        for exp in self._experiments.values():
            self._scans[exp.rel] = self._scanner(exp).scan()

    def poll_once(self) -> RootChange:
        started = time.perf_counter()
        change = RootChange()
        if self.watch_root_itself:
            layout = layout_of(self.root)
            if layout is not None:
                change.root_is_run = layout
                self.last_round_seconds = time.perf_counter() - started
                return change
        found = {e.rel: e for e in find_experiments(self.root)}
        for rel in list(self._experiments):
            old = self._experiments[rel]
            new = found.get(rel)
            if new is None or new.layout != old.layout or new.path != old.path:
                change.removed.append(rel)
                del self._experiments[rel]
                self._scanners.pop(rel, None)
                self._scans.pop(rel, None)
        for rel, exp in found.items():
            if rel not in self._experiments:
                self._experiments[rel] = exp
                self._scans[rel] = self._scanner(exp).scan()
                change.added.append(exp)
                continue
            current = self._scanner(exp).scan()
            previous = self._scans.get(rel)
            self._scans[rel] = current
            if previous is not None:
                ids = signatures.diff(previous, current)
                if ids:
                    change.changed[rel] = ids
        self.last_round_seconds = time.perf_counter() - started
        return change

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ckpt-tui-root-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                change = self.poll_once()
            except Exception:  # noqa: BLE001 - keep polling; the next round sees it again
                continue
            if change:
                self.on_change(change)
                if change.root_is_run:
                    return

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
