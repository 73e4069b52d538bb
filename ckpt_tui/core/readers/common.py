"""Pieces both readers use: checkpoint dir records, sizes, JSON that tolerates Ray's literals."""

from __future__ import annotations

import gc
import json
import os
from contextlib import contextmanager
from typing import Callable, Iterable, Optional

from ckpt_tui.core.disk import display_name, tree_size
from ckpt_tui.core.model import Checkpoint, Run, Trial, is_aside


def checkpoint_dirs(directory: str, pattern, run: Run, trial: Optional[Trial]) -> dict[str, bool]:
    """The checkpoint dirs in ``directory`` whose names match ``pattern``: name -> is a symlink.

    No stat per entry: the directory listing's file types say dir or link (a symlink to a
    directory counts; it is unlinked, never followed, when deleted). Aside names of an
    interrupted deletion are recorded as leftovers, never listed as checkpoints."""
    found: dict[str, bool] = {}
    match = pattern.match
    try:
        with os.scandir(directory) as it:
            for entry in it:
                name = entry.name
                if match(name):
                    try:
                        is_link = entry.is_symlink()
                        if is_link or entry.is_dir():
                            found[name] = is_link
                    except OSError:
                        continue
                elif is_aside(name):
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
    if os.sep == "/" and isinstance(path, str) and path[:1] == "/" and "//" not in path \
            and "/." not in path and path[-1:] != "/":
        return path
    return os.path.abspath(path)


def fill_sizes(
    run: Run,
    checkpoints: Iterable[Checkpoint],
    progress: Optional[Callable[[int, int], None]] = None,
) -> None:
    """Sum each checkpoint's files (links not followed) and note the newest file's mtime. A
    symlinked checkpoint counts 0 bytes: deleting it only removes the link."""
    todo = list(checkpoints)
    errors: list[str] = []
    for i, ckpt in enumerate(todo):
        if ckpt.is_symlink:
            ckpt.size_bytes, ckpt.file_count = 0, 0
            try:
                ckpt.mtime = os.lstat(ckpt.path).st_mtime
            except OSError:
                pass
        else:
            ckpt.size_bytes, ckpt.file_count, ckpt.mtime = tree_size(ckpt.path, errors)
            if errors:
                trial = run.trials.get(ckpt.trial_id)
                target = trial.warnings if trial is not None else run.warnings
                target.append(f"{errors[0]}: could not read while sizing"
                              + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))
                errors = []
        if progress is not None and (i % 1000 == 0 or i == len(todo) - 1):
            progress(i + 1, len(todo))


def note_leftover(run: Run, entry_path: str) -> None:
    run.leftovers.append(os.path.abspath(entry_path))


def read_json_file(path: str, trial: Optional[Trial], run: Run, what: str):
    """Parse a JSON file; on any failure add a warning naming the file and return None."""
    target = trial.warnings if trial is not None else run.warnings
    try:
        with open(path, "rb") as f:
            data = f.read()
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


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


__all__ = ["checkpoint_dirs", "fill_sizes", "gc_paused", "note_leftover", "read_json_file", "is_aside"]
