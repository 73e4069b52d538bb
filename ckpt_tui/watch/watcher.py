"""RunWatcher: filesystem changes under a run, as debounced batches of changed trial ids.

Two threads of our own, plus watchdog's (watchdog >= 7: one that reads inotify, one that
dispatches, and one idle emitter thread per watched path):

* the batcher waits for changes, lets them settle (``debounce`` seconds of quiet, but never
  longer than ``max_latency`` after the first change of a batch, so a steady storm still
  updates), then calls ``on_batch(ids)``; it also checks that watchdog is still alive and
  falls back to polling if it stopped;
* the poller (polling mode only) scans cheap signatures every ``poll_interval`` seconds.

watchdog's observer (events mode) calls our handler, which maps the path to a trial id and adds
it to the pending set.

What is watched (Linux inotify): only the two levels where everything Ray does shows, each
non-recursively. The run root: trial dirs appearing and going, ``experiment_state-*.json``; for
one-trial and Train v2 runs the checkpoint dirs and ``result.json`` /
``checkpoint_manager_snapshot.json`` themselves. And each trial dir of a Tune experiment:
checkpoint dirs created, deleted or renamed aside, ``result.json`` appends, ``params.json``. A
trial dir gets its watch when it appears in the root and loses it when it goes. Checkpoint dirs
are never watched: Ray writes a checkpoint's files first and appends its ``result.json`` line
(or rewrites the Train v2 snapshot) after, so the final state of every checkpoint is followed by
an event at the level above it, and a checkpoint of 5,000 files costs a handful of events instead
of 5,000. On the reference run (1,000 trials x 100 checkpoints) that is 1,001 inotify watches
instead of 101,001 (and 1,001 idle watchdog emitter threads).

Other observers (macOS FSEvents, Windows) watch recursively natively at no per-directory cost,
and watchdog < 7 opens one inotify instance per scheduled path (``fs.inotify.max_user_instances``
is 128 by default): with those the root is scheduled recursively, as one watch.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

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
from watchdog.observers.api import BaseObserver, EventEmitter

from ckpt_tui.core.model import TUNE
from ckpt_tui.core.storage import is_url, storage_for
from ckpt_tui.watch import fs, signatures
from ckpt_tui.watch.paths import RELEVANT_EVENT_TYPES, RUN_LEVEL, PathMapper
from ckpt_tui.watch.watchdog_compat import inotify_reader_alive, observer_name, shares_one_inotify

log = logging.getLogger(__name__)

EVENTS = "events"
POLLING = "polling"
LEVELS = "levels"  # the root and each trial dir, each watched non-recursively
RECURSIVE = "recursive"  # the root, recursively (where that costs nothing per directory)
DEFAULT_FALLBACK_POLL = 2.0
_HEALTH_EVERY = 1.0
_DIR_CHANGES = frozenset({"created", "deleted", "moved"})
_EVENT_FILTER = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
]


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: RunWatcher) -> None:
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
        if is_dir and etype in _DIR_CHANGES and self._watcher._strategy == LEVELS:
            # A trial dir appeared or went: follow it before the batch can be read, so that
            # anything written in it from now on raises events and anything written before is
            # picked up by the re-read of the trial the batch names.
            ids.update(self._watcher._follow_trial_dirs(event))
        if ids:
            self._watcher.events += 1
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
    its watches: proportional to the number of trial dirs, or, where the root is watched
    recursively, of directories in the run). Changes made before
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
        on_interval: Optional[Callable[[float], None]] = None,
    ) -> None:
        if debounce < 0:
            raise ValueError("debounce must be >= 0")
        if poll_interval is not None and poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        self.is_object_store = is_url(root)  # polled: object stores send no events
        self.root = storage_for(root).realpath(root) if self.is_object_store else os.path.realpath(root)
        self.layout = layout
        self.on_interval = on_interval  # called with the new interval when polling adapts it
        self._object_poller: Optional[Any] = None  # watch/object_poll.AdaptivePoller on an object store
        self.on_batch = on_batch
        self.debounce = debounce
        self.max_latency = max_latency if max_latency is not None else max(0.5, 2 * debounce)
        self.poll_interval = poll_interval
        self.mode: Optional[str] = None  # set by start()
        self.fallback_reason: Optional[str] = None
        self.batches = 0  # delivered so far (for tests and benchmarks)
        self.events = 0  # file events that named a trial or the run (events mode; ditto)
        self._mapper = PathMapper(self.root, layout)
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first = 0.0
        self._last = 0.0
        self._stopping = threading.Event()
        self._observer: Optional[BaseObserver] = None
        self._batcher: Optional[threading.Thread] = None
        self._poller: Optional[threading.Thread] = None
        self._scanner: Optional[signatures.Scanner] = None
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()  # start/stop/mode switches
        self._handler = _Handler(self)
        self._strategy: Optional[str] = None  # LEVELS or RECURSIVE, in events mode
        self._levels_observer: Optional[BaseObserver] = (
            None  # the observer whose trial dir watches the handler keeps up
        )
        self._root_emitter: Optional[EventEmitter] = None
        self._trial_watches: dict[str, object] = {}  # trial dir path -> watchdog ObservedWatch
        self._watches_lock = threading.Lock()  # _trial_watches; never held while calling watchdog
        self._broken: Optional[str] = None  # set when a new trial dir could not be watched

    # ---- public ---------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("RunWatcher.start() called twice")
            self._started = True
            if self.is_object_store:
                self._start_object_polling()
            elif self.poll_interval is not None:
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
        if self._object_poller is not None:
            self._object_poller.stop(timeout)
        me = threading.current_thread()
        for thread in (self._poller, self._batcher):
            if thread is not None and thread is not me:
                thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._started and not self._stopped

    def __enter__(self) -> RunWatcher:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- events mode -----------------------------------------------------------------------
    def _network_reason(self) -> Optional[str]:
        fstype = fs.filesystem_type(self.root)
        if fs.is_network_fs(fstype):
            return (
                f"the run is on a network filesystem ({fstype}): changes made on other "
                f"machines raise no events here; polling every {DEFAULT_FALLBACK_POLL:g} s"
            )
        return None

    def _start_observer(self) -> Optional[str]:
        """Start watchdog; the reason to poll instead, or None when events are flowing."""
        strategy = LEVELS if _levels_supported() else RECURSIVE
        needed = self._watches_needed() if strategy == RECURSIVE else 0
        before = fs.inotify_watch_count()
        observer = Observer()
        self._strategy = strategy
        try:
            if strategy == RECURSIVE:
                self._schedule(observer, self.root, recursive=True)
                observer.start()
            else:
                root_watch = self._schedule(observer, self.root, recursive=False)
                self._root_emitter = next((e for e in list(observer.emitters) if e.watch == root_watch), None)
                # The root first: a trial dir that appears from here on raises an event, and the
                # handler gives it a watch; those listed below get theirs here.
                self._levels_observer = observer
                observer.start()
                for path in self._trial_dirs():
                    reason = self._watch_trial(observer, path)
                    if reason is not None:
                        self._abandon_observer(observer)
                        return reason
                # The watches made, not the dirs listed: a dir gone since the listing (or not
                # ours to watch) gets none, and must not read as the inotify limit.
                with self._watches_lock:
                    needed = 1 + len(self._trial_watches)
        except Exception as exc:  # noqa: BLE001 - any failure means: poll
            self._abandon_observer(observer)
            return _reason_for(exc)
        # watchdog skips sub-directories it cannot watch without telling: check that at least
        # the root and every trial dir got a watch (inotify only; elsewhere we can't tell).
        if before is not None and needed and "inotify" in observer_name().lower():
            after = fs.inotify_watch_count(stop_at=before + needed)
            if after is not None and after - before < needed:
                self._abandon_observer(observer)
                return _limit_reason()
        self._observer = observer
        self.mode = EVENTS
        return None

    def _abandon_observer(self, observer) -> None:
        self._levels_observer = None
        self._root_emitter = None
        with self._watches_lock:
            self._trial_watches.clear()
        self._stop_observer(observer, 2.0)

    def _schedule(self, observer, path: str, recursive: bool, follow_symlink: bool = False):
        kwargs = {"recursive": recursive, "event_filter": _EVENT_FILTER}
        if follow_symlink:
            kwargs["follow_symlink"] = True
        try:
            return observer.schedule(self._handler, path, **kwargs)
        except TypeError:  # a watchdog without event_filter; the handler filters anyway
            return observer.schedule(self._handler, path, recursive=recursive)

    def _trial_dirs(self) -> list[str]:
        """The dirs of the root that get a watch of their own: every non-hidden dir of a Tune
        experiment (trial dirs; a stray dir such as driver_artifacts/ costs one watch)."""
        if self.layout != TUNE:
            return []
        with os.scandir(self.root) as it:
            return [e.path for e in it if not e.name.startswith(".") and _is_dir(e)]

    def _watch_trial(self, observer, path: str) -> Optional[str]:
        """Give a trial dir its non-recursive watch; the reason to poll instead, or None (also
        when the dir is gone already or is no dir we may watch: there is nothing to miss)."""
        try:
            watch = self._schedule(observer, path, recursive=False, follow_symlink=os.path.islink(path))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.EPERM):
                return None
            return _limit_reason() if exc.errno == errno.ENOSPC else _reason_for(exc)
        except Exception as exc:  # noqa: BLE001
            return _reason_for(exc)
        with self._watches_lock:
            self._trial_watches[path] = watch
        return None

    def _unwatch_trial(self, observer, path: str) -> None:
        with self._watches_lock:
            watch = self._trial_watches.pop(path, None)
        if watch is None:
            return
        try:
            observer.unschedule(watch)
        except Exception:  # already gone (unscheduled, or the observer stopping)
            log.debug("unscheduling %s failed", path, exc_info=True)

    def _follow_trial_dirs(self, event: FileSystemEvent) -> set[str]:
        """Called by the handler (observer thread) for a dir created, deleted or moved: keep the
        trial dir watches in step with the root. Returns the trial ids to add to the batch."""
        observer = self._levels_observer
        if observer is None:
            return set()
        trial_dir_name = self._mapper.trial_dir_name
        src = os.fsdecode(event.src_path)
        etype = event.event_type
        if etype in ("deleted", "moved") and trial_dir_name(src) is not None:
            self._unwatch_trial(observer, src)
        target = src if etype == "created" else os.fsdecode(getattr(event, "dest_path", "") or "")
        name = trial_dir_name(target) if etype != "deleted" and target else None
        if name is None:
            return set()
        reason = self._watch_trial(observer, target)
        if reason is not None and self._broken is None:
            self._broken = reason  # the batcher switches to polling at its next health check
            with self._cond:
                self._cond.notify()
        return {name}

    @property
    def watched_paths(self) -> list[str]:
        """The paths watchdog watches for us, each with its own inotify watch (events mode, levels
        strategy: the root and every trial dir); ``[root]`` for a recursive watch; [] when
        polling."""
        if self.mode != EVENTS or self._observer is None:
            return []
        if self._strategy != LEVELS:
            return [self.root]
        with self._watches_lock:
            return [self.root, *sorted(self._trial_watches)]

    def _watches_needed(self) -> int:
        """Recursive strategy: the watches without which changes would be missed, the root and
        each trial dir (watchdog adds the rest without telling us when it can't)."""
        if "inotify" not in observer_name().lower():
            return 0
        if self.layout != TUNE:
            return 1
        try:
            return 1 + len(self._trial_dirs())
        except OSError:
            return 0

    @staticmethod
    def _stop_observer(observer, timeout: float) -> None:
        try:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout)
        except Exception:
            log.debug("stopping the observer failed", exc_info=True)

    def _observer_alive(self) -> bool:
        observer = self._observer
        if observer is None:
            return True
        if not observer.is_alive():
            return False
        if self._strategy == LEVELS:
            # A trial dir's watch ends with its dir (we drop it then); the root's must not end.
            # Nor may the thread that reads the observer's inotify instance (watchdog >= 7).
            if not inotify_reader_alive(observer):
                return False
            return self._root_emitter is None or self._root_emitter.is_alive()
        try:
            return all(e.is_alive() for e in list(observer.emitters))
        except Exception:  # noqa: BLE001
            return True

    def _fall_back_at_runtime(self, reason: Optional[str] = None) -> None:
        with self._lock:
            if self._stopped or self.mode != EVENTS:
                return
            observer, self._observer = self._observer, None
            self._levels_observer = None
            self._start_polling(
                DEFAULT_FALLBACK_POLL,
                reason
                or (f"file events stopped (the watchdog observer ended); polling every {DEFAULT_FALLBACK_POLL:g} s"),
            )
        if observer is not None:
            self._stop_observer(observer, 1.0)
        with self._watches_lock:
            self._trial_watches.clear()
        # catch up on whatever happened while nobody was listening: everything
        self._add({RUN_LEVEL, *self._all_ids()})

    def _all_ids(self) -> set[str]:
        _run, trials = signatures.Scanner(self.root, self.layout, self._mapper.single_id).scan()
        return set(trials)

    def poll_now(self) -> None:
        """Look for changes now (the app's refresh key): an object store is polled at once;
        on a local disk every trial is re-read."""
        if self._object_poller is not None:
            self._object_poller.poll_now()
        elif self.running:
            self._add({RUN_LEVEL, *self._all_ids()})

    # ---- object stores -----------------------------------------------------------------------
    def _start_object_polling(self) -> None:
        from ckpt_tui.watch.object_poll import MIN_INTERVAL, AdaptivePoller, ObjectScanner

        self.mode = POLLING
        low = self.poll_interval or MIN_INTERVAL
        self.fallback_reason = (
            f"the run is on an object store: polling every {low:g}-{max(low, 60):g} s "
            "(longer while nothing changes; R polls now)"
        )

        def changed(interval: float) -> None:
            self.poll_interval = interval
            if self.on_interval is not None:
                self.on_interval(interval)

        poller = AdaptivePoller(
            ObjectScanner(self.root, self.layout, self._mapper.single_id),
            self._add,
            changed,
            min_interval=low,
            max_interval=max(low, 60.0),
        )
        self.poll_interval = poller.interval
        self._object_poller = poller
        poller.start()

    # ---- polling mode ----------------------------------------------------------------------
    def _start_polling(self, interval: float, reason: Optional[str]) -> None:
        self.mode = POLLING
        self.fallback_reason = reason
        self.poll_interval = interval
        scanner = signatures.Scanner(self.root, self.layout, self._mapper.single_id)
        self._scanner = scanner
        baseline = scanner.scan()
        self._poller = threading.Thread(
            target=self._run_poller, args=(scanner, interval, baseline), name="ckpt-tui-poller", daemon=True
        )
        self._poller.start()

    def _run_poller(self, scanner: signatures.Scanner, interval: float, previous: tuple) -> None:
        while not self._stopping.wait(interval):
            try:
                current = scanner.scan()
            except Exception:  # keep polling
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
                except Exception:  # a failing callback must not stop watching
                    log.exception("on_batch failed for %s", sorted(batch))
            if self.mode == EVENTS and self._broken is not None:
                self._fall_back_at_runtime(self._broken)
            elif self.mode == EVENTS and time.monotonic() >= next_health:
                next_health = time.monotonic() + _HEALTH_EVERY
                if not self._observer_alive():
                    self._fall_back_at_runtime()


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _levels_supported() -> bool:
    """Whether the observer watches with inotify and shares one inotify instance among all its
    watches (watchdog >= 7), so that a watch per trial dir costs one inotify watch (and an idle
    emitter thread), not an inotify instance of its own. Elsewhere the root is watched recursively (see the module docstring)."""
    return shares_one_inotify()


def _limit_reason() -> str:
    limit = fs.max_user_watches()
    return (
        "inotify watch limit reached ("
        + (f"fs.inotify.max_user_watches = {limit}" if limit else "fs.inotify.max_user_watches")
        + f"); polling every {DEFAULT_FALLBACK_POLL:g} s"
    )


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
