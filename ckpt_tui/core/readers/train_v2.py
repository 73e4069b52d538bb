"""Ray Train v2's layout: ``checkpoint_<date>/`` dirs in the run dir and
``checkpoint_manager_snapshot.json`` listing the kept checkpoints with metrics and report
indices. Only what the snapshot lists can be scored: reports Ray already pruned are not
recorded anywhere."""

from __future__ import annotations

import os
import time

from ckpt_tui.core.disk import display_name
from ckpt_tui.core.model import TRAIN_V2, Checkpoint, Report, Run, Trial
from ckpt_tui.core.ray_names import SNAPSHOT, V2_CHECKPOINT_RE
from ckpt_tui.core.readers.common import checkpoint_dirs, read_json_file, type_name, wrong_type
from ckpt_tui.core.storage import storage_for

CHECKPOINT_RE = V2_CHECKPOINT_RE


def read(root: str) -> Run:
    run = Run(root=root, layout=TRAIN_V2)
    fs = storage_for(root)
    if not fs.local:  # one recursive listing of the run: its snapshot, checkpoints and sizes
        try:
            fs.refresh(root)
        except OSError:
            pass
    name = os.path.basename(root) or root
    trial = Trial(id=name, path=root)
    run.trials[name] = trial
    snap_path = os.path.join(root, SNAPSHOT)
    snapshot = read_json_file(snap_path, trial, run, "checkpoint manager snapshot")
    entries = _snapshot_entries(snapshot, trial, snap_path) if snapshot is not None else []
    for i, (report_index, dir_name, metrics) in enumerate(entries):
        step = metrics.get("step", metrics.get("training_iteration"))
        trial.reports.append(
            Report(
                index=i,
                checkpoint_name=dir_name,
                metrics=metrics,
                iteration=step if isinstance(step, int) and not isinstance(step, bool) else None,
                report_index=report_index,
            )
        )
    trial.report_count = len(trial.reports)
    by_name = {r.checkpoint_name: r for r in trial.reports}
    # ray.train.report(..., checkpoint_dir_name=...) names a checkpoint anything: every dir the
    # snapshot names is one, and so is every checkpoint_<date> dir
    on_disk = checkpoint_dirs(root, _Names(by_name), run, trial)
    try:
        fresh = time.time() - fs.stat(snap_path).st_mtime < LIVE_SECONDS
    except OSError:
        fresh = False
    run.state_fresh = trial.state_fresh = fresh
    latest_name = trial.reports[-1].checkpoint_name if trial.reports else None
    if latest_name is not None:
        run.restore_points = {root + os.sep + latest_name: [name]}
    prefix = root + os.sep
    found = [
        Checkpoint(name, r.checkpoint_name, prefix + r.checkpoint_name, None, None, r, on_disk[r.checkpoint_name])
        for r in trial.reports
        if r.checkpoint_name in on_disk and by_name[r.checkpoint_name] is r
    ]
    # names are timestamps: name order is creation order
    unreported = [
        Checkpoint(name, n, prefix + n, None, None, None, on_disk[n], untracked=snapshot is not None)
        for n in sorted(on_disk)
        if n not in by_name
    ]
    if unreported and snapshot is not None:
        trial.warnings.append(
            f"{display_name(root)}: {len(unreported)} checkpoint dir(s) not in {SNAPSHOT} "
            f"({display_name(unreported[0].name)}{', ...' if len(unreported) > 1 else ''}): not tracked by "
            "Ray, which will never delete them (a fit() that failed to resume, or still being written)"
        )
    else:
        for ckpt in unreported:
            trial.warnings.append(
                f"{display_name(ckpt.path)}: not in {SNAPSHOT} (still being written, or the snapshot "
                "is behind): listed, unscored, never deleted"
            )
    missing = [n for n in by_name if n not in on_disk]
    if missing:
        trial.warnings.append(
            f"{display_name(snap_path)}: lists {len(missing):,} checkpoint{'' if len(missing) == 1 else 's'} missing from disk "
            f"({display_name(missing[0])}{', ...' if len(missing) > 1 else ''}): Ray will refuse to restore this run"
        )
    trial.checkpoints = found + unreported
    return run


