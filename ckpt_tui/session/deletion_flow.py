"""The deletion flow: select what the view marks, prepare (fingerprint), confirm, execute.

States: idle -> ``deleting`` (from d: checking, confirming, deleting) -> ``running`` (confirmed,
removing checkpoints) -> idle. ``stop`` is the flag the execute loop looks at between two
checkpoints; whatever ends the app sets it, so no deletion outlives it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Optional

from ckpt_tui.core.model import Checkpoint
from ckpt_tui.core.retention import Plan
from ckpt_tui.core.units import human_bytes
from ckpt_tui.session.events import DeletionFinished, DeletionPrepared, DeletionProgressed

if TYPE_CHECKING:  # imported where used: the deletion code loads when a deletion starts
    from ckpt_tui.core.deletion import Request

PROGRESS_SECONDS = 0.1  # a deletion's progress is reported at most this often


class DeletionFlow:
    def __init__(self) -> None:
        self.deleting = False  # from d until the deletion ends (checking, confirming, deleting)
        self.running = False  # a confirmed deletion is removing checkpoints
        self.stop = threading.Event()  # set: the deletion stops after the checkpoint in hand
        self.quit_when_stopped = False  # the user chose to stop the deletion and quit
        self.progress = (0, 0)  # (done, total) of the running deletion
        self.all_count = 0  # checkpoints the plan marks in the whole run (the view may show fewer)

    # ---- app thread --------------------------------------------------------------------------
    def select(self, plan: Plan, shown: Optional[Collection[Checkpoint]]) -> list[Checkpoint]:
        """What the plan marks ✗ delete, within the rows ``shown`` when the view is filtered."""
        doomed = plan.to_delete()
        self.all_count = plan.delete_count
        if shown is not None:
            keep = set(shown)  # Checkpoints hash by identity
            doomed = [c for c in doomed if c in keep]
        return doomed

    def begin(self) -> None:
        self.deleting = True

    def confirmed(self, count: int) -> None:
        self.stop.clear()
        self.running = True
        self.progress = (0, count)

    def cancelled(self) -> None:
        self.deleting = False

    def progressed(self, event: DeletionProgressed) -> None:
        self.progress = (event.done, event.total)

    def finished(self) -> None:
        self.deleting = False
        self.running = False

    def stop_and_quit(self) -> None:
        self.quit_when_stopped = True
        self.stop.set()

    # ---- threads -----------------------------------------------------------------------------
    @staticmethod
    def prepare(plan: Plan, doomed: list[Checkpoint], grace_seconds: float, pinned: set[str]) -> DeletionPrepared:
        """Fingerprint ``doomed`` (thread body: 12 s of checks on 96,000 checkpoints, reads only)."""
        try:
            from ckpt_tui.core.deletion import prepare

            request = prepare(plan, doomed, grace_seconds=grace_seconds, pinned=pinned)
        except Exception as exc:  # noqa: BLE001 - any failure refuses the whole request (nothing was touched yet)
            return DeletionPrepared(None, str(exc) or type(exc).__name__)
        return DeletionPrepared(request)

    def execute(self, request: Request, emit: Callable[[DeletionProgressed], None]) -> DeletionFinished:
        """Delete what the confirmed ``request`` holds (thread body). The stop flag is looked
        at between checkpoints: execute finishes the one in hand before it yields, and a
        closed generator starts no other."""
        from ckpt_tui.core.deletion import execute

        total = len(request.items)
        deleted = freed = done = 0
        failed: list[tuple[str, str]] = []
        shown = 0.0
        stop = self.stop
        trials = tuple(request.trials)
        # A generator: close() below ends it.
        outcomes = execute(request)
        try:
            while not stop.is_set():
                try:
                    outcome = next(outcomes)
                except StopIteration:
                    break
                done += 1
                if outcome.deleted:
                    deleted += 1
                    freed += outcome.bytes or 0
                else:
                    failed.append((outcome.path, outcome.reason))
                # Ten times a second, not one per checkpoint: 96,000 summary redraws would
                # cost the deletion (and the GIL) more than the deleting.
                now = time.monotonic()
                if now - shown >= PROGRESS_SECONDS or done == total:
                    shown = now
                    emit(DeletionProgressed(done, total, outcome.path, outcome.deleted, outcome.reason))
        except Exception as exc:  # noqa: BLE001 - execute promises not to raise; if it does, say so in one line
            return DeletionFinished(
                deleted, tuple(failed), freed, error=str(exc) or type(exc).__name__, trial_ids=trials, total=total
            )
        finally:
            outcomes.close()
        return DeletionFinished(deleted, tuple(failed), freed, trial_ids=trials, total=total, stopped=done < total)


def progress_text(done: int, total: int, stopping: bool) -> str:
    if stopping:
        return f"stopping after the checkpoint in hand ({done:,}/{total:,} done)"
    return f"deleting {done:,}/{total:,}"


def result_line(event: DeletionFinished) -> str:
    """ "deleted n of m checkpoints (bytes)", and why it stopped short."""
    total = event.total or event.deleted + len(event.failed)
    result = (
        f"deleted {event.deleted:,} of {total:,} checkpoint{'s' if total != 1 else ''} "
        f"({human_bytes(event.freed_bytes)})"
    )
    if event.error:
        result += f"; stopped by an error: {event.error}"
    elif event.stopped:
        result += "; stopped at your request"
    if event.failed:
        result += f"; {len(event.failed):,} not deleted"
    return result


def failure_lines(event: DeletionFinished, root: str) -> list[str]:
    """One log line per checkpoint not deleted, its path within the run when it is in it."""
    out = []
    for path, reason in event.failed:
        rel = os.path.relpath(path, root)  # trial/checkpoint: short, and unique
        out.append(f"  not deleted: {path if rel.startswith('..') else rel}: {reason}")
    return out
