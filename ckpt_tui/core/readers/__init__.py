"""Read a run directory, choosing the reader from what is on disk."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Optional

from ckpt_tui.core.model import TRAIN_V2, TUNE, TUNE_TRIAL, Run, RunError
from ckpt_tui.core.ray_names import SNAPSHOT, is_experiment_state
from ckpt_tui.core.readers import train_v2, tune
from ckpt_tui.core.readers.common import MeasureInBackground, fill_sizes, gc_paused
from ckpt_tui.core.storage import MissingExtra, storage_for

__all__ = ["detect_layout", "read_run", "read_run_progressively", "reread", "fill_sizes", "RunError"]


def detect_layout(root: str) -> str:
    """Which of Ray's layouts ``root`` holds; RunError when none."""
    return _detect(root)[0]


def _detect(root: str) -> tuple[str, int]:
    """(layout, entries in ``root``)."""
    try:
        fs = storage_for(root)
    except MissingExtra as exc:
        raise RunError(str(exc)) from None
    try:
        names = fs.listdir(root)
    except FileNotFoundError:
        raise RunError(f"no such directory: {root}") from None
    except NotADirectoryError:
        raise RunError(f"not a directory: {root}") from None
    except PermissionError:
        raise RunError(f"permission denied reading {root}") from None
    except OSError as exc:
        raise RunError(f"cannot read {root}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - an object store's own errors (credentials, endpoint, bucket)
        raise RunError(
            f"cannot read {root}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    if SNAPSHOT in names or any(train_v2.CHECKPOINT_RE.match(n) for n in names):
        return TRAIN_V2, len(names)
    if tune.RESULT in names or any(tune.CHECKPOINT_RE.match(n) for n in names):
        return TUNE_TRIAL, len(names)
    if any(is_experiment_state(n) for n in names):
        return TUNE, len(names)
    for n in names:
        p = os.path.join(root, n)
        if fs.isdir(p) and tune.looks_like_trial(p):
            return TUNE, len(names)
    raise RunError(
        f"{root} is not a Ray run: no experiment_state-*.json, trial directories with "
        "result.json, or checkpoint_manager_snapshot.json"
    )


def _real(path: str) -> str:
    try:
        return storage_for(path).realpath(path)
    except MissingExtra as exc:
        raise RunError(str(exc)) from None


def read_run(path: str, sizes: bool = True, progress: Optional[Callable[[int, int], None]] = None) -> Run:
    """Read the whole run at ``path`` (a directory, or an object store URL: core/storage).
    ``sizes=False`` leaves ``size_bytes`` None (see fill_sizes)."""
    root = _real(path)
    layout, entries = _detect(root)
    measuring = None
    if sizes and storage_for(root).local:
        pattern = (train_v2.CHECKPOINT_RE if layout == TRAIN_V2 else tune.CHECKPOINT_RE).pattern
        measuring = MeasureInBackground(root, pattern, nested=layout == TUNE, entries=entries)
    with gc_paused():  # 100,000 reports: the collector would walk them again and again
        if layout == TRAIN_V2:
            run = train_v2.read(root)
        elif layout == TUNE_TRIAL:
            run = tune.read_single_trial(root)
        else:
            run = tune.read_experiment(root)
    if sizes:  # an object store's sizes come from the listings the read made (no request)
        fill_sizes(run, run.checkpoints(), progress, measured=measuring.result() if measuring is not None else None)
    note_partial_deletions(run)
    return run


def note_partial_deletions(run: Run) -> None:
    """An object store has no rename aside: a deletion that failed part-way leaves a marker in
    ``<run>/.ckpt-tui/deleting/`` (core/deletion_remote.py). Each such checkpoint still holding
    objects gets a warning. Asked only when the run's listing shows ``.ckpt-tui``."""
    fs = storage_for(run.root)
    if fs.local:
        return
    try:
        if ".ckpt-tui" not in fs.listdir(run.root):
            return
    except OSError:
        return
    from ckpt_tui.core.deletion_remote import partial_deletions

    for path, left in partial_deletions(run.root):
        run.warnings.append(
            f"{path}: partly deleted by ckpt-tui ({left} object{'s' if left != 1 else ''} "
            "left): a --prune that plans it deletes the rest"
        )


def read_run_progressively(path: str, every: int = 50):
    """Read the run at ``path`` without sizes, yielding the same growing Run after the first
    trial and then every ``every`` trials (and once at the end), so a screen can show rows
    while the rest is read. Errors as read_run. Trials arrive in name order."""
    root = _real(path)
    layout = detect_layout(root)
    if layout != TUNE:
        yield read_run(root, sizes=False)
        return
    run = Run(root=root, layout=TUNE)
    with gc_paused():
        count = 0
        for count, _trial in enumerate(tune.iter_experiment(run), 1):
            if count == 1 or count % every == 0:
                yield run
        note_partial_deletions(run)
        if count == 0 or count % every != 0:
            yield run


def reread(run: Run, changed: Iterable[str], sizes: bool = True) -> list[str]:
    """Re-read only the trials named in ``changed`` (trial ids; "" means run-level files).

    Updates ``run`` in place and returns the ids of the trials that were re-read.
    """
    if run.layout == TUNE:
        reread_ids = tune.reread(run, set(changed))
    else:
        fresh = read_run(run.root, sizes=False)
        run.trials = fresh.trials
        run.warnings = fresh.warnings
        run.leftovers = fresh.leftovers
        run.run_config = fresh.run_config
        reread_ids = list(run.trials)
    if sizes:
        fill_sizes(run, (c for t in reread_ids if t in run.trials for c in run.trials[t].checkpoints))
    return reread_ids