LIVE_SECONDS = 120.0  # a snapshot younger than this may belong to a run still writing


class _Names:
    """Matches checkpoint dir names: Ray's ``checkpoint_<date>`` or any name the snapshot lists."""

    def __init__(self, names):
        self.names = names

    def match(self, name: str) -> bool:
        return (name in self.names and not name.startswith(".")) or CHECKPOINT_RE.match(name) is not None


def _snapshot_entries(snapshot, trial: Trial, path: str) -> list[tuple[int, str, dict]]:
    """(report index, dir name, metrics) for each checkpoint the snapshot lists, in report order."""
    shown = display_name(path)
    if not isinstance(snapshot, dict):
        trial.warnings.append(f"{shown}: not a JSON object: no checkpoint can be scored")
        return []
    results = snapshot.get("checkpoint_results")
    if not isinstance(results, list):
        trial.warnings.append(f"{shown}: no checkpoint_results list: no checkpoint can be scored")
        return []
    indices = snapshot.get("checkpoint_report_indices")
    if not (
        isinstance(indices, list)
        and len(indices) == len(results)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in indices)
    ):
        if indices is not None:
            why = (
                f"is {type_name(indices)}, expected a list of ints"
                if not isinstance(indices, list)
                else "does not have one int per checkpoint result"
            )
            trial.warnings.append(f"{shown}: checkpoint_report_indices {why}: ordering by directory name")
        indices = None
    out = []
    for pos, item in enumerate(results):
        if not isinstance(item, dict):
            trial.warnings.append(wrong_type(path, f"checkpoint_results[{pos}]", item, "an object", "skipped"))
            continue
        if not isinstance(item.get("checkpoint_dir_name"), str):
            trial.warnings.append(
                f"{shown}: checkpoint_results[{pos}] has no checkpoint_dir_name"
                + (f" (it is {type_name(item['checkpoint_dir_name'])})" if "checkpoint_dir_name" in item else "")
                + ": skipped"
            )
            continue
        metrics = item.get("metrics")
        if not isinstance(metrics, dict):
            trial.warnings.append(
                f"{shown}: checkpoint_results[{pos}] has no metrics object"
                + (f" (metrics is {type_name(metrics)})" if "metrics" in item else "")
                + ": read as empty"
            )
            metrics = {}
        out.append((indices[pos] if indices else -1, item["checkpoint_dir_name"], metrics))
    latest = snapshot.get("latest_checkpoint_result")
    if latest is not None and not isinstance(latest, dict):
        trial.warnings.append(
            wrong_type(
                path, "latest_checkpoint_result", latest, "an object or null", "the latest checkpoint is unknown"
            )
        )
    latest_name = latest.get("checkpoint_dir_name") if isinstance(latest, dict) else None
    if latest_name is not None and not isinstance(latest_name, str):
        trial.warnings.append(
            wrong_type(
                path,
                "latest_checkpoint_result.checkpoint_dir_name",
                latest_name,
                "a string",
                "the latest checkpoint is unknown",
            )
        )
    if isinstance(latest, dict) and isinstance(latest_name, str) and latest_name not in {n for _, n, _ in out}:
        metrics = latest.get("metrics")
        if not isinstance(metrics, dict):
            trial.warnings.append(
                wrong_type(path, "latest_checkpoint_result.metrics", metrics, "an object", "read as empty")
            )
            metrics = {}
        current = snapshot.get("current_report_index", 1 << 62)
        if type(current) is not int:
            trial.warnings.append(
                wrong_type(path, "current_report_index", current, "an int", "the latest checkpoint ordered last")
            )
            current = 1 << 62
        out.append((current if indices else -1, latest_name, metrics))
    if indices:
        out.sort(key=lambda t: t[0])
    else:
        out.sort(key=lambda t: t[1])
    # The latest registration is last, whatever the indices say.
    if isinstance(latest_name, str):
        out.sort(key=lambda t: t[1] == latest_name)
    return out
