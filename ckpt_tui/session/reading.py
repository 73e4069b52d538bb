"""Progressive reading: the reader thread fills its own Run; the app thread takes the trials.

``read_run_progressively`` yields after each slice of trials it has read into its Run. The
reader thread (``ProgressiveRead.run``) turns each slice into a ``ReadBatch`` in a queue under
``lock``; the app thread takes the queue (``take``) every READ_UPDATE_SECONDS or when told
(``ReadQueued``) and adds the trials to the session's own Run (``Session.apply_read``), which
only the app thread grows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Optional

from ckpt_tui.core.model import Run
from ckpt_tui.session.events import ReadBatch, ReadQueued, RunLevel


def count_dirs(root: str) -> Optional[int]:
    """Visible directories in the run root: the "N" of "reading n/N trials" (d_type, no stat)."""
    try:
        with os.scandir(root) as it:
            return sum(1 for e in it if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return None


def _run_level(run: Run) -> RunLevel:
    return RunLevel(tuple(run.warnings), tuple(run.leftovers), run.run_config)


class ProgressiveRead:
    """The rest of a progressive read: ``rest`` continues filling ``reader_run`` (its first
    yield); ``app_run`` is a separate Run that only the app thread grows."""

    def __init__(self, reader_run: Run, rest: Iterator[Run]) -> None:
        self.reader_run = reader_run
        self.rest = rest
        self.app_run = Run(
            root=reader_run.root,
            layout=reader_run.layout,
            trials=dict(reader_run.trials),
            run_config=reader_run.run_config,
            warnings=list(reader_run.warnings),
            leftovers=list(reader_run.leftovers),
        )
        self.lock = threading.Lock()
        self._queue: list[ReadBatch] = []
        self._dirs: Optional[int] = None

    # ---- the reader thread -----------------------------------------------------------------
    def run(self, closing: Callable[[], bool], emit: Callable[[ReadQueued], None]) -> None:
        """Read the rest (thread body). Slices are queued without a word (the app takes them on
        a timer: each update re-plans and redraws, which the read would otherwise wait for);
        the directory count and the end are announced with ``emit``."""
        run = self.reader_run
        try:
            dirs = count_dirs(run.root)
            with self.lock:
                self._dirs = dirs
            emit(ReadQueued())
            seen = len(run.trials)
            for _ in self.rest:
                if closing():
                    break
                fresh = tuple(islice(run.trials.items(), seen, None))
                seen += len(fresh)
                self._put(ReadBatch(fresh, _run_level(run), False))
            else:
                self._put(ReadBatch((), _run_level(run), True))
                emit(ReadQueued())
        except Exception as exc:  # noqa: BLE001 - a vanished trial is the reader's business; anything worse ends the read with its message
            self._put(ReadBatch((), None, True, str(exc) or type(exc).__name__))
            emit(ReadQueued())
        finally:
            close = getattr(self.rest, "close", None)
            if close is not None:
                close()  # ends the reader's gc pause even when the app quits mid-read

    def _put(self, batch: ReadBatch) -> None:
        with self.lock:
            self._queue.append(batch)

    # ---- the app thread ----------------------------------------------------------------------
    def waiting(self) -> bool:
        with self.lock:
            return bool(self._queue)

    def take(self) -> tuple[list[ReadBatch], Optional[int]]:
        """The batches queued so far, and the directory count."""
        with self.lock:
            items, self._queue = self._queue, []
            return items, self._dirs
