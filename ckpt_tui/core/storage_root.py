"""A storage root: the directory Ray writes experiments into (``~/ray_results`` or a user's
``storage_path``), one dir per Tune experiment or Train v2 run, side by side, sometimes grouped
deeper.

``find_experiments`` walks the root down to ``MAX_DEPTH`` levels and returns every directory
that is itself a run; a run is never searched further (its trial dirs are part of it, so a Tune
trial dir is never listed on its own). Hidden dirs (``.ckpt-tui``, ``.git``, ...) are skipped;
symlinked dirs are followed once (each real directory is visited at most once, so a link loop
ends).

The core of the root modes; like the rest of the core it imports no Textual and no watchdog.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from ckpt_tui.core.config import CheckpointConfig
from ckpt_tui.core.model import Run, RunError
from ckpt_tui.core.readers import detect_layout
from ckpt_tui.core.storage import MissingExtra, storage_for

MAX_DEPTH = 4  # levels below the root searched for runs: root/a/b/c/run
ROOT_LAYOUT = "storage-root"  # the `layout` of a root's --json document

# What a directory that holds no run yet is waiting for: the files by which a run is recognised.
WAITING_FOR = (
    "experiment_state-*.json or trial dirs with result.json (Ray Tune), "
    "checkpoint_manager_snapshot.json or checkpoint_<date> dirs (Ray Train v2)"
)


@dataclass(frozen=True)
class Experiment:
    """One run found under a root."""

    rel: str  # path relative to the root, "/"-separated ("." when the root is itself the run)
    path: str  # absolute, symlinks resolved
    layout: str


def layout_of(path: str) -> Optional[str]:
    """The run layout of ``path``, or None when it holds no run (or cannot be read)."""
    try:
        return detect_layout(path)
    except RunError:
        return None
    except OSError:
        return None


def find_experiments(root: str, max_depth: int = MAX_DEPTH) -> list[Experiment]:
    """Every run under ``root`` (not ``root`` itself), sorted by relative path. An unreadable
    directory is skipped, never an error: the rest of the root is still found."""
    fs = storage_for(root)
    top = fs.realpath(root)
    found: list[Experiment] = []
    seen = {top}

    def walk(directory: str, rel: str, depth: int) -> None:
        try:
            with fs.scandir(directory) as it:
                entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=True):
                    continue
            except OSError:
                continue
            real = fs.realpath(entry.path)
            if real in seen:
                continue
            seen.add(real)
            sub_rel = f"{rel}/{entry.name}" if rel else entry.name
            layout = layout_of(real)
            if layout is not None:
                found.append(Experiment(sub_rel, real, layout))
            elif depth < max_depth:
                walk(real, sub_rel, depth + 1)

    walk(top, "", 1)
    found.sort(key=lambda e: e.rel)
    return found


def describe_root_error(path: str) -> Optional[str]:
    """Why ``path`` cannot be opened at all (missing, not a directory, unreadable), else None."""
    try:
        fs = storage_for(path)
    except MissingExtra as exc:
        return str(exc)
    if not fs.local:
        try:
            fs.listdir(path)
        except FileNotFoundError:
            return f"no such directory: {path}"
        except NotADirectoryError:
            return f"not a directory: {path}"
        except Exception as exc:  # noqa: BLE001 - any failure to list it is this one line, not a traceback
            return f"cannot read {path}: {exc}"
        return None
    if not os.path.exists(path):
        return f"no such directory: {path}"
    if not os.path.isdir(path):
        return f"not a directory: {path}"
    if not os.access(path, os.R_OK | os.X_OK):
        return f"permission denied reading {path}"
    return None


def config_for(run_config: Optional[CheckpointConfig], changes: dict) -> CheckpointConfig:
    """An experiment's config under root-wide ``changes``: its own recorded config (or Ray's
    defaults) with the changes made at the root applied on top."""
    return (run_config or CheckpointConfig()).with_changes(**changes)


def short_config(config: CheckpointConfig) -> str:
    """The config in a few words: ``keep 3 by loss min``, ``keep all``, ``keep 2 newest``."""
    keep = "keep all" if config.num_to_keep is None else f"keep {config.num_to_keep}"
    if config.checkpoint_score_attribute is None:
        return keep if config.num_to_keep is None else f"{keep} newest"
    return f"{keep} by {config.checkpoint_score_attribute} {config.checkpoint_score_order}"


def newest_write(run: Run) -> Optional[float]:
    """The newest mtime among the run's checkpoints, result files and trial dirs (seconds), or
    None when nothing has a time yet. Cheap: one stat per trial plus the checkpoints' known
    mtimes (filled when sizes are read)."""
    newest: Optional[float] = None
    fs = storage_for(run.root)
    for trial in run.trials.values():
        for name in ("result.json", "checkpoint_manager_snapshot.json", ""):
            try:
                t = fs.stat(os.path.join(trial.path, name) if name else trial.path).st_mtime
            except OSError:
                continue
            if newest is None or t > newest:
                newest = t
            break
        for c in trial.checkpoints:
            if c.mtime is not None and (newest is None or c.mtime > newest):
                newest = c.mtime
    return newest


@dataclass
class RootEntry:
    """An experiment of a root as the root modes hold it: the run once read, or why not."""

    exp: Experiment
    run: Optional[Run] = None
    error: Optional[str] = None
    sized: bool = False
    extra: dict = field(default_factory=dict)
