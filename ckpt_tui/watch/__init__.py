"""Filesystem changes under a run as debounced batches of changed trial ids (watchdog, or
polling where events can't be had). Imports core and watchdog, never Textual."""

from ckpt_tui.watch.paths import RUN_LEVEL
from ckpt_tui.watch.watcher import EVENTS, POLLING, RunWatcher

__all__ = ["RunWatcher", "RUN_LEVEL", "EVENTS", "POLLING"]
