"""The storage root's deletion: what every experiment's plan marks, after one confirmation that
gives the count per experiment, through the same safe deletion as everywhere. A mixin of
``OverviewScreen``; the deletion stops between two checkpoints once the screen goes, so none
outlives the app."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Optional

from textual import work

from ckpt_tui.core.text import terminal_safe
from ckpt_tui.core.units import plural
from ckpt_tui.ui.format import human_bytes, short_trial
from ckpt_tui.ui.root_messages import RootDeletionFinished, RootDeletionPrepared, RootDeletionProgress
from ckpt_tui.ui.screens.confirm_delete import MAX_PATHS_SHOWN, ConfirmDeleteScreen

if TYPE_CHECKING:
    import queue
    import threading

    from textual.screen import Screen

    from ckpt_tui.core.retention import Plan

    class _Base(Screen):
        """What ``OverviewScreen`` provides, for the type checker only."""

        state: Any
        plans: dict[str, Plan]
        _stale: set[str]
        _tasks: queue.Queue
        deleting: bool
        stop_deleting: threading.Event
        activity: str
        grace_seconds: float

        def _update_summary(self) -> None: ...
else:
    _Base = object


class RootDeletion(_Base):
    def action_delete(self) -> None:
        if self.deleting:
            self.app.notify("a deletion is already running")
            return
        if len(self.state.entries) < len(self.state.found) or self._stale:
            self.app.notify(
                "still reading or ranking the experiments: delete once every row shows its figures", severity="warning"
            )
            return
        todo = [(rel, p) for rel, p in sorted(self.plans.items()) if p.delete_count]
        if not todo:
            self.app.notify("nothing in any experiment is marked ✗ delete")
            return
        self.deleting = True
        self.activity = f"checking {sum(p.delete_count for _, p in todo):,} checkpoints…"
        self._update_summary()
        self._prepare_worker(todo)

    @work(thread=True, exclusive=True, group="root-delete")
    def _prepare_worker(self, todo) -> None:
        from ckpt_tui.core.deletion import prepare

        requests = []
        try:
            for rel, p in todo:
                requests.append((rel, prepare(p, p.to_delete(), grace_seconds=self.grace_seconds)))
        except Exception as exc:  # noqa: BLE001 - refused as a whole: nothing was touched
            self.post_message(RootDeletionPrepared([], f"{rel}: {exc}"))
            return
        self.post_message(RootDeletionPrepared(requests))

    def on_root_deletion_prepared(self, message: RootDeletionPrepared) -> None:
        self.activity = ""
        requests = [(rel, r) for rel, r in message.requests if r.items]
        if not requests:
            self.deleting = False
            self._update_summary()
            self.app.notify(
                terminal_safe(f"nothing deleted: {message.error or 'nothing to delete'}"),
                severity="error",
                markup=False,
            )
            return
        count = sum(len(r.items) for _, r in requests)
        size = sum(r.total_bytes for _, r in requests)
        per = " · ".join(f"{terminal_safe(rel)}: {len(r.items):,}" for rel, r in requests)
        scope = (
            f"Everything marked ✗ delete, in {len(requests)} experiment{'s' if len(requests) != 1 else ''} "
            f"of the root, each under its config: {per}."
        )
        stale = sum(1 for _, r in requests for i in r.items if i.stale)
        if stale:
            scope += f"\n! {stale} changed since the run was read and will be skipped."
        paths: list[str] = []
        for rel, r in requests:
            for item in r.items:
                if len(paths) >= MAX_PATHS_SHOWN:
                    break
                paths.append(os.path.join(rel, os.path.relpath(item.path, r.root)))
        trials = [f"{rel}/{short_trial(t)}" for rel, r in requests for t in r.trials]

        def done(confirmed: Optional[bool]) -> None:
            if confirmed:
                self.activity = f"deleting 0/{count:,}"
                self._update_summary()
                self._delete_worker(requests, count)
            else:
                self.deleting = False
                self._update_summary()
                self.app.notify("deletion cancelled: nothing was deleted")

        self.app.push_screen(
            ConfirmDeleteScreen(count=count, size=human_bytes(size), trials=trials, paths=paths, scope=scope), done
        )

    @work(thread=True, exclusive=True, group="root-delete")
    def _delete_worker(self, requests, total: int) -> None:
        from ckpt_tui.core.deletion import execute

        deleted = freed = done = 0
        failed: list = []
        shown = 0.0
        trials: dict = {}
        try:
            for rel, request in requests:
                if self.stop_deleting.is_set():
                    break
                trials[rel] = list(request.trials)
                for outcome in execute(request):  # a checkpoint is whole or gone when it comes back
                    done += 1
                    if outcome.deleted:
                        deleted += 1
                        freed += outcome.bytes or 0
                    else:
                        failed.append((outcome.path, outcome.reason))
                    if self.stop_deleting.is_set():  # the overview is gone: stop between checkpoints
                        break
                    now = time.monotonic()
                    if now - shown >= 0.1 or done == total:
                        shown = now
                        self.post_message(RootDeletionProgress(done, total))
        except Exception as exc:  # noqa: BLE001 - execute promises not to raise; if it does, say so in one line
            self.post_message(
                RootDeletionFinished(deleted, freed, failed, trials, error=str(exc) or type(exc).__name__)
            )
            return
        self.post_message(RootDeletionFinished(deleted, freed, failed, trials))

    def on_root_deletion_progress(self, message: RootDeletionProgress) -> None:
        self.activity = f"deleting {message.done:,}/{message.total:,}"
        self._update_summary()

    def on_root_deletion_finished(self, message: RootDeletionFinished) -> None:
        self.deleting = False
        self.activity = ""
        if message.error:
            self.app.notify(
                terminal_safe(f"deletion stopped after {message.deleted:,}: {message.error}"),
                severity="error",
                timeout=10,
                markup=False,
            )
        else:
            text = (
                f"deleted {plural(message.deleted, 'checkpoint')} in "
                f"{plural(len(message.trials), 'experiment')}, "
                f"freed {human_bytes(message.freed_bytes)}"
            )
            if message.failed:
                path, reason = message.failed[0]
                text += f"; {len(message.failed):,} not deleted (first: {os.path.basename(path)}: {reason})"
            self.app.notify(
                terminal_safe(text), severity="warning" if message.failed else "information", timeout=10, markup=False
            )
        for rel, ids in message.trials.items():
            self._tasks.put(("reread", rel, set(ids) | {""}))
        self._update_summary()
