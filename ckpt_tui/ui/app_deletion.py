"""The app's side of the deletion flow: d, the confirm dialog, progress, the result, quitting.

A mixin of ``CheckpointApp``. The flow's state and its thread bodies are the session's
(``session.deletion_flow.DeletionFlow``): ``prepare`` runs in a daemon thread, ``execute`` in a
worker; both report events that come back here as messages.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Optional

from textual import work

from ckpt_tui.core.model import Checkpoint
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.text import terminal_safe
from ckpt_tui.session.deletion_flow import DeletionFlow, failure_lines, progress_text, result_line
from ckpt_tui.ui.format import human_bytes, plural, relative_path, short_trial
from ckpt_tui.ui.messages import DeletionFinished, DeletionPrepared, DeletionProgress
from ckpt_tui.ui.screens.confirm_delete import MAX_PATHS_SHOWN, ConfirmDeleteScreen
from ckpt_tui.ui.screens.quit_deleting import QuitWhileDeletingScreen

if TYPE_CHECKING:  # the checker sees the app's attributes; at run time the MRO is unchanged
    from ckpt_tui.ui.app_host import AppHost as _Base
else:
    _Base = object


class DeletionView(_Base):
    """Mixed into ``CheckpointApp`` (which provides session, notify, push_screen, ...)."""

    def _init_deletion(self) -> None:
        self._quit_question: Optional[QuitWhileDeletingScreen] = None

    @property
    def _flow(self) -> DeletionFlow:
        return self.session.deletion

    # The flow's state, as tests and the launcher read it.
    @property
    def deleting(self) -> bool:
        return self._flow.deleting

    @property
    def delete_running(self) -> bool:
        return self._flow.running

    @property
    def quit_when_stopped(self) -> bool:
        return self._flow.quit_when_stopped

    @property
    def stop_deleting(self) -> threading.Event:
        return self._flow.stop

    def action_delete(self) -> None:
        """Fingerprint what the table marks (a thread), then ask; only a confirm deletes."""
        if self.plan is None:
            return
        if self.deleting:
            self.notify("a deletion is already running")
            return
        if self.reading:
            n, dirs = self.read_progress
            self.notify(
                f"still reading the run ({n:,}{f'/{dirs:,}' if dirs else ''} trials): "
                "delete once every trial is ranked",
                severity="warning",
            )
            return
        plan = self.plan
        filtered = self.trial_filter is not None or self.text_filter.strip()
        doomed = self._flow.select(plan, self.table.rows if filtered else None)
        if not doomed:
            self.notify("nothing in this view is marked ✗ delete")
            return
        self._flow.begin()
        self.activity = f"checking {plural(len(doomed), 'checkpoint')}…"
        self._update_summary()
        # A daemon thread, not a Textual worker: preparing only reads (12 s of checks on
        # 96,000 checkpoints), and quitting meanwhile must not wait for it to finish.
        threading.Thread(target=self._prepare_worker, args=(plan, doomed), name="ckpt-tui-prepare", daemon=True).start()

    def _prepare_worker(self, plan: Plan, doomed: list[Checkpoint]) -> None:
        session = self.session
        self._post_event(self._flow.prepare(plan, doomed, session.grace_seconds, session.pinned))

    def on_deletion_prepared(self, message: DeletionPrepared) -> None:
        self.activity = ""
        self._update_summary()
        request = message.event.request
        if request is None or not request.items:
            self._flow.cancelled()
            self._update_summary()
            why = f"nothing deleted: {message.event.error or 'nothing to delete'}"
            self._log_line(why)
            self.notify(terminal_safe(why), severity="error", markup=False)
            return
        all_doomed = self._flow.all_count
        count = len(request.items)
        scope = "Everything marked ✗ delete in the table" + (
            f" ({count:,} of {all_doomed:,} marked in the run: the view is filtered)."
            if count != all_doomed
            else ", in every trial."
        )
        stale = [i for i in request.items if i.stale]
        if stale:
            scope += f"\n! {len(stale):,} changed since the run was read and will be skipped."
        paths = [  # only what the dialog shows: formatting 96,000 paths would stall a second
            relative_path(i.path, self.run_model.root, "") + (f"  (changed: {i.stale})" if i.stale else "")
            for i in request.items[:MAX_PATHS_SHOWN]
        ]
        trials = [short_trial(t) for t in request.trials]

        def done(confirmed: Optional[bool]) -> None:
            if confirmed:
                self.activity = f"deleting 0/{count:,}"
                self._update_summary()
                self._flow.confirmed(count)
                self._delete_worker(request)
            else:
                self._flow.cancelled()
                self._update_summary()
                self.notify("deletion cancelled: nothing was deleted")

        self.push_screen(
            ConfirmDeleteScreen(
                count=count,
                size=human_bytes(request.total_bytes),
                trials=trials,
                paths=paths,
                scope=scope,
                root=self.shown_root,
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="delete")
    def _delete_worker(self, request) -> None:
        self._post_event(self._flow.execute(request, self._post_event))

    def on_deletion_progress(self, message: DeletionProgress) -> None:
        event = message.event
        self._flow.progressed(event)
        self.activity = progress_text(event.done, event.total, self.quit_when_stopped)
        self._update_summary()

    def on_deletion_finished(self, message: DeletionFinished) -> None:
        event = message.event
        self._flow.finished()
        self.activity = ""
        result = result_line(event)
        self._log_line(result)
        for line in failure_lines(event, self.run_model.root):
            self._log_line(line)
        if self.quit_when_stopped:
            self.exit_lines.append(f"ckpt-tui: {result}")
            # As --prune says them: the log screen goes with the app.
            self.exit_errors.extend(f"ckpt-tui: skipped {path}: {reason}" for path, reason in event.failed)
            self._leave()
            return
        if event.error:
            self.notify(terminal_safe(f"{result} (L: log)"), severity="error", timeout=10, markup=False)
        elif event.failed:
            first_path, first_reason = event.failed[0]
            name = os.path.basename(first_path)
            self.notify(
                terminal_safe(f"{result} (first: {name}: {first_reason}); every reason: L"),
                severity="warning",
                timeout=15,
                markup=False,
            )
        else:
            self.notify(result, markup=False)
        # The watcher will see the directories go too; re-reading now makes the table follow
        # even when nothing watches the run. Only the trials it deleted from: on a big run the
        # others are most of 1,000.
        self.queue_reread(set(event.trial_ids) | {""})

    # ---- quitting while deleting ------------------------------------------------------------
    async def action_quit(self) -> None:
        """q, ctrl+c (and ctrl+q): leave at once, unless a deletion is running: then ask."""
        if not self.delete_running:
            self._leave()
            return
        if self.quit_when_stopped:
            self.notify("stopping after the checkpoint in hand, then quitting")
            return
        if self._quit_question is not None:
            # Asked already and asked again (a second ctrl+c): that is a yes.
            question, self._quit_question = self._quit_question, None
            if question.is_current:
                question.dismiss(True)
            else:
                self._answer_quit(True)
            return
        done, total = self._flow.progress
        self._quit_question = QuitWhileDeletingScreen(f"{done:,} of {total:,} checkpoints done")
        self.push_screen(self._quit_question, self._answer_quit)

    def _answer_quit(self, stop: Optional[bool]) -> None:
        self._quit_question = None
        if not stop:
            return
        if not self.delete_running:  # it ended while the question was open
            self._leave()
            return
        self._flow.stop_and_quit()
        done, total = self._flow.progress
        self.activity = progress_text(done, total, True)
        self._update_summary()
