"""Every use of watchdog's internals, in one place, each behind a small named function.

watchdog >= 7 shares one inotify instance among all the watches of an inotify observer, read by
one thread (``watchdog.observers.inotify_c.InotifyFD``) that the observer keeps as
``observer._inotify_fd``. The watcher relies on that to watch each trial dir on its own (one
inotify watch each, not one inotify instance each) and to notice when that thread has died.
Neither is public API: ``broken_assumptions()`` checks them against the installed watchdog
(tests/ui/test_compat.py fails with its list, naming what an upgrade broke). Checked with
watchdog 7.1.
"""

from __future__ import annotations

from typing import Any, Optional

from watchdog.observers import Observer

_InotifyFD: Optional[type]
try:  # watchdog >= 7: every watch of one inotify observer shares a single inotify instance
    from watchdog.observers.inotify_c import InotifyFD as _InotifyFD
except ImportError:  # older watchdog, or no inotify here
    _InotifyFD = None


def observer_name() -> str:
    """The class name of the platform's observer (``Observer`` is typed as a union of them)."""
    return getattr(Observer, "__name__", type(Observer).__name__)


def shares_one_inotify() -> bool:
    """Whether the observer watches with inotify and shares one inotify instance among all its
    watches (watchdog >= 7), so a watch per directory costs one inotify watch."""
    return _InotifyFD is not None and observer_name() == "InotifyObserver"


def inotify_reader_alive(observer) -> bool:
    """False when the thread reading the observer's shared inotify instance has ended (events
    stop coming, though the observer thread lives on); True while it runs, or when the
    observer has no such thread."""
    reader = getattr(observer, "_inotify_fd", None)
    return not (reader is not None and hasattr(reader, "is_alive") and not reader.is_alive())


def broken_assumptions() -> list[str]:
    """Each assumption above that the installed watchdog breaks, as a sentence; [] when all
    hold. Starts and stops one observer on no path (Linux only: elsewhere there is no inotify)."""
    broken: list[str] = []
    if _InotifyFD is None:
        return [
            "watchdog.observers.inotify_c.InotifyFD is gone: the per-trial-dir watches "
            "(watch/watcher.py, LEVELS) fall back to one recursive watch"
        ]
    if observer_name() != "InotifyObserver":
        return [f"watchdog's Observer is {observer_name()}, not InotifyObserver, on Linux"]
    observer = Observer()
    reader: Any = getattr(observer, "_inotify_fd", None)
    if not isinstance(reader, _InotifyFD):
        broken.append(
            "InotifyObserver._inotify_fd (the shared InotifyFD) is gone: a dead inotify "
            "reader thread would go unnoticed (no fall back to polling)"
        )
    elif not callable(getattr(reader, "is_alive", None)):
        broken.append("InotifyFD is no longer a thread (is_alive): its death cannot be seen")
    else:
        thread: Any = reader  # an InotifyFD, a threading.Thread
        observer.start()
        try:
            if not (thread.is_alive() and inotify_reader_alive(observer)):
                broken.append("InotifyFD does not run as a thread once the observer starts")
        finally:
            observer.stop()
            observer.join(5)
        thread.join(5)
        if thread.is_alive() or inotify_reader_alive(observer):
            broken.append(
                "InotifyFD's thread outlives its observer's stop(): inotify_reader_alive cannot tell a dead reader"
            )
    return broken
