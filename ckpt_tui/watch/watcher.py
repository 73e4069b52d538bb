"""RunWatcher: filesystem changes under a run, as debounced batches of changed trial ids.

Two threads of our own, plus watchdog's:

* the batcher waits for changes, lets them settle (``debounce`` seconds of quiet, but never
  longer than ``max_latency`` after the first change of a batch, so a steady storm still
  updates), then calls ``on_batch(ids)``; it also checks that watchdog is still alive and
  falls back to polling if it stopped;
* the poller (polling mode only) scans cheap signatures every ``poll_interval`` seconds.

watchdog's observer (events mode) calls our handler, which only maps the path to a trial id and
adds it to the pending set: a checkpoint of 5,000 files is 5,000 set additions and one batch.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from typing import Callable, Optional

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from ckpt_tui.core.model import TUNE
from ckpt_tui.watch import fs, signatures
from ckpt_tui.watch.paths import RELEVANT_EVENT_TYPES, RUN_LEVEL, PathMapper

log = logging.getLogger(__name__)

EVENTS = "events"
POLLING = "polling"
DEFAULT_FALLBACK_POLL = 2.0
_HEALTH_EVERY = 1.0
_EVENT_FILTER = [
    FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
    DirCreatedEvent, DirDeletedEvent, DirModifiedEvent, DirMovedEvent,
]


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "RunWatcher") -> None:
        self._watcher = watcher
        self._mapper = watcher._mapper

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in RELEVANT_EVENT_TYPES:
            return
        trial_for = self._mapper.trial_for
        is_dir = event.is_directory
        etype = event.event_type
        ids = set()
        tid = trial_for(os.fsdecode(event.src_path), is_dir, etype)
        if tid is not None:
            ids.add(tid)
        dest = getattr(event, "dest_path", "")
        if dest:
            tid = trial_for(os.fsdecode(dest), is_dir, etype)
            if tid is not None:
                ids.add(tid)
        if ids:
            self._watcher._add(ids)


class RunWatcher:
    """Watch ``root`` (a run of the given core ``layout``) and report changed trial ids.

    ``on_batch(ids)`` runs on the watcher's own thread; ids are trial dir names for a Tune
    experiment and ``""`` for run-level changes; for one-trial and Train v2 runs the run's single
    trial id (basename of the resolved root). Pass them to ``core.readers.reread``.

    ``poll_interval`` given forces polling at that interval (``fallback_reason`` stays None).
    Otherwise watchdog is used, and polling every 2 s takes over (with ``fallback_reason`` set)
    when the run is on a network filesystem, the observer can't start, inotify runs out of
    watches, or the observer dies later.

    ``start()`` returns once watching is in place (for events mode, after watchdog has added
    its watches: proportional to the number of directories in the run). Changes made before
    ``start()`` returns are not reported: read the run after starting, or re-read once.
    """

    def __init__(
        self,
        root: str,
        layout: str,
        on_batch: Callable[[set[str]], None],
        debounce: float = 0.25,
        poll_interval: Optional[float] = None,
        max_latency: Optional[float] = None,
    ) -> None:
        if debounce < 0:
            raise ValueError("debounce must be >= 0")
        if poll_interval is not None and poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        self.root = os.path.realpath(root)
        self.layout = layout
        self.on_batch = on_batch
        self.debounce = debounce
        self.max_latency = max_latency if max_latency is not None else max(0.5, 2 * debounce)
        self.poll_interval = poll_interval
        self.mode: Optional[str] = None  # set by start()
        self.fallback_reason: Optional[str] = None
        self.batches = 0  # delivered so far (for tests and benchmarks)
        self._mapper = PathMapper(self.root, layout)
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first = 0.0
        self._last = 0.0
        self._stopping = threading.Event()
        self._observer = None
        self._batcher: Optional[threading.Thread] = None
        self._poller: Optional[threading.Thread] = None
        self._scanner: Optional[signatures.Scanner] = None
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()  # start/stop/mode switches

    # ---- public ---------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("RunWatcher.start() called twice")
            self._started = True
            if self.poll_interval is not None:
                self._start_polling(self.poll_interval, None)
            else:
                reason = self._network_reason()
                if reason is None:
                    reason = self._start_observer()
                if reason is not None:
                    self._start_polling(DEFAULT_FALLBACK_POLL, reason)
            self._batcher = threading.Thread(target=self._run_batcher, name="ckpt-tui-batcher", daemon=True)
            self._batcher.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and join the threads. Idempotent; safe to call from ``on_batch``."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._stopping.set()
            with self._cond:
                self._cond.notify_all()
            observer, self._observer = self._observer, None
        if observer is not None:
            self._stop_observer(observer, timeout)
        me = threading.current_thread()
        for thread in (self._poller, self._batcher):
            if thread is not None and thread is not me:
                thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._started and not self._stopped

    def __enter__(self) -> "RunWatcher":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- events mode -----------------------------------------------------------------------
    def _network_reason(self) -> Optional[str]:
        fstype = fs.filesystem_type(self.root)
        if fs.is_network_fs(fstype):
            return (f"the run is on a network filesystem ({fstype}): changes made on other "
                    f"machines raise no events here; polling every {DEFAULT_FALLBACK_POLL:g} s")
        return None

    def _start_observer(self) -> Optional[str]:
        """Start watchdog; the reason to poll instead, or None when events are flowing."""
        needed = self._watches_needed()
        before = fs.inotify_watch_count()
        observer = Observer()
        try:
            try:
                observer.schedule(_Handler(self), self.root, recursive=True, event_filter=_EVENT_FILTER)
            except TypeError:  # a watchdog without event_filter; the handler filters anyway
                observer.schedule(_Handler(self), self.root, recursive=True)
            observer.start()
        except Exception as exc:  # noqa: BLE001 - any failure means: poll
            self._stop_observer(observer, 2.0)
            return _reason_for(exc)
        # watchdog skips sub-directories it cannot watch without telling: check that at least
        # the root and every trial dir got a watch (inotify only; elsewhere we can't tell).
        if before is not None and needed:
            after = fs.inotify_watch_count(stop_at=before + needed)
            if after is not None and after - before < needed:
                self._stop_observer(observer, 2.0)
                limit = fs.max_user_watches()
                return ("inotify watch limit reached ("
                        + (f"fs.inotify.max_user_watches = {limit}" if limit else "fs.inotify.max_user_watches")
                        + f"); polling every {DEFAULT_FALLBACK_POLL:g} s")
        self._observer = observer
        self.mode = EVENTS
        return None

    def _watches_needed(self) -> int:
        """The watches without which changes would be missed: the root and each trial dir."""
        if "inotify" not in Observer.__name__.lower():
            return 0
        if self.layout != TUNE:
            return 1
        try:
            with os.scandir(self.root) as it:
                return 1 + sum(1 for e in it if not e.name.startswith(".") and _is_dir(e))
        except OSError:
            return 0

    @staticmethod
    def _stop_observer(observer, timeout: float) -> None:
        try:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout)
        except Exception:  # noqa: BLE001
            log.debug("stopping the observer failed", exc_info=True)

    def _observer_alive(self) -> bool:
        observer = self._observer
        if observer is None:
            return True
        if not observer.is_alive():
            return False
        try:
            return all(e.is_alive() for e in observer.emitters)
        except Exception:  # noqa: BLE001
            return True

    def _fall_back_at_runtime(self) -> None:
        with self._lock:
            if self._stopped or self.mode != EVENTS:
                return
            observer, self._observer = self._observer, None
            self._start_polling(DEFAULT_FALLBACK_POLL,
                                "file events stopped (the watchdog observer ended); "
                                f"polling every {DEFAULT_FALLBACK_POLL:g} s")
        if observer is not None:
            self._stop_observer(observer, 1.0)
        # catch up on whatever happened while nobody was listening: everything
        self._add({RUN_LEVEL, *self._all_ids()})

    def _all_ids(self) -> set[str]:
        _run, trials = signatures.Scanner(self.root, self.layout, self._mapper.single_id).scan()
        return set(trials)

    # ---- polling mode ----------------------------------------------------------------------
    def _start_polling(self, interval: float, reason: Optional[str]) -> None:
        self.mode = POLLING
        self.fallback_reason = reason
        self.poll_interval = interval
        scanner = signatures.Scanner(self.root, self.layout, self._mapper.single_id)
        self._scanner = scanner
        baseline = scanner.scan()
        self._poller = threading.Thread(target=self._run_poller, args=(scanner, interval, baseline),
                                        name="ckpt-tui-poller", daemon=True)
        self._poller.start()

    def _run_poller(self, scanner: signatures.Scanner, interval: float, previous: tuple) -> None:
        while not self._stopping.wait(interval):
            try:
                current = scanner.scan()
            except Exception:  # noqa: BLE001 - keep polling
                log.exception("scanning %s failed", self.root)
                continue
            changed = signatures.diff(previous, current)
            previous = current
            if changed:
                self._add(changed)

    # ---- batching ----------------------------------------------------------------------------
    def _add(self, ids: set[str]) -> None:
        now = time.monotonic()
        with self._cond:
            if not self._pending:
                self._first = now
                self._pending.update(ids)
                self._last = now
                self._cond.notify()
            else:
                self._pending.update(ids)
                self._last = now

    def _run_batcher(self) -> None:
        next_health = time.monotonic() + _HEALTH_EVERY
        while not self._stopping.is_set():
            batch = None
            with self._cond:
                now = time.monotonic()
                if self._pending:
                    due = min(self._last + self.debounce, self._first + self.max_latency)
                    if now >= due:
                        batch, self._pending = self._pending, set()
                    else:
                        self._cond.wait(min(due - now, _HEALTH_EVERY))
                else:
                    self._cond.wait(max(0.0, next_health - now))
            if self._stopping.is_set():
                return
            if batch:
                self.batches += 1
                try:
                    self.on_batch(batch)
                except Exception:  # noqa: BLE001 - a failing callback must not stop watching
                    log.exception("on_batch failed for %s", sorted(batch))
            if self.mode == EVENTS and time.monotonic() >= next_health:
                next_health = time.monotonic() + _HEALTH_EVERY
                if not self._observer_alive():
                    self._fall_back_at_runtime()


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _reason_for(exc: BaseException) -> str:
    tail = f"; polling every {DEFAULT_FALLBACK_POLL:g} s"
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "inotify watch limit reached (raise fs.inotify.max_user_watches)" + tail
        if exc.errno == errno.EMFILE:
            return "inotify instance limit reached (raise fs.inotify.max_user_instances)" + tail
        what = exc.strerror or str(exc) or type(exc).__name__
        return f"file events unavailable ({what})" + tail
    text = (str(exc).splitlines() or [""])[0][:120] or type(exc).__name__
    return f"the file observer failed to start ({text})" + tail
