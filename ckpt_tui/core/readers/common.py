"""Pieces both readers use: checkpoint dir records, sizes, JSON that tolerates Ray's literals."""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Optional

from ckpt_tui.core.disk import display_name, tree_size
from ckpt_tui.core.model import Checkpoint, Run, Trial, is_aside, is_leftover
from ckpt_tui.core.storage import storage_for


def checkpoint_dirs(directory: str, pattern, run: Run, trial: Optional[Trial]) -> dict[str, bool]:
    """The checkpoint dirs in ``directory`` whose names match ``pattern``: name -> is a symlink.

    No stat per entry: the directory listing's file types say dir or link (a symlink to a
    directory counts; it is unlinked, never followed, when deleted). Aside names of an
    interrupted deletion are recorded as leftovers, never listed as checkpoints."""
    found: dict[str, bool] = {}
    match = pattern.match
    try:
        with storage_for(directory).scandir(directory) as it:
            for entry in it:
                name = entry.name
                if match(name):
                    try:
                        is_link = entry.is_symlink()
                        if is_link or entry.is_dir():
                            found[name] = is_link
                    except OSError:
                        continue
                elif is_leftover(name):
                    note_leftover(run, entry.path)
    except OSError as exc:
        target = trial.warnings if trial is not None else run.warnings
        target.append(f"{display_name(directory)}: cannot list: {exc.strerror or exc}")
    return found


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while building a large object graph that holds
    no garbage cycles (a run's reports and checkpoints, a plan's JSON document). Each of the
    collections it would trigger walks every object created so far: at 100,000 checkpoints
    that is over a second of reading spent on nothing. Whoever saw it enabled re-enables it."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _absolute(path: str) -> str:
    """``os.path.abspath(path)``, skipping its work (a tenth of a second per 100,000
    checkpoints) when ``path`` is already absolute and normal: no "//", no component starting
    with ".", no trailing "/". Anything else goes through abspath itself."""
    if (
        os.sep == "/"
        and isinstance(path, str)
        and path[:1] == "/"
        and "//" not in path
        and "/." not in path
        and path[-1:] != "/"
    ):
        return path
    if "://" in path:  # a URL (core/storage): already as the store names it
        return storage_for(path).realpath(path)
    return os.path.abspath(path)


def fill_sizes(
    run: Run,
    checkpoints: Iterable[Checkpoint],
    progress: Optional[Callable[[int, int], None]] = None,
    measured: Optional[dict] = None,
) -> None:
    """Sum each checkpoint's files (links not followed) and note the newest file's mtime. A
    symlinked checkpoint counts 0 bytes: deleting it only removes the link. ``measured``:
    what ``measure_checkpoint_dirs`` found, by path; a checkpoint it lacks is measured here."""
    todo = list(checkpoints)
    errors: list[str] = []
    sizer = storage_for(run.root).tree_size
    for i, ckpt in enumerate(todo):
        if ckpt.is_symlink:
            ckpt.size_bytes, ckpt.file_count = 0, 0
            try:
                ckpt.mtime = os.lstat(ckpt.path).st_mtime
            except OSError:
                pass
        else:
            found = measured.get(ckpt.path) if measured else None
            if found is not None:
                ckpt.size_bytes, ckpt.file_count, ckpt.mtime, found_errors = found
                if found_errors:
                    errors.extend(found_errors)
            else:
                ckpt.size_bytes, ckpt.file_count, ckpt.mtime = sizer(ckpt.path, errors)
            if errors:
                trial = run.trials.get(ckpt.trial_id)
                target = trial.warnings if trial is not None else run.warnings
                target.append(
                    f"{errors[0]}: could not read while sizing"
                    + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
                )
                errors = []
        if progress is not None and (i % 1000 == 0 or i == len(todo) - 1):
            progress(i + 1, len(todo))


def measure_checkpoint_dirs(root: str, pattern: str, nested: bool) -> dict[str, tuple]:
    """tree_size of every real checkpoint dir (name matching ``pattern``) in ``root``, or with
    ``nested`` in each of its subdirectories: path -> (bytes, files, newest mtime, errors or
    None).
    Runs in another process while this one parses the reports (see MeasureInBackground)."""
    match = re.compile(pattern).match
    parents = [root]
    if nested:
        try:
            with os.scandir(root) as it:
                parents = [e.path for e in it if not e.name.startswith(".") and e.is_dir()]
        except OSError:
            return {}
    out: dict[str, tuple] = {}
    for parent in parents:
        try:
            it = os.scandir(parent)
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    if not match(entry.name) or entry.is_symlink() or not entry.is_dir():
                        continue
                except OSError:
                    continue
                errors: list[str] = []
                out[entry.path] = (*tree_size(entry.path, errors), errors or None)
    return out


class MeasureInBackground:
    """Checkpoint sizes summed by a second process while this one parses ``result.json``
    lines: sizing is system calls, parsing is Python, and the two together take the time of
    the longer one on a machine with two cores. Only worth a fork on a big run; any failure
    leaves the sizes to ``fill_sizes`` in this process, as without it."""

    MIN_ENTRIES = 64  # entries in the run dir below which one process does it all

    def __init__(self, root: str, pattern: str, nested: bool, entries: int) -> None:
        self._future = None
        self._executor = None
        if entries < self.MIN_ENTRIES or (os.cpu_count() or 1) < 2 or sys.platform != "linux":
            return
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self._future = self._executor.submit(measure_checkpoint_dirs, root, pattern, nested)
        except Exception:  # noqa: BLE001 - no fork here (sandbox, limits): measure in this process
            self._future = None

    def result(self) -> Optional[dict]:
        if self._future is None:
            return None
        try:
            return self._future.result()
        except Exception:  # noqa: BLE001 - a failed worker (killed, broken pool): fill_sizes measures in this process
            return None
        finally:
            if self._executor is not None:  # set whenever _future is
                self._executor.shutdown(wait=True)


def note_leftover(run: Run, entry_path: str) -> None:
    run.leftovers.append(_absolute(entry_path) if "://" in entry_path else os.path.abspath(entry_path))


def read_json_file(path: str, trial: Optional[Trial], run: Run, what: str):
    """Parse a JSON file; on any failure add a warning naming the file and return None."""
    target = trial.warnings if trial is not None else run.warnings
    try:
        data = storage_for(path).read_file(path)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        target.append(f"{display_name(path)}: is a directory, expected the {what} file")
        return None
    except OSError as exc:
        target.append(f"{display_name(path)}: cannot read {what}: {exc.strerror or exc}")
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        target.append(f"{display_name(path)}: not UTF-8 at byte {exc.start}")
    except (ValueError, RecursionError) as exc:
        target.append(f"{display_name(path)}: not valid JSON ({_short(exc)})")
    return None


def type_name(value) -> str:
    """A JSON type in words: 'a string', 'an int', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "an int"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def wrong_type(path: str, field: str, value, expected: str, then: str) -> str:
    """The warning for a field of one of Ray's files that has the wrong type."""
    return f"{display_name(path)}: {field} is {type_name(value)}, expected {expected}: {then}"


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


__all__ = [
    "type_name",
    "wrong_type",
    "checkpoint_dirs",
    "fill_sizes",
    "gc_paused",
    "measure_checkpoint_dirs",
    "MeasureInBackground",
    "note_leftover",
    "read_json_file",
    "is_aside",
]
